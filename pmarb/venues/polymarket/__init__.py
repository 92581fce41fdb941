"""Polymarket: Gamma discovery, CLOB REST and market WebSocket, V2 orders."""
