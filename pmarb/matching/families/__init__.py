"""Deterministic proposition parsers, one module per market family."""
