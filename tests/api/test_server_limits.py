"""Slow, huge and cut-off requests against a real uvicorn process, over real sockets."""

from __future__ import annotations

import concurrent.futures
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from groovesheet_api.server import UVICORN_FLAGS
from tests.api.live_server import (
    LiveApi,
    http_request,
    live_api,
    multipart,
    read_response,
    send_until_answered,
    wait_closed,
)
from tests.audio_samples import song_bytes
from tests.integration.stack import ROOT, service_env

UPLOAD = "/api/v1/transcribe"
MULTIPART = ("Content-Type", "multipart/form-data; boundary=gsb0und")


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    with live_api(
        tmp_path_factory.mktemp("limits") / "jobs",
        HEADER_TIMEOUT_SECONDS="1",
        BODY_IDLE_TIMEOUT_SECONDS="1",
        BODY_TIMEOUT_SECONDS="4",
        KEEP_ALIVE_SECONDS="1",
    ) as running:
        yield running


def assert_json_error(response, status: int, code: str) -> None:
    assert response.status == status, response.body[:300]
    assert response.header("content-type") == "application/json"
    assert response.json()["error"]["code"] == code
    assert response.header("x-request-id")
    assert response.header("x-content-type-options") == "nosniff"
    assert response.header("server") is None


def test_a_32_mb_header_is_cut_off_with_431_before_it_is_buffered(api: LiveApi):
    before = api.rss_kb()
    with api.connect() as sock:
        sent = send_until_answered(
            sock, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Huge: " + b"a" * (32 * 1024 * 1024)
        )
        response = read_response(sock)
    assert_json_error(response, 431, "headers_too_large")
    assert response.closed
    assert api.rss_kb() - before < 8 * 1024, "the header must not be held in memory"
    assert sent < 32 * 1024 * 1024 or response.status == 431


def test_many_small_headers_add_up_to_431(api: LiveApi):
    headers = [(f"X-H{i}", "v" * 40) for i in range(600)]
    assert_json_error(api.exchange(http_request("GET", "/health", headers)), 431, "headers_too_large")


def test_headers_under_the_limit_pass(api: LiveApi):
    response = api.exchange(http_request("GET", "/health", [("X-Token", "t" * 8000)]))
    assert response.status == 200


def test_headers_that_stop_arriving_get_408(api: LiveApi):
    with api.connect() as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        started = time.monotonic()
        response = read_response(sock, timeout=10)
    assert_json_error(response, 408, "header_timeout")
    assert 0.8 < time.monotonic() - started < 5
    assert response.closed


def test_a_connection_that_never_sends_is_closed(api: LiveApi):
    with api.connect() as sock:
        assert wait_closed(sock, timeout=10) < 5


def test_an_idle_keep_alive_connection_is_closed(api: LiveApi):
    with api.connect() as sock:
        sock.sendall(http_request("GET", "/health", keep_alive=True))
        assert read_response(sock, watch_close=0).status == 200
        assert wait_closed(sock, timeout=10) < 4


def _upload_head(length: int) -> bytes:
    return http_request("POST", UPLOAD, [MULTIPART], content_length=length, keep_alive=True)


def test_a_body_that_stalls_gets_408_and_nothing_is_stored(api: LiveApi):
    body = multipart([("file", "song.wav", song_bytes("WAV", 3.0))])
    with api.connect() as sock:
        sock.sendall(_upload_head(len(body)) + body[:1024])
        started = time.monotonic()
        response = read_response(sock, timeout=10)
    assert_json_error(response, 408, "request_timeout")
    assert "nothing arrived for 1 seconds" in response.json()["error"]["message"]
    assert 0.8 < time.monotonic() - started < 5
    assert response.closed
    assert api.stored_jobs() == set()


def test_a_body_that_trickles_past_the_deadline_gets_408(api: LiveApi):
    body = multipart([("file", "song.wav", song_bytes("WAV", 3.0))])
    with api.connect() as sock:
        sock.sendall(_upload_head(len(body)))
        started = time.monotonic()
        answered = None
        for offset in range(0, len(body), 512):
            try:
                sock.sendall(body[offset : offset + 512])
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(0.4)  # always within the 1 s idle limit
            sock.setblocking(False)
            try:
                answered = sock.recv(65536, socket.MSG_PEEK)
            except BlockingIOError:
                answered = None
            finally:
                sock.setblocking(True)
            if answered:
                break
        response = read_response(sock, timeout=10)
    assert_json_error(response, 408, "request_timeout")
    assert "longer than 4 seconds" in response.json()["error"]["message"]
    assert 3.5 < time.monotonic() - started < 8
    assert api.stored_jobs() == set()


