"""Bounded contexts of gridvend, one package each (models, rules, service, schemas, api)."""
