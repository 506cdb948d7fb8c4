"""Database engines, base classes, column types and migrations."""
