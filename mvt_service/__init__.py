"""The mvt HTTP service: settings, API, decision log and command line (the store layer is `store/`)."""
