"""Supply network: substation → feeder → transformer → supply point (service point)."""