def test_150_stalled_uploads_are_all_cut_off_and_the_server_stays_healthy(api: LiveApi):
    body = multipart([("file", "song.wav", song_bytes("WAV", 3.0))])
    sockets = []
    try:
        for _ in range(150):
            sock = api.connect()
            sock.sendall(_upload_head(len(body)) + body[:1024])
            sockets.append(sock)
        # While they hang, the API answers others at once.
        started = time.monotonic()
        assert httpx.get(f"{api.base_url}/health", timeout=5).status_code == 200
        assert time.monotonic() - started < 3.0  # generous: the test machine may be busy
        with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
            statuses = list(pool.map(lambda s: read_response(s, timeout=15, watch_close=0).status, sockets))
    finally:
        for sock in sockets:
            sock.close()
    assert statuses == [408] * 150
    assert api.stored_jobs() == set()
    assert httpx.get(f"{api.base_url}/health", timeout=5).status_code == 200


def test_a_multipart_body_without_its_closing_boundary_is_incomplete(api: LiveApi):
    body = multipart([("file", "song.wav", song_bytes("WAV", 3.0))], close=False)
    response = api.exchange(http_request("POST", UPLOAD, [MULTIPART], body))
    assert_json_error(response, 400, "incomplete_upload")
    assert api.stored_jobs() == set()


def test_a_content_length_of_half_the_body_is_incomplete(api: LiveApi):
    body = multipart([("file", "song.mp3", song_bytes("MP3", 4.0))])
    response = api.exchange(http_request("POST", UPLOAD, [MULTIPART], body, content_length=len(body) // 2))
    assert_json_error(response, 400, "incomplete_upload")
    assert api.stored_jobs() == set()


def test_malformed_http_gets_a_json_400(api: LiveApi):
    response = api.exchange(b"BREW /pot HTCPCP/1.0 nonsense\r\n\r\n")
    assert_json_error(response, 400, "malformed_http")


def test_paths_starting_with_two_slashes_never_redirect_off_site(api: LiveApi):
    for path in ("//evil.example/", "//evil.example/health/", "//health/"):
        response = api.exchange(http_request("GET", path))
        assert response.status == 404, path
        assert response.header("location") is None
    moved = api.exchange(
        http_request("GET", "/health/", [("X-Forwarded-Host", "evil.example")]).replace(
            b"Host: 127.0.0.1", b"Host: evil.example"
        )
    )
    assert (moved.status, moved.header("location")) == (307, "/health")


def test_no_server_header_anywhere(api: LiveApi):
    for request in (http_request("GET", "/health"), http_request("GET", "/"), http_request("GET", "/nope")):
        assert api.exchange(request).header("server") is None


def test_a_good_upload_still_works_and_every_log_line_is_json(api: LiveApi, tmp_path: Path):
    with httpx.Client(base_url=api.base_url, timeout=30) as client:
        created = client.post(UPLOAD, files={"file": ("Take 1.mp3", song_bytes("MP3", 4.0))})
        assert created.status_code == 202, created.text
        job_id = created.json()["job_id"]
        assert client.head(f"/api/v1/status/{job_id}").status_code == 200
    time.sleep(0.5)
    entries = api.log_entries()  # raises on any line that is not JSON
    stored = [e for e in entries if e.get("message") == "job stored"]
    assert stored and stored[0]["job_id"] == job_id and stored[0]["request_id"]
    assert any(e.get("logger", "").startswith("uvicorn") for e in entries), "uvicorn's own lines are JSON too"
    refused = [e for e in entries if e.get("message", "").startswith("refused before the application")]
    assert refused and all(e["request_id"] for e in refused)
    access = [e for e in entries if e.get("logger") == "groovesheet_api.access" and "status" in e]
    assert access and all(e["request_id"] for e in access)
    assert not any("served without" in e.get("message", "") for e in entries)


def test_the_image_starts_uvicorn_with_the_same_flags():
    cmd = (ROOT / "api-service" / "Dockerfile").read_text().split("\nCMD ", 1)[1]
    assert "uvicorn groovesheet_api.main:app" in cmd
    assert " ".join(UVICORN_FLAGS) in cmd


def test_settings_that_stop_the_start_are_reported_as_json(tmp_path: Path):
    env = service_env(tmp_path / "jobs", AUTH_MODE="hs256", JWT_SECRET="x", LOG_FORMAT="json")
    done = subprocess.run(
        [sys.executable, "-m", "uvicorn", "groovesheet_api.main:app", "--port", "0", *UVICORN_FLAGS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    lines = [json.loads(line) for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert any("at least 32" in line.get("exception", "") for line in lines)
