"""The mvt HTTP service: settings, MongoDB store, API and command line."""
