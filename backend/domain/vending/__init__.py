"""Prepaid vending: the exactly-once sale of STS tokens, reprints, reversals, engineering tokens."""
