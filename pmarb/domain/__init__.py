"""Frozen domain types shared by every layer. Imports nothing else from pmarb."""
