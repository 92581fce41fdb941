"""Kalshi: REST v2 markets/events/series, V2 orders, RSA-PSS auth, orderbook WebSocket."""
