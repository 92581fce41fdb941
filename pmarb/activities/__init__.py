"""Thin, idempotent activity wrappers over venues, the store, matching and alerts."""
