"""``[recording]`` settings: whether the market-data service records, where, and how much."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class RecordingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(False, description="Record market data while `pmarb marketdata` runs.")
    path: Path | None = Field(
        None,
        description="Recording directory; relative paths are under the data dir. Unset: "
        "<data dir>/recordings/<UTC start time>.",
    )
    top_levels: int = Field(10, ge=1, le=100, description="Book levels kept per side.")
    flush_seconds: float = Field(5.0, gt=0, le=3600, description="Longest wait between flushes.")
    max_buffered_rows: int = Field(
        50_000, ge=100, le=10_000_000, description="Rows held in memory before a flush is forced."
    )

    def directory(self, data_dir: Path, started: datetime, override: Path | None = None) -> Path:
        """Where to record: ``override`` (as given), else the configured path (relative ones
        under ``data_dir``), else a fresh directory named after ``started``."""
        if override is not None:
            return override
        if self.path is not None:
            return self.path if self.path.is_absolute() else data_dir / self.path
        return data_dir / "recordings" / started.strftime("%Y%m%dT%H%M%SZ")
