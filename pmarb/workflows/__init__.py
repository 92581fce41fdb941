"""Deterministic, import-light workflow definitions.

Workflow modules import only ``pmarb.domain``, ``pmarb.strategies`` and activity stubs; never
venues, the store, the API, an HTTP client or the clock.
"""
