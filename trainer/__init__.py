"""Reward join, training, promotion and scheduling of candidate policies."""
