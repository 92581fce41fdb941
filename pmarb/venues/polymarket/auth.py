"""Polymarket CLOB credentials and L2 (HMAC) request headers.

``POLY_SIGNATURE`` = urlsafe-base64(HMAC-SHA256(urlsafe_b64decode(secret), ts + METHOD + path +
body)) with ``ts`` in unix SECONDS (Kalshi uses milliseconds). The HMAC itself is the official
SDK's; the body signed is exactly the text sent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from py_clob_client_v2.signing.hmac import build_hmac_signature  # type: ignore[import-untyped]


@dataclass(frozen=True)
class ApiCredentials:
    api_key: str
    secret: str = field(repr=False)
    passphrase: str = field(repr=False)


class L2Auth:
    def __init__(
        self,
        address: str,
        credentials: ApiCredentials,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.address = address
        self.credentials = credentials
        self._clock = clock

    def __repr__(self) -> str:
        return f"L2Auth(address={self.address!r}, api_key={self.credentials.api_key!r})"

    def headers(self, method: str, path: str, body: str | None = None) -> dict[str, str]:
        timestamp = int(self._clock())
        signature: str = build_hmac_signature(
            self.credentials.secret, str(timestamp), method.upper(), path, body or None
        )
        return {
            "POLY_ADDRESS": self.address,
            "POLY_SIGNATURE": signature,
            "POLY_TIMESTAMP": str(timestamp),
            "POLY_API_KEY": self.credentials.api_key,
            "POLY_PASSPHRASE": self.credentials.passphrase,
        }
