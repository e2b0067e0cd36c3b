"""Status polling under concurrent uploads: `make loadtest` (or `python bench/bench_api_load.py`).

Starts the API as it runs in production (uvicorn with HardenedHttpProtocol, local storage in a
temporary folder), or targets --url. 200 pollers read job status once a second each; windows
without uploads alternate with windows in which 20 uploads of a 5-minute MP3 are kept in flight (the
uploaders run in a process of their own). Prints p50/p95/p99/max status latency and errors for
each kind of window, and the upload times. About 80 s with the defaults.

Exit status 1 when, with the uploads, status p99 is more than --max-ratio times the baseline p99, or
when any request failed: the goal of issue 11.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing import Queue, get_context
from pathlib import Path
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / p) for p in ("shared", "api-service", ".")]

from groovesheet_api.server import UVICORN_FLAGS  # noqa: E402
from tests.api.live_server import die_with_parent  # noqa: E402
from tests.audio_samples import encode, groove, song_bytes  # noqa: E402
from tests.integration.stack import free_port, wait_for_http  # noqa: E402


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    uploads: list[float] = field(default_factory=list)
    upload_errors: list[str] = field(default_factory=list)

    def percentile(self, q: float, values: list[float] | None = None) -> float:
        data = sorted(self.latencies if values is None else values)
        if not data:
            return float("nan")
        return data[min(len(data) - 1, round(q / 100 * (len(data) - 1)))]

    def summary(self) -> dict[str, object]:
        return {
            "status_requests": len(self.latencies),
            "status_errors": len(self.errors),
            "status_p50_ms": round(self.percentile(50) * 1000, 1),
            "status_p95_ms": round(self.percentile(95) * 1000, 1),
            "status_p99_ms": round(self.percentile(99) * 1000, 1),
            "status_max_ms": round(max(self.latencies, default=float("nan")) * 1000, 1),
            "uploads_done": len(self.uploads),
            "upload_errors": len(self.upload_errors),
            "upload_p50_s": round(self.percentile(50, self.uploads), 2) if self.uploads else None,
            "upload_max_s": round(max(self.uploads), 2) if self.uploads else None,
        }


@contextlib.contextmanager
def local_api(jobs_dir: Path, extra_env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "LOCAL_JOBS_DIR": str(jobs_dir),
        "PYTHONPATH": os.pathsep.join(str(ROOT / p) for p in ("shared", "api-service")),
        "LOG_FORMAT": "json",
        "MAX_UPLOAD_MB": "100",
        # Every upload here is the same anonymous user with no worker running: fair use would 429 them.
        "MAX_ACTIVE_JOBS_PER_USER": "0",
        **extra_env,
    }
    log = jobs_dir.parent / "api.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "groovesheet_api.main:app", "--host", "127.0.0.1",
             "--port", str(port), *UVICORN_FLAGS],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, preexec_fn=die_with_parent,
        )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_http(f"{url}/health", timeout=60)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


async def make_jobs(url: str, count: int) -> list[str]:
    song = song_bytes("WAV", seconds=3.0)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        ids = []
        for i in range(count):
            response = await client.post("/api/v1/transcribe", files={"file": (f"poll-{i}.wav", song)})
            response.raise_for_status()
            ids.append(response.json()["job_id"])
        return ids


class Connection:
    """A bare HTTP/1.1 client on one socket: a load generator that spends little CPU of its own.

    On a shared machine the generator's CPU is taken from the server it measures; httpx spent about
    half a core on 200 polls a second.
    """

    def __init__(self, url: str) -> None:
        parsed = urlsplit(url)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(self, data: bytes, timeout: float) -> int:
        """Send a complete request, return the status; raises OSError / asyncio errors."""
        async with asyncio.timeout(timeout):
            if self._streams is None:
                self._streams = await asyncio.open_connection(self.host, self.port)
            reader, writer = self._streams
            try:
                writer.write(data)
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                close = False
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                    elif name.strip().lower() == b"connection" and b"close" in value.lower():
                        close = True
                await reader.readexactly(length)
            except BaseException:
                self.close()
                raise
            if close:
                self.close()
            return int(head.split(b" ", 2)[1])

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None


def upload_request(mp3: bytes, name: str) -> bytes:
    boundary = "loadtestb0und"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: audio/mpeg\r\n\r\n"
        ).encode()
        + mp3
        + f"\r\n--{boundary}--\r\n".encode()
    )
    head = (
        "POST /api/v1/transcribe HTTP/1.1\r\nHost: loadtest\r\nConnection: close\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def upload_process(url: str, mp3: bytes, uploads: int, start_at: float, stop_at: float, out: Queue) -> None:
    """The uploaders, in a process of their own at lower priority: on a shared machine, the CPU a
    client spends pushing 20 uploads would otherwise be taken from the server it measures (in a
    deployment the clients are elsewhere)."""
    os.nice(10)
    request = upload_request(mp3, "load.mp3")

    async def uploader(times: list[float], errors: list[str]) -> None:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        while time.time() < stop_at:
            started = time.perf_counter()
            try:
                status = await Connection(url).request(request, timeout=180)
                problem = None if status == 202 else f"HTTP {status}"
            except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
                problem = type(exc).__name__
            (errors.append(problem) if problem else times.append(time.perf_counter() - started))

    async def main() -> tuple[list[float], list[str]]:
        times: list[float] = []
        errors: list[str] = []
        await asyncio.gather(*(uploader(times, errors) for _ in range(uploads)))
        return times, errors

    out.put(asyncio.run(main()))


async def run(args: argparse.Namespace, url: str) -> tuple[Phase, Phase]:
    job_ids = await make_jobs(url, args.jobs)
    print(f"encoding a {args.song_seconds:g} s MP3 to upload...", file=sys.stderr)
    mp3 = encode(groove(args.song_seconds, seed=3), "MP3")
    print(
        f"song {len(mp3) / 1e6:.1f} MB; {args.pollers} pollers every {args.poll_interval:g} s; "
        f"{args.uploads} uploads in flight during the second phase",
        file=sys.stderr,
    )
    baseline, loaded = Phase("without uploads"), Phase("with uploads")
    current: Phase | None = None
    stop = asyncio.Event()

    async def poller(index: int) -> None:
        await asyncio.sleep(random.uniform(0, args.poll_interval))
        job_id = job_ids[index % len(job_ids)]
        request = f"GET /api/v1/status/{job_id} HTTP/1.1\r\nHost: loadtest\r\n\r\n".encode()
        connection = Connection(url)
        while not stop.is_set():
            phase, started = current, time.perf_counter()
            try:
                status = await connection.request(request, timeout=30)
                problem = None if status == 200 else f"HTTP {status}"
            except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
                problem = type(exc).__name__
            if phase is not None:
                (
                    phase.errors.append(problem)
                    if problem
                    else phase.latencies.append(time.perf_counter() - started)
                )
            await asyncio.sleep(args.poll_interval * random.uniform(0.8, 1.2))
        connection.close()

    # Baseline and upload windows alternate, so a change in the machine's other load hits both alike.
    context = get_context("spawn")
    pollers = [asyncio.create_task(poller(i)) for i in range(args.pollers)]
    await asyncio.sleep(args.warmup)
    for round_number in range(1, args.rounds + 1):
        print(f"round {round_number}/{args.rounds}: without uploads", file=sys.stderr)
        current = baseline
        await asyncio.sleep(args.duration)
        print(f"round {round_number}/{args.rounds}: with uploads", file=sys.stderr)
        results: Queue = context.Queue()
        start_at = time.time() + 0.5
        uploads = context.Process(
            target=upload_process,
            args=(args.upload_url or url, mp3, args.uploads, start_at, start_at + args.duration, results),
            daemon=True,
        )
        uploads.start()
        await asyncio.sleep(max(0.0, start_at - time.time()))
        current = loaded
        await asyncio.sleep(args.duration)
        current = None
        # Uploads in flight when the window ends finish (their times count) before the next one.
        times, errors = await asyncio.to_thread(results.get, True, 300)
        loaded.uploads += times
        loaded.upload_errors += errors
        await asyncio.to_thread(uploads.join, 10)
    stop.set()
    await asyncio.gather(*pollers)
    return baseline, loaded


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="an API that is already running (default: start one)")
    parser.add_argument(
        "--upload-url",
        help="send the uploads to this other API instead (a control: what the machine itself loses)",
    )
    parser.add_argument("--pollers", type=int, default=200)
    parser.add_argument("--uploads", type=int, default=20, help="uploads kept in flight")
    parser.add_argument(
        "--poll-interval", type=float, default=1.0, help="seconds between a poller's requests"
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per window")
    parser.add_argument("--rounds", type=int, default=3, help="baseline + upload windows, alternating")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--song-seconds", type=float, default=300.0)
    parser.add_argument("--jobs", type=int, default=20, help="jobs the pollers spread over")
    parser.add_argument("--max-ratio", type=float, default=2.0)
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="setting for the started API"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="groovesheet-loadtest-") as tmp:
        if args.url:
            baseline, loaded = asyncio.run(run(args, args.url))
        else:
            extra = dict(item.split("=", 1) for item in args.env)
            with local_api(Path(tmp) / "jobs", extra) as url:
                baseline, loaded = asyncio.run(run(args, url))
    result = {"baseline": baseline.summary(), "with_uploads": loaded.summary()}
    ratio = loaded.percentile(99) / baseline.percentile(99)
    result["p99_ratio"] = round(ratio, 2)
    print(f"{'':>18} {'requests':>9} {'errors':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for phase in (baseline, loaded):
        s = phase.summary()
        print(
            f"{phase.name:>18} {s['status_requests']:>9} {s['status_errors']:>7} {s['status_p50_ms']:>8} "
            f"{s['status_p95_ms']:>8} {s['status_p99_ms']:>8} {s['status_max_ms']:>8}"
        )
    s = loaded.summary()
    print(
        f"uploads: {s['uploads_done']} done, {s['upload_errors']} errors, p50 {s['upload_p50_s']} s, "
        f"max {s['upload_max_s']} s; status p99 ratio {ratio:.2f} (goal <= {args.max_ratio:g})"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    errors = baseline.errors + loaded.errors + loaded.upload_errors
    if errors:
        print(f"errors: {sorted(set(errors))}", file=sys.stderr)
    return 0 if ratio <= args.max_ratio and not errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
