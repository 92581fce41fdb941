"""Alerts: tiers, delivery channels (apprise) and acknowledgement."""
