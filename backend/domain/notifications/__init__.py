"""Outgoing notifications: an outbox that the SMS channel drains."""
