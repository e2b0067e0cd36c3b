"""Start the API (uvicorn) and a worker as real processes on a free port, for end-to-end tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHONPATH = os.pathsep.join(str(ROOT / p) for p in ("shared", "api-service", "worker-service", "."))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def service_env(jobs_dir: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "LOCAL_JOBS_DIR": str(jobs_dir), "PYTHONPATH": PYTHONPATH, **extra}


def _start(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    # Output goes to a file, not a pipe: a pipe nobody reads fills up and freezes the service.
    log = tempfile.NamedTemporaryFile(prefix="groovesheet-service-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    process.log_path = Path(log.name)  # type: ignore[attr-defined]
    log.close()
    return process


def api_command(port: int, *flags: str) -> list[str]:
    """The API served by uvicorn on 127.0.0.1:``port``, with extra uvicorn ``flags``."""
    return [sys.executable, "-m", "uvicorn", "groovesheet_api.main:app", "--host", "127.0.0.1",
            "--port", str(port), *flags]  # fmt: skip


def start_api(env: dict[str, str], port: int) -> subprocess.Popen:
    return _start(api_command(port), env)


def start_worker(env: dict[str, str], module: str = "groovesheet_worker.main") -> subprocess.Popen:
    return _start([sys.executable, "-m", module], env)


def output_of(process: subprocess.Popen) -> str:
    return Path(process.log_path).read_text(errors="replace")  # type: ignore[attr-defined]


def wait_for_http(url: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return json.loads(response.read())
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def stop(process: subprocess.Popen) -> str:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    output = output_of(process)
    Path(process.log_path).unlink(missing_ok=True)  # type: ignore[attr-defined]
    return output


@dataclass(frozen=True)
class LocalStack:
    """A running API and worker: their base URLs, and the worker process (for its log)."""

    api_url: str
    worker_url: str
    worker: subprocess.Popen


@contextmanager
def local_stack(jobs_dir: Path, **worker_env: str) -> Iterator[LocalStack]:
    """`make run` in miniature: the API and the real worker on the local store in ``jobs_dir``, each on
    a free port, Demucs as ``demucs_unittest`` unless ``worker_env`` says otherwise; yielded once the
    API answers, both stopped on exit."""
    worker_port, api_port = free_port(), free_port()
    env = service_env(jobs_dir, **{"DEMUCS_MODEL": "demucs_unittest", **worker_env, "PORT": str(worker_port)})
    api = start_api({**env, "PORT": str(api_port)}, api_port)
    worker = start_worker(env)
    try:
        api_url = f"http://127.0.0.1:{api_port}"
        wait_for_http(f"{api_url}/health")
        yield LocalStack(api_url, f"http://127.0.0.1:{worker_port}", worker)
    finally:
        stop(api)
        stop(worker)
