"""Append-only, hash-chained audit log of every security-relevant action."""
