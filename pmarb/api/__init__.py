"""FastAPI: REST API, dashboard, kill switch and metrics."""
