"""The opportunity scanner: pure detectors over book snapshots and fair values.

Domain types in, opportunities out; no I/O, no clock (time is passed in), no Temporal.
"""
