"""Metering assets: meters, their STS configuration, stock locations and lifecycle movements."""
