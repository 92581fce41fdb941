"""Kalshi request signing: RSA-PSS over ``timestamp_ms + METHOD + path`` (research B.1).

The path includes the ``/trade-api/v2`` (or ``/trade-api/ws/v2``) prefix and never the query
string; the signature is standard padded base64 (not the URL-safe alphabet Polymarket uses);
the salt length is the digest length (32 for SHA-256), which is what Kalshi verifies.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)


def signed_message(timestamp_ms: int, method: str, url: str) -> bytes:
    return f"{timestamp_ms}{method.upper()}{urlsplit(url).path}".encode()


class KalshiSigner:
    def __init__(
        self,
        key_id: str,
        private_key_pem: bytes,
        *,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        key = serialization.load_pem_private_key(private_key_pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("the Kalshi key must be an RSA private key (PKCS#1 or PKCS#8 PEM)")
        self.key_id = key_id
        self._key = key
        self._clock_ms = clock_ms

    def __repr__(self) -> str:
        return f"KalshiSigner(key_id={self.key_id!r}, private_key=***)"

    def headers(self, method: str, url: str) -> dict[str, str]:
        """Fresh headers for one request (call per attempt: they embed the time)."""
        timestamp = self._clock_ms()
        signature = self._key.sign(signed_message(timestamp, method, url), PSS, hashes.SHA256())
        return {
            "KALSHI-ACCESS-KEY": self.key_id,
            "KALSHI-ACCESS-TIMESTAMP": str(timestamp),
            "KALSHI-ACCESS-SIGNATURE": base64.b64encode(signature).decode(),
        }
