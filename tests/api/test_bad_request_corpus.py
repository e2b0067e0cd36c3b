"""Every bad request we know of, sent over a socket to a real API process (sign-in on).

Each one must get a 4xx with ``{"error": {"code", "message"}}`` whose message says what to do, no
5xx, nothing stored or queued, and the server must stay healthy and keep writing JSON logs.
"""

from __future__ import annotations

import re
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import jwt
import numpy as np
import pytest

from groovesheet_shared.jobs import Job, new_job_id
from groovesheet_shared.storage import LocalJobStore
from tests.api.live_server import LiveApi, RawResponse, http_request, live_api, multipart, read_response
from tests.audio_samples import SR, encode, groove, song_bytes

SECRET = "corpus-secret-that-is-long-enough-for-hs256"
USER = "corpus-user"
UPLOAD = "/api/v1/transcribe"
BOUNDARY = "gsb0und"
# A message that says what to do names an action.
_ACTION = re.compile(
    r"\b(upload|send|use|try|choose|remove|shorten|sign in|attach|export|check|leave|pick|trim|poll|"
    r"let your|see /docs|keep it)\b",
    re.IGNORECASE,
)


def token(sub: str = USER, secret: str = SECRET, lifetime: int = 600, **claims: object) -> str:
    now = int(time.time())
    return jwt.encode({"sub": sub, "iat": now, "exp": now + lifetime, **claims}, secret, algorithm="HS256")


def auth(value: str | None = None) -> tuple[str, str]:
    return ("Authorization", value or f"Bearer {token()}")


def upload(
    parts: list[tuple[str, str | None, bytes]] | None = None,
    *,
    fields: dict[str, str] | None = None,
    headers: list[tuple[str, str]] | None = None,
    boundary: str = BOUNDARY,
    close: bool = True,
    content_length: int | None = None,
) -> bytes:
    """A multipart upload: by default a good 4-second WAV with a valid token."""
    parts = parts if parts is not None else [("file", "song.wav", WAV)]
    parts = parts + [(name, None, value.encode()) for name, value in (fields or {}).items()]
    body = multipart(parts, boundary, close)
    head = [("Content-Type", f"multipart/form-data; boundary={boundary}")]
    head += headers if headers is not None else [auth()]
    return http_request("POST", UPLOAD, head, body, content_length=content_length)


def song(name: str, data: bytes) -> list[tuple[str, str | None, bytes]]:
    return [("file", name, data)]


WAV = song_bytes("WAV", 4.0)
MP3 = song_bytes("MP3", 10.0)
OGG = song_bytes("OGG", 10.0)


def _tone(seconds: float, hz: float) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * hz * np.arange(int(seconds * SR)) / SR)).astype(np.float32)


@dataclass
class Case:
    request: Callable[[], bytes]
    status: int
    code: str
    stall: bool = False  # send the request, then wait for the server to give up on it


def get(path: str, headers: list[tuple[str, str]] | None = None) -> Callable[[], bytes]:
    return lambda: http_request("GET", path, headers if headers is not None else [auth()])


QUEUED_JOB = new_job_id()
OTHERS_JOB = new_job_id()

