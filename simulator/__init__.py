"""A simulated shop that drives mvt through its HTTP API, and knows the truth to judge it by."""
