"""Double-entry ledger: every money movement is a balanced, immutable set of entries."""
