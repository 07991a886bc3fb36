"""Pure decision library: feature encoding, the VW model, exploration. No HTTP, no database."""
