"""Off-policy evaluation of bandit policies on logged data (pure numpy; no HTTP, no database)."""
