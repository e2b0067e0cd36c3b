"""Uploads are decoded in separate, lower-priority processes, a bounded number at once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from groovesheet_api.decoding import NICENESS, Decoder, DecoderCrashed
from groovesheet_api.errors import ApiError
from tests.integration.stack import PYTHONPATH


def python_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": PYTHONPATH}


def where() -> tuple[int, int]:
    return os.getpid(), os.nice(0)


def busy(seconds: float) -> tuple[float, float]:
    started = time.monotonic()
    time.sleep(seconds)
    return started, time.monotonic()


def refuse() -> None:
    raise ApiError(422, "silent_audio", "The file is silent.", {"X-Test": "1"})


def crash() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


@pytest.fixture
def decoder():
    pool = Decoder(2)
    yield pool
    pool.close()


def test_decoding_runs_in_another_process_at_lower_priority(decoder):
    pid, niceness = asyncio.run(decoder.run(where))
    assert pid != os.getpid()
    assert niceness >= min(19, os.nice(0) + NICENESS)


def test_no_more_than_the_limit_at_once(decoder):
    async def four() -> list[tuple[float, float]]:
        return await asyncio.gather(*(decoder.run(busy, 0.4) for _ in range(4)))

    asyncio.run(decoder.run(busy, 0))  # processes started
    started = time.monotonic()
    spans = asyncio.run(four())
    overlapping = max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans)
    assert overlapping <= 2
    assert time.monotonic() - started >= 0.8  # four calls of 0.4 s, two at a time


def test_refusals_cross_back_whole(decoder):
    with pytest.raises(ApiError) as caught:
        asyncio.run(decoder.run(refuse))
    error = caught.value
    assert (error.status_code, error.code, error.message, error.headers) == (
        422,
        "silent_audio",
        "The file is silent.",
        {"X-Test": "1"},
    )


def test_a_crashing_decoder_fails_that_call_only_and_is_replaced(decoder):
    with pytest.raises(DecoderCrashed):
        asyncio.run(decoder.run(crash))
    pid, _ = asyncio.run(decoder.run(where))
    assert pid != os.getpid()


def test_decoding_processes_end_with_the_api_process(tmp_path):
    # A child process plays the API: it starts a decoder, reports its worker's pid, then dies hard.
    script = tmp_path / "api.py"
    script.write_text(
        "import asyncio, os\n"
        "from groovesheet_api.decoding import Decoder\n"
        "if __name__ == '__main__':\n"
        "    decoder = Decoder(1)\n"
        "    print(asyncio.run(decoder.run(os.getpid)), flush=True)\n"
        "    os._exit(9)\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, env=python_env()
    )
    assert done.stdout.strip(), done.stderr[-2000:]
    worker = int(done.stdout.split()[0])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and Path(f"/proc/{worker}").exists():
        time.sleep(0.2)
    assert not Path(f"/proc/{worker}").exists() or "Z" in Path(f"/proc/{worker}/stat").read_text().split()[2]
