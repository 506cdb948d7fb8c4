"""Vending keys (encrypted at rest), the token-engine interface, and meter key changes."""
