"""The API token: generated on first start, kept in the data dir with owner-only permissions,
compared in constant time, never logged."""

from __future__ import annotations

import contextlib
import hmac
import os
import secrets
from pathlib import Path

TOKEN_FILE = "api-token"
# The CLI's User-Agent prefix; the API records its actions as "cli" rather than "api".
CLI_USER_AGENT = "pmarb-cli"


def token_path(data_dir: Path) -> Path:
    return data_dir / TOKEN_FILE


def load_or_create_token(data_dir: Path) -> str:
    path = token_path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
    token = path.read_text().strip()
    if not token:
        raise RuntimeError(f"{path} is empty; delete it to generate a new token")
    return token


def read_token(data_dir: Path) -> str | None:
    try:
        return token_path(data_dir).read_text().strip() or None
    except FileNotFoundError:
        return None


def token_matches(presented: str | None, expected: str) -> bool:
    return presented is not None and hmac.compare_digest(presented.encode(), expected.encode())
