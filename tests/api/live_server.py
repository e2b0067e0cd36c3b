"""A real API process (uvicorn with HardenedHttpProtocol) and a raw-socket HTTP client for it.

TestClient never opens a socket, so slow bodies, oversized headers, cut-off bodies and the
server's own refusals are tested here against the command the Dockerfile runs.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from groovesheet_api.server import UVICORN_FLAGS
from tests.integration.stack import ROOT, api_command, free_port, service_env, wait_for_http


@dataclass
class RawResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    closed: bool  # the server closed the connection after this response

    def header(self, name: str) -> str | None:
        found = [value for key, value in self.headers if key == name.lower()]
        return found[-1] if found else None

    def json(self) -> Any:
        return json.loads(self.body)


class LiveApi:
    def __init__(self, jobs_dir: Path, **env: str) -> None:
        self.jobs_dir = jobs_dir
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        environment = service_env(jobs_dir, PORT=str(self.port), LOG_FORMAT="json", LOG_LEVEL="INFO", **env)
        self._log = tempfile.NamedTemporaryFile(prefix="groovesheet-api-", suffix=".log", delete=False)  # noqa: SIM115
        command = api_command(self.port, *UVICORN_FLAGS)
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=self._log, stderr=subprocess.STDOUT
        )
        wait_for_http(f"{self.base_url}/health", timeout=60)

    # --- the process
    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def log_text(self) -> str:
        return Path(self._log.name).read_text(errors="replace")

    def log_entries(self) -> list[dict[str, Any]]:
        """Every line the process wrote, parsed as JSON (a line that is not JSON fails the test)."""
        entries = []
        for number, line in enumerate(self.log_text().splitlines(), start=1):
            if line.strip():
                try:
                    entries.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise AssertionError(f"log line {number} is not JSON: {line[:300]!r}") from exc
        return entries

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def remove_log(self) -> None:
        Path(self._log.name).unlink(missing_ok=True)

    # --- what is stored
    def stored_jobs(self) -> set[str]:
        folder = self.jobs_dir / "jobs"
        return {p.name for p in folder.iterdir()} if folder.is_dir() else set()

    def queued(self) -> set[str]:
        folder = self.jobs_dir / "queue" / "pending"
        return {p.name for p in folder.glob("*.json")} if folder.is_dir() else set()

    # --- raw HTTP
    def connect(self, timeout: float = 10.0) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def exchange(self, data: bytes, timeout: float = 20.0, watch_close: float = 0.5) -> RawResponse:
        """Send ``data`` (as much as the server takes) and read one response."""
        with self.connect(timeout) as sock:
            send_until_answered(sock, data)
            return read_response(sock, timeout, watch_close)


def die_with_parent() -> None:
    """In the child: get SIGTERM when the test process dies, even by a crash (Linux)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@contextlib.contextmanager
def live_api(jobs_dir: Path, **env: str) -> Iterator[LiveApi]:
    api = LiveApi(jobs_dir, **env)
    try:
        yield api
    finally:
        api.stop()
        api.remove_log()


def http_request(
    method: str,
    path: str,
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    *,
    content_length: int | None = None,
    keep_alive: bool = False,
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if not keep_alive:
        lines.append("Connection: close")
    lines += [f"{name}: {value}" for name, value in headers or []]
    if body or content_length is not None:
        lines.append(f"Content-Length: {len(body) if content_length is None else content_length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def multipart(
    parts: list[tuple[str, str | None, bytes]], boundary: str = "gsb0und", close: bool = True
) -> bytes:
    body = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (
            f'; filename="{filename}"' if filename is not None else ""
        )
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"
    return body + (f"--{boundary}--\r\n".encode() if close else b"")


def send_until_answered(sock: socket.socket, data: bytes, chunk: int = 64 * 1024) -> int:
    """Send ``data`` in chunks, stopping early once the server answers or stops reading."""
    sent = 0
    while sent < len(data):
        readable, _, _ = select.select([sock], [], [], 0)
        if readable:
            break
        try:
            sent += sock.send(data[sent : sent + chunk])
        except (BrokenPipeError, ConnectionResetError):
            break
    return sent


def read_response(sock: socket.socket, timeout: float = 20.0, watch_close: float = 0.5) -> RawResponse:
    sock.settimeout(timeout)
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        data = _recv(sock)
        if not data:
            raise ConnectionError(f"closed before a response: {buffer[:200]!r}")
        buffer += data
    head, _, rest = buffer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = [
        (name.strip().lower(), value.strip())
        for name, _, value in (line.partition(":") for line in header_lines)
    ]
    length = next((int(v) for k, v in headers if k == "content-length"), None)
    while length is not None and len(rest) < length:
        data = _recv(sock)
        if not data:
            break
        rest += data
    closed = _closed_soon(sock, watch_close)
    return RawResponse(
        int(status_line.split()[1]), headers, rest[:length] if length is not None else rest, closed
    )


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except ConnectionResetError:
        return b""


def _closed_soon(sock: socket.socket, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        readable, _, _ = select.select([sock], [], [], max(0.0, deadline - time.monotonic()))
        if not readable:
            return False
        if not _recv(sock):
            return True
    return False


def wait_closed(sock: socket.socket, timeout: float) -> float:
    """Seconds until the server closed ``sock`` (raises if it did not within ``timeout``)."""
    started = time.monotonic()
    sock.settimeout(timeout)
    while True:
        data = _recv(sock)
        if not data:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise TimeoutError("the server kept the connection open")
