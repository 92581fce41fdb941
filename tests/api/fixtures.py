"""Fixtures shared by the API tests: settings on a real database, a served app, its token."""

from __future__ import annotations

from pathlib import Path

from pmarb.config import Settings


def api_settings(
    database_url: str,
    data_dir: Path,
    temporal_address: str | None = None,
    temporal_ui_url: str | None = "http://127.0.0.1:8233",
    **extra: object,
) -> Settings:
    """Settings pointing at a test database; with no Temporal address, a closed local port."""
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        temporal_address=temporal_address or "127.0.0.1:1",
        temporal_ui_url=temporal_ui_url,
        **extra,  # type: ignore[arg-type]
    )
