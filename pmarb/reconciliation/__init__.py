"""Reconciliation: the venue is the truth for orders and positions; the ledger follows it."""
