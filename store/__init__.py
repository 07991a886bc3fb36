"""The store layer: what the service and the trainer keep, behind one protocol per aggregate
(:mod:`store.repositories`), with declared records in and out (:mod:`store.records`) and
errors of its own (:mod:`store.errors`). Backends: MongoDB (:mod:`store.mongo`).

It sits below ``mvt_service`` and ``trainer`` and above ``policy`` (and ``replay``): it imports
nothing above it.
"""
