"""``pmarb demo``: the whole system trading on paper against the local exchange simulator.

No account, key or network: throwaway credentials are generated into the data dir (the
simulator verifies Kalshi signatures against the generated public key), the venue and oracle
URLs point at the simulator, and a director injects a situation every little while — a
cross-venue gap on the simulator's one same-contract pair, a neg-risk bundle gap, an oracle lag —
so a newcomer sees opportunities detected, bid for, risk-checked and paper traded.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pmarb.config import Settings
from pmarb.infra.supervisor import ChildSpec

log = logging.getLogger(__name__)

SIM_SERVERS = ("gamma", "clob", "kalshi", "admin", "polymarket_ws", "kalshi_ws", "binance_ws")
# The simulator's one pair that is truly the same contract on both venues (a Fed decision).
DEMO_PAIR = "fed-dec-cut"
DEMO_NEG_RISK_EVENT = "polymarket:democratic-presidential-nominee-2028"


@dataclass(frozen=True)
class DemoSetup:
    sim: ChildSpec
    env: dict[str, str]
    admin_url: str


def _write_secret(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _demo_keys(folder: Path) -> tuple[bytes, Path, str, dict[str, str]]:
    """Kalshi RSA key pair and Polymarket credentials, created once and reused."""
    folder.mkdir(parents=True, exist_ok=True)
    private_path, public_path = folder / "kalshi-private.pem", folder / "kalshi-public.pem"
    if not private_path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        _write_secret(
            private_path,
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        public_path.write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    poly_path = folder / "polymarket.env"
    if not poly_path.exists():
        from eth_account import Account

        lines = {
            "private_key": Account.create().key.hex(),
            "api_key": f"demo-{secrets.token_hex(8)}",
            "api_secret": base64.urlsafe_b64encode(os.urandom(32)).decode(),
            "api_passphrase": secrets.token_hex(8),
        }
        _write_secret(poly_path, "\n".join(f"{k}={v}" for k, v in lines.items()).encode())
    poly = dict(line.split("=", 1) for line in poly_path.read_text().splitlines() if "=" in line)
    return private_path.read_bytes(), public_path, "demo-kalshi-key", poly


def prepare(settings: Settings) -> DemoSetup:
    private_pem, public_path, key_id, poly = _demo_keys(settings.data_dir / "demo")
    ports = {name: settings.sim_port_base + n for n, name in enumerate(SIM_SERVERS)}
    host = "127.0.0.1"
    argv = [
        sys.executable,
        "-m",
        "pmarb",
        "sim",
        "--seed",
        "7",
        "--kalshi-public-key",
        str(public_path),
    ]
    for name, port in ports.items():
        argv += ["--port", f"{name}={port}"]
    env = {
        "PMARB_VENUES__POLYMARKET__GAMMA_URL": f"http://{host}:{ports['gamma']}",
        "PMARB_VENUES__POLYMARKET__CLOB_URL": f"http://{host}:{ports['clob']}",
        "PMARB_VENUES__POLYMARKET__WS_URL": f"ws://{host}:{ports['polymarket_ws']}/ws/market",
        "PMARB_VENUES__POLYMARKET__DATA_URL": f"http://{host}:{ports['gamma']}",
        "PMARB_VENUES__POLYMARKET__PRIVATE_KEY": poly["private_key"],
        "PMARB_VENUES__POLYMARKET__API_KEY": poly["api_key"],
        "PMARB_VENUES__POLYMARKET__API_SECRET": poly["api_secret"],
        "PMARB_VENUES__POLYMARKET__API_PASSPHRASE": poly["api_passphrase"],
        "PMARB_VENUES__KALSHI__REST_URL": f"http://{host}:{ports['kalshi']}/trade-api/v2",
        "PMARB_VENUES__KALSHI__WS_URL": f"ws://{host}:{ports['kalshi_ws']}/trade-api/ws/v2",
        "PMARB_VENUES__KALSHI__KEY_ID": key_id,
        "PMARB_VENUES__KALSHI__PRIVATE_KEY_PEM": private_pem.decode(),
        "PMARB_ORACLES__BINANCE__URL": f"ws://{host}:{ports['binance_ws']}",
        "PMARB_PAPER": "true",
    }
    return DemoSetup(
        sim=ChildSpec(
            name="sim",
            argv=argv,
            log_file=settings.data_dir / "logs" / "sim.log",
            restart=True,
        ),
        env=env,
        admin_url=f"http://{host}:{ports['admin']}/_sim",
    )


async def wait_for_simulator(admin_url: str, timeout: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with httpx.AsyncClient(timeout=2.0) as client:
        while loop.time() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{admin_url}/health")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"the simulator did not answer at {admin_url} within {timeout:.0f}s")


SITUATIONS: tuple[tuple[str, dict[str, object], float], ...] = (
    ("cross_venue_gap", {"pair": DEMO_PAIR, "gap": "0.05", "cheap": "kalshi"}, 20.0),
    ("intra_venue_gap", {"event": DEMO_NEG_RISK_EVENT, "gap": "0.04"}, 20.0),
    ("oracle_lag", {"jump": "0.015", "lag_seconds": 20}, 30.0),
)


async def confirm_demo_pair(
    admin_url: str, database_url: str, report: Callable[[str], None], timeout: float = 120.0
) -> None:
    """Record the simulator's same-contract pair as confirmed by a human reviewer (as an
    operator would with ``pmarb matches review confirm``), once both markets are known."""
    from pmarb.store.db import connect

    async with httpx.AsyncClient(timeout=5.0) as client:
        markets = (await client.get(f"{admin_url}/markets")).json()
    pair = {m["venue"]: m for m in markets if m.get("pair_key") == DEMO_PAIR}
    if set(pair) != {"kalshi", "polymarket"}:
        report("demo: the simulator has no same-contract pair; cross-venue trades are off")
        return
    kalshi, poly = pair["kalshi"]["market_id"], pair["polymarket"]["market_id"]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with await connect(database_url) as conn:
        while True:
            cursor = await conn.execute(
                "select market_id, rules_hash from markets where (venue, market_id) in "
                "(('kalshi', %s), ('polymarket', %s))",
                (kalshi, poly),
            )
            hashes = {row["market_id"]: row["rules_hash"] for row in await cursor.fetchall()}
            await conn.commit()
            if len(hashes) == 2:
                break
            if loop.time() > deadline:
                report("demo: markets not discovered yet; cross-venue pair not confirmed")
                return
            await asyncio.sleep(1.0)
        await conn.execute(
            """
            insert into market_matches (venue_a, market_a, venue_b, market_b, relation,
                confidence, evidence, rules_hash_a, rules_hash_b, decided_by, tradable,
                review_status, reviewed_by, reviewed_at)
            values ('kalshi', %s, 'polymarket', %s, 'equivalent', 1,
                    '{"note": "the simulator prices both as one contract"}', %s, %s,
                    'human', true, 'confirmed', 'demo', now())
            on conflict (venue_a, market_a, venue_b, market_b) do nothing
            """,
            (kalshi, poly, hashes[kalshi], hashes[poly]),
        )
        await conn.commit()
    report(f"demo: confirmed the simulator's same-contract pair ({DEMO_PAIR}) for trading")


async def direct(admin_url: str, report: Callable[[str], None], *, pause: float = 25.0) -> None:
    """Cycle through the situations forever: inject, hold, return to a fair steady state."""
    async with httpx.AsyncClient(timeout=5.0) as client:
        while True:
            for kind, body, hold in SITUATIONS:
                await asyncio.sleep(pause)
                try:
                    response = await client.post(f"{admin_url}/inject/{kind}", json=body)
                    if response.status_code == 200:
                        report(f"demo: injected {kind.replace('_', ' ')}")
                    await asyncio.sleep(hold)
                    await client.post(f"{admin_url}/inject/steady_state")
                except httpx.HTTPError as e:
                    log.debug("demo director: simulator not reachable (%s)", e)
