"""Process entry points: the Temporal worker (and, later, the market-data service)."""
