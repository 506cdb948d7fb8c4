"""Tariffs: named, versioned price structures (flat, block, TOU, fixed, demand, PF, taxes, FBE, debt)."""
