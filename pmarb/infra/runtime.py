"""Where the running system lives: written by ``pmarb up``, read by every other command.

With ``DATABASE_URL`` / ``TEMPORAL_ADDRESS`` set, those win; otherwise the addresses of the
embedded services come from ``runtime.json`` in the data dir.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from pmarb.config import Settings

RUNTIME_FILE = "runtime.json"


class NotRunningError(Exception):
    pass


@dataclass(frozen=True)
class RuntimeInfo:
    pid: int
    database_url: str
    temporal_address: str
    temporal_ui_url: str | None
    api_url: str


@dataclass(frozen=True)
class Endpoints:
    database_url: str
    temporal_address: str
    temporal_ui_url: str | None
    api_url: str


def runtime_path(settings: Settings) -> Path:
    return settings.data_dir / RUNTIME_FILE


def write_runtime(settings: Settings, info: RuntimeInfo) -> None:
    path = runtime_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(asdict(info), handle, indent=2)
    temporary.replace(path)


def read_runtime(settings: Settings) -> RuntimeInfo | None:
    try:
        data = json.loads(runtime_path(settings).read_text())
        return RuntimeInfo(**data)
    except (FileNotFoundError, json.JSONDecodeError, TypeError):
        return None


def remove_runtime(settings: Settings) -> None:
    with contextlib.suppress(FileNotFoundError):
        runtime_path(settings).unlink()


def api_url(settings: Settings) -> str:
    return f"http://{settings.api_host}:{settings.api_port}"


def resolve_endpoints(settings: Settings) -> Endpoints:
    """The addresses of the running system, or :class:`NotRunningError` saying what is missing."""
    runtime = read_runtime(settings)
    database_url = (
        settings.database_url.get_secret_value()
        if settings.database_url
        else (runtime.database_url if runtime else None)
    )
    temporal_address = settings.temporal_address or (runtime.temporal_address if runtime else None)
    missing = [
        name
        for name, value in (("DATABASE_URL", database_url), ("TEMPORAL_ADDRESS", temporal_address))
        if value is None
    ]
    if database_url is None or temporal_address is None:
        raise NotRunningError(
            f"no running pmarb found in {settings.data_dir} and {' and '.join(missing)} not set; "
            "start it with `pmarb up` (or set PMARB_DATA_DIR to the data dir it uses)"
        )
    return Endpoints(
        database_url=database_url,
        temporal_address=temporal_address,
        temporal_ui_url=runtime.temporal_ui_url if runtime else None,
        api_url=runtime.api_url if runtime else api_url(settings),
    )
