"""``pmarb record`` as an operator runs it: a separate process configured by environment
variables, recording the simulator until Ctrl-C, which stops it cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from pmarb.recording.reader import open_recording
from tests.sim_support import make_keys, simulator


async def test_record_until_ctrl_c(tmp_path: Path) -> None:
    keys = make_keys()
    async with simulator(keys) as sim:
        urls = sim.urls
        env = {
            **os.environ,
            "PMARB_DATA_DIR": str(tmp_path / "data"),
            "PMARB_VENUES__POLYMARKET__GAMMA_URL": urls.polymarket_gamma,
            "PMARB_VENUES__POLYMARKET__CLOB_URL": urls.polymarket_clob,
            "PMARB_VENUES__POLYMARKET__WS_URL": urls.polymarket_ws,
            "PMARB_VENUES__POLYMARKET__DATA_URL": urls.polymarket_gamma,
            "PMARB_VENUES__POLYMARKET__PRIVATE_KEY": keys.poly_private,
            "PMARB_VENUES__POLYMARKET__API_KEY": keys.poly_credentials.api_key,
            "PMARB_VENUES__POLYMARKET__API_SECRET": keys.poly_credentials.secret,
            "PMARB_VENUES__POLYMARKET__API_PASSPHRASE": keys.poly_credentials.passphrase,
            "PMARB_VENUES__KALSHI__REST_URL": urls.kalshi_rest,
            "PMARB_VENUES__KALSHI__WS_URL": urls.kalshi_ws,
            "PMARB_VENUES__KALSHI__KEY_ID": "kalshi-key-1",
            "PMARB_VENUES__KALSHI__PRIVATE_KEY_PEM": keys.kalshi_private.decode(),
            "PMARB_ORACLES__BINANCE__URL": urls.binance_ws,
            "PMARB_RECORDING__FLUSH_SECONDS": "0.5",
        }
        env.pop("DATABASE_URL", None)
        path = tmp_path / "rec"
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "pmarb",
            "record",
            "--duration",
            "10m",
            "--path",
            str(path),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 60
            while True:
                sim.advance(0.5)
                await sim.drain()
                await asyncio.sleep(0.2)
                books = list(path.glob("books/*/*/part-*.parquet"))
                oracle = list(path.glob("oracle/*/*/part-*.parquet"))
                if len(books) >= 2 and oracle:
                    break
                assert process.returncode is None, await process.stderr.read()  # type: ignore[union-attr]
                assert loop.time() < deadline, "nothing recorded within a minute"
            # Readable while the recorder is still running.
            assert open_recording(path).metadata.end is None
            process.send_signal(signal.SIGINT)
            out, err = await asyncio.wait_for(process.communicate(), 30)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert process.returncode == 0, err.decode()
    text = out.decode()
    assert "pmarb record: writing" in text and "stopped" in text
    recording = open_recording(path)
    assert recording.metadata.end is not None
    assert recording.frame("books").height > 0 and recording.frame("oracle").height > 0
    assert len(recording.markets) >= 10
    assert not list(path.rglob(".*.tmp"))