CASES: dict[str, Case] = {
    # --- the file itself (the first 15 kinds were covered before; the rest are issue 11)
    "empty file": Case(lambda: upload(song("song.mp3", b"")), 400, "empty_file"),
    "text renamed .mp3": Case(
        lambda: upload(song("song.mp3", b"my lyrics\n" * 50)), 415, "unsupported_format"
    ),
    "mp3 cut after its tag": Case(
        lambda: upload(song("s.mp3", b"ID3\x04" + b"\x00" * 6 + MP3[:3])), 422, "undecodable_audio"
    ),
    "wav cut to a third": Case(lambda: upload(song("s.wav", WAV[: len(WAV) // 3])), 422, "undecodable_audio"),
    "garbage after a wav header": Case(
        lambda: upload(song("s.wav", WAV[:44] + b"\x00" * 3)), 422, "undecodable_audio"
    ),
    "aiff": Case(
        lambda: upload(song("s.aiff", b"FORM" + struct.pack(">I", 4) + b"AIFF" + b"\x00" * 64)),
        415,
        "unsupported_format",
    ),
    "png renamed .wav": Case(
        lambda: upload(song("s.wav", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)), 415, "unsupported_format"
    ),
    "m4a": Case(
        lambda: upload(song("s.m4a", b"\x00\x00\x00\x20ftypM4A " + b"\x00" * 100)), 415, "unsupported_format"
    ),
    "file over MAX_UPLOAD_MB": Case(
        lambda: upload(song("s.wav", song_bytes("WAV", 30.0))), 413, "file_too_large"
    ),
    "song over MAX_DURATION_SECONDS": Case(
        lambda: upload(song("s.mp3", song_bytes("MP3", 70.0))), 413, "audio_too_long"
    ),
    "file in another field": Case(lambda: upload([("song", "s.wav", WAV)]), 422, "missing_file"),
    "bpm out of range": Case(lambda: upload(fields={"bpm": "900"}), 422, "invalid_bpm"),
    "bpm not a number": Case(lambda: upload(fields={"bpm": "fast"}), 422, "invalid_bpm"),
    "odd time signature": Case(
        lambda: upload(fields={"time_signature": "4/5"}), 422, "invalid_time_signature"
    ),
    "drums_only not a boolean": Case(
        lambda: upload(fields={"drums_only": "maybe"}), 422, "invalid_drums_only"
    ),
    "first 1 KB of an mp3": Case(lambda: upload(song("s.mp3", MP3[:1024])), 422, "undecodable_audio"),
    "first half of an mp3": Case(
        lambda: upload(song("s.mp3", MP3[: len(MP3) // 2])), 422, "undecodable_audio"
    ),
    "8 KB of mp3 then garbage": Case(
        lambda: upload(song("s.mp3", MP3[:8192] + np.random.default_rng(7).bytes(60_000))),
        422,
        "undecodable_audio",
    ),
    "first half of an ogg": Case(
        lambda: upload(song("s.ogg", OGG[: len(OGG) // 2])), 422, "undecodable_audio"
    ),
    "a 0.1 s clip": Case(
        lambda: upload(song("s.wav", encode(groove(4.0)[: SR // 10], "WAV"))), 422, "audio_too_short"
    ),
    "30 s of silence": Case(
        lambda: upload(song("s.wav", encode(np.zeros(30 * SR, np.float32), "FLAC"))), 422, "silent_audio"
    ),
    "a 1 s 8 kHz tone": Case(
        lambda: upload(song("s.wav", encode(_tone(1.0, 8000), "WAV"))), 422, "audio_too_short"
    ),
    "nan samples": Case(lambda: upload(song("s.wav", _nan_wav())), 422, "undecodable_audio"),
    # --- the form
    "not multipart": Case(
        lambda: http_request(
            "POST", UPLOAD, [auth(), ("Content-Type", "application/json")], b'{"file": "x"}'
        ),
        415,
        "not_multipart",
    ),
    "multipart without a boundary": Case(
        lambda: http_request("POST", UPLOAD, [auth(), ("Content-Type", "multipart/form-data")], b"x"),
        415,
        "not_multipart",
    ),
    "boundary of 300 characters": Case(lambda: upload(boundary="b" * 300), 400, "invalid_boundary"),
    "no closing boundary": Case(lambda: upload(close=False), 400, "incomplete_upload"),
    "content-length half the body": Case(
        lambda: upload(content_length=len(multipart(song("song.wav", WAV))) // 2), 400, "incomplete_upload"
    ),
    "declared size over the limit": Case(
        lambda: http_request(
            "POST",
            UPLOAD,
            [auth(), ("Content-Type", f"multipart/form-data; boundary={BOUNDARY}")],
            content_length=50 << 20,
        ),
        413,
        "file_too_large",
    ),
    "file sent as text": Case(lambda: upload([("file", None, b"song.mp3")]), 422, "missing_file"),
    "two files": Case(
        lambda: upload([("file", "a.wav", WAV), ("file", "b.wav", WAV)]), 400, "too_many_files"
    ),
    "unknown field": Case(lambda: upload(fields={"tempo": "120"}), 422, "unknown_field"),
    "field sent twice": Case(
        lambda: upload([("file", "a.wav", WAV), ("bpm", None, b"120"), ("bpm", None, b"90")]),
        422,
        "duplicate_field",
    ),
    "field of 5000 bytes": Case(lambda: upload(fields={"title": "t" * 5000}), 400, "field_too_large"),
    "part without a name": Case(lambda: upload([("", "a.wav", WAV)]), 400, "malformed_upload"),
    "empty body": Case(
        lambda: http_request(
            "POST",
            UPLOAD,
            [auth(), ("Content-Type", f"multipart/form-data; boundary={BOUNDARY}")],
            content_length=0,
        ),
        400,
        "malformed_upload",
    ),
    # --- titles the sheet cannot hold (a file name is cleaned instead: test_transcribe.py)
    "title with U+FFFE": Case(lambda: upload(fields={"title": "Song\ufffe"}), 422, "invalid_title"),
    "title with U+FFFF": Case(lambda: upload(fields={"title": "Song\uffff"}), 422, "invalid_title"),
    "title with a NUL": Case(lambda: upload(fields={"title": "So\x00ng"}), 422, "invalid_title"),
    "title of 201 characters": Case(lambda: upload(fields={"title": "x" * 201}), 422, "invalid_title"),
    # --- slow and huge
    "body that stalls": Case(lambda: upload()[: -len(WAV) // 2], 408, "request_timeout", stall=True),
    "headers that stall": Case(
        lambda: b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ", 408, "header_timeout", stall=True
    ),
    "32 MB header": Case(
        lambda: b"GET /health HTTP/1.1\r\nX-Huge: " + b"a" * (32 << 20), 431, "headers_too_large"
    ),
    "2000 headers": Case(
        get("/health", [(f"X-{i}", "v" * 10) for i in range(2000)]), 431, "headers_too_large"
    ),
    "URL of 20 KB": Case(get("/api/v1/status/" + "a" * 20_000), 431, "headers_too_large"),
    "not HTTP": Case(
        lambda: b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64, 400, "malformed_http"
    ),
    "broken chunked body": Case(
        lambda: (
            http_request(
                "POST",
                UPLOAD,
                [
                    auth(),
                    ("Content-Type", f"multipart/form-data; boundary={BOUNDARY}"),
                    ("Transfer-Encoding", "chunked"),
                ],
            )
            + b"10\r\n--gsb0und\r\nContent\r\nzz\r\nxx\r\n"
        ),
        400,
        "malformed_http",
    ),
    # --- sign-in (AUTH_MODE=hs256)
    "no token": Case(lambda: upload(headers=[]), 401, "unauthorized"),
    "basic auth": Case(lambda: upload(headers=[auth("Basic dXNlcjpwYXNz")]), 401, "unauthorized"),
    "garbage token": Case(lambda: upload(headers=[auth("Bearer not-a-jwt")]), 401, "unauthorized"),
    "token with another secret": Case(
        lambda: upload(headers=[auth(f"Bearer {token(secret='another-secret-that-is-long-enough!!')}")]),
        401,
        "unauthorized",
    ),
    "expired token": Case(
        lambda: upload(headers=[auth(f"Bearer {token(lifetime=-3600)}")]), 401, "unauthorized"
    ),
    "token without sub": Case(
        lambda: upload(
            headers=[auth("Bearer " + jwt.encode({"exp": int(time.time()) + 60}, SECRET, algorithm="HS256"))]
        ),
        401,
        "unauthorized",
    ),
    "token without exp": Case(
        lambda: upload(headers=[auth("Bearer " + jwt.encode({"sub": USER}, SECRET, algorithm="HS256"))]),
        401,
        "unauthorized",
    ),
    "token valid for 10 years": Case(
        lambda: upload(headers=[auth(f"Bearer {token(lifetime=10 * 365 * 86400)}")]), 401, "unauthorized"
    ),
    "token for another audience": Case(
        lambda: upload(headers=[auth(f"Bearer {token(aud='other-app')}")]), 401, "unauthorized"
    ),
    "two Authorization headers": Case(
        lambda: upload(headers=[auth(), auth(f"Bearer {token('mallory')}")]), 400, "invalid_authorization"
    ),
    # --- jobs
    "malformed job id": Case(get("/api/v1/status/not-a-job"), 404, "invalid_job_id"),
    "job id that climbs folders": Case(get("/api/v1/status/..%2F..%2Fetc%2Fpasswd"), 404, "not_found"),
    "version-1 uuid": Case(get("/api/v1/status/6ba7b810-9dad-11d1-80b4-00c04fd430c8"), 404, "invalid_job_id"),
    "unknown job": Case(get(f"/api/v1/status/{new_job_id()}"), 404, "job_not_found"),
    "another user's job": Case(get(f"/api/v1/status/{OTHERS_JOB}"), 404, "job_not_found"),
    "download before it is done": Case(get(f"/api/v1/download/{QUEUED_JOB}"), 409, "job_not_ready"),
    "download in an unknown format": Case(
        get(f"/api/v1/download/{QUEUED_JOB}?format=docx"), 422, "invalid_request"
    ),
    "preview before it is done": Case(get(f"/api/v1/jobs/{QUEUED_JOB}/preview.svg"), 409, "job_not_ready"),
    "unknown route": Case(get("/api/v2/nothing"), 404, "not_found"),
    "DELETE a job": Case(
        lambda: http_request("DELETE", f"/api/v1/status/{QUEUED_JOB}", [auth()]), 405, "method_not_allowed"
    ),
    "POST to /health": Case(lambda: http_request("POST", "/health", [], b"x"), 405, "method_not_allowed"),
}


def _nan_wav() -> bytes:
    import io

    import soundfile

    audio = groove(3.0)
    audio[500] = np.nan
    buffer = io.BytesIO()
    soundfile.write(buffer, audio, SR, format="WAV", subtype="FLOAT")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    jobs_dir = tmp_path_factory.mktemp("corpus") / "jobs"
    with live_api(
        jobs_dir,
        AUTH_MODE="hs256",
        JWT_SECRET=SECRET,
        MAX_UPLOAD_MB="2",
        MAX_DURATION_SECONDS="60",
        HEADER_TIMEOUT_SECONDS="1",
        BODY_IDLE_TIMEOUT_SECONDS="1",
    ) as running:
        store = LocalJobStore(jobs_dir)
        source = jobs_dir / "source.wav"
        source.write_bytes(WAV)
        for job_id, owner in ((QUEUED_JOB, USER), (OTHERS_JOB, "someone-else")):
            store.create(
                Job(
                    job_id=job_id,
                    filename="a.wav",
                    content_type="audio/wav",
                    size_bytes=len(WAV),
                    input_name="input.wav",
                    owner=owner,
                ),
                source,
            )
        yield running


def send(api: LiveApi, case: Case) -> RawResponse:
    if not case.stall:
        return api.exchange(case.request(), timeout=30)
    with api.connect() as sock:
        sock.sendall(case.request())
        return read_response(sock, timeout=15)


def test_the_corpus_covers_every_known_kind():
    assert len(CASES) >= 45


@pytest.mark.parametrize("name", list(CASES))
def test_bad_request_is_refused_clearly_and_leaves_nothing(api: LiveApi, name: str):
    case = CASES[name]
    jobs_before, queued_before = api.stored_jobs(), api.queued()

    response = send(api, case)

    assert 400 <= response.status < 500, (response.status, response.body[:300])
    assert response.status == case.status, response.body[:300]
    assert response.header("content-type") == "application/json"
    error = response.json()["error"]
    assert set(error) == {"code", "message"}
    assert error["code"] == case.code
    assert len(error["message"]) > 20 and _ACTION.search(error["message"]), error["message"]
    assert response.header("x-request-id")
    assert api.stored_jobs() == jobs_before and api.queued() == queued_before
    assert api.process.poll() is None
    started = time.monotonic()
    assert httpx.get(f"{api.base_url}/health", timeout=5).status_code == 200
    assert time.monotonic() - started < 3.0  # healthy and answering (generous on a busy machine)


def test_a_good_upload_is_still_taken_and_the_logs_stayed_json(api: LiveApi):
    response = api.exchange(upload(), timeout=30)
    assert response.status == 202, response.body[:300]
    job_id = response.json()["job_id"]
    assert job_id in api.stored_jobs()
    entries = api.log_entries()  # every line parses as JSON
    assert not [e for e in entries if e.get("status", 0) >= 500 or e.get("severity") == "CRITICAL"]
