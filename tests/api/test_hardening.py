"""Security headers, HEAD, host-safe redirects, CORS defaults, and 5xx that stay clean."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re

import pytest
from fastapi.testclient import TestClient

from groovesheet_api.security import API_CSP, DOCS_CSP
from groovesheet_shared.jobs import new_job_id
from groovesheet_shared.logging import JsonFormatter
from tests.api.test_auth import SECRET, bearer, hs256_token
from tests.api.test_jobs import upload
from tests.audio_samples import song_bytes

BASE = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}


def assert_secure(response) -> None:
    for name, value in BASE.items():
        assert response.headers.get(name) == value, name
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-request-id"]


def test_api_answers_carry_security_headers_and_a_locked_csp(client):
    for response in (
        client.get("/health"),
        client.get("/api/v1/status/" + new_job_id()),  # a 404
        client.post("/api/v1/transcribe", json={}),  # a 415
    ):
        assert_secure(response)
        assert response.headers["content-security-policy"] == API_CSP


def test_the_page_may_run_only_its_own_inline_script_and_style(client):
    page = client.get("/")
    assert_secure(page)
    csp = page.headers["content-security-policy"]
    for kind in ("script", "style"):
        blocks = re.findall(rf"<{kind}>(.*?)</{kind}>", page.text, re.DOTALL)
        assert blocks, kind
        for block in blocks:
            digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in csp
    assert "'unsafe-inline'" not in csp and "default-src 'none'" in csp
    assert "connect-src 'self'" in csp and "blob:" in csp
    assert "media-src 'self' blob:" in csp  # the stems' players


def test_docs_get_a_csp_that_lets_swagger_load(client):
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert docs.headers["content-security-policy"] == DOCS_CSP
    assert "https://cdn.jsdelivr.net" in DOCS_CSP


def test_hsts_only_behind_https(client):
    assert "strict-transport-security" not in client.get("/health").headers
    behind_proxy = client.get("/health", headers={"X-Forwarded-Proto": "https"})
    assert behind_proxy.headers["strict-transport-security"].startswith("max-age=")


def test_head_on_health_status_and_page(client):
    job_id = upload(client)
    for path in ("/health", f"/api/v1/status/{job_id}", f"/api/v1/jobs/{job_id}", "/"):
        head = client.head(path)
        assert head.status_code == 200, path
        assert head.content == b""
    assert client.head(f"/api/v1/status/{new_job_id()}").status_code == 404


def test_head_checks_ownership_like_get(make_client):
    client = make_client(auth_mode="hs256", jwt_secret=SECRET)
    created = client.post(
        "/api/v1/transcribe",
        files={"file": ("a.wav", song_bytes("WAV"))},
        headers=bearer(hs256_token("alice")),
    )
    job_id = created.json()["job_id"]
    assert client.head(f"/api/v1/status/{job_id}", headers=bearer(hs256_token("alice"))).status_code == 200
    assert client.head(f"/api/v1/status/{job_id}", headers=bearer(hs256_token("bob"))).status_code == 404
    assert client.head("/health").status_code == 200


def test_trailing_slash_redirect_never_follows_the_host_header(client):
    job_id = upload(client)
    response = client.get(
        f"/api/v1/status/{job_id}/?x=1", headers={"Host": "evil.example"}, follow_redirects=False
    )
    assert response.status_code == 307
    assert response.headers["location"] == f"/api/v1/status/{job_id}?x=1"
    assert client.get("/health/", follow_redirects=False).headers["location"] == "/health"


def test_no_redirect_to_another_host_through_the_path(client):
    # Paths starting with // are sent over a raw socket in test_server_limits.py (httpx reads a host).
    for path in ("/%2F%2Fevil.example/", "/%2F%2Fevil.example/health/"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 404, path
        assert "location" not in response.headers
        assert response.json()["error"]["code"] == "not_found"


def _preflight(client, origin: str):
    return client.options(
        "/api/v1/transcribe", headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
    )


def test_cors_default_follows_the_auth_mode(make_client):
    open_client = make_client()
    assert _preflight(open_client, "https://anywhere.example").headers["access-control-allow-origin"] == "*"
    signed = make_client(auth_mode="hs256", jwt_secret=SECRET)
    assert "access-control-allow-origin" not in _preflight(signed, "https://anywhere.example").headers
    configured = make_client(auth_mode="hs256", jwt_secret=SECRET, cors_origins=["https://groovesheet.app"])
    allowed = _preflight(configured, "https://groovesheet.app")
    assert allowed.headers["access-control-allow-origin"] == "https://groovesheet.app"


def test_cors_origins_from_the_environment(monkeypatch, jobs_dir):
    from groovesheet_api.config import ApiSettings

    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example")
    assert ApiSettings(local_jobs_dir=jobs_dir).allowed_origins == ["https://a.example", "https://b.example"]


class JsonLines(logging.Handler):
    """Formats each record as the service does, while the request is still being answered."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter("groovesheet-api"))
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


def test_an_unexpected_error_is_a_json_500_with_a_request_id_in_answer_and_log(client):
    def broken(job_id: str):
        raise RuntimeError("a bug")

    client.app.state.store.get = broken
    quiet = TestClient(client.app, raise_server_exceptions=False)
    handler = JsonLines()
    logging.getLogger().addHandler(handler)
    try:
        response = quiet.get(f"/api/v1/status/{new_job_id()}", headers={"X-Request-ID": "trace-500"})
    finally:
        logging.getLogger().removeHandler(handler)
    assert response.status_code == 500
    assert response.json() == {
        "error": {
            "code": "internal_error",
            "message": "Something went wrong on our side. Please try again in a minute.",
        }
    }
    assert response.headers["x-request-id"] == "trace-500"
    assert_secure(response)
    [crash] = [line for line in handler.lines if line["message"] == "unexpected error"]
    assert crash["request_id"] == "trace-500" and "RuntimeError: a bug" in crash["exception"]
    [access] = [
        line for line in handler.lines if line["logger"] == "groovesheet_api.access" and "status" in line
    ]
    assert (access["status"], access["request_id"]) == (500, "trace-500")


def test_damaged_metadata_is_410_and_kept(client, jobs_dir):
    job_id = upload(client)
    metadata = jobs_dir / "jobs" / job_id / "metadata.json"
    metadata.write_text('{"job_id": 12')
    response = client.get(f"/api/v1/status/{job_id}")
    assert response.status_code == 410
    error = response.json()["error"]
    assert error["code"] == "job_unreadable" and "Upload the song again" in error["message"]
    assert metadata.read_text() == '{"job_id": 12'
    assert client.get(f"/api/v1/download/{job_id}").status_code == 410


def test_unwritable_job_folder_is_503_without_internal_details(client, jobs_dir):
    jobs_folder = jobs_dir / "jobs"
    jobs_folder.rmdir()
    jobs_folder.write_text("a file where the folder should be")
    response = client.post("/api/v1/transcribe", files={"file": ("a.wav", song_bytes("WAV"))})
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "storage_error" and "try again in a minute" in error["message"]
    assert str(jobs_dir) not in error["message"]
    assert jobs_folder.is_file()  # nothing was created anywhere


def test_oversized_headers_are_431_in_the_application_too(client):
    response = client.get("/health", headers={"X-Big": "x" * (17 * 1024)})
    assert response.status_code == 431
    assert response.json()["error"]["code"] == "headers_too_large"
    assert response.headers["connection"] == "close"


@pytest.mark.parametrize(
    ("path", "model"),
    [("/api/v1/status/{job_id}", "JobView"), ("/health", "Health")],
)
def test_docs_describe_the_bodies_clients_read(client, path, model):
    schema = client.get("/openapi.json").json()
    ok = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok["$ref"].endswith(f"/{model}")
    assert "progress" in schema["components"]["schemas"]["JobView"]["properties"]


def test_docs_describe_the_upload_answer_and_its_errors(client):
    operation = client.get("/openapi.json").json()["paths"]["/api/v1/transcribe"]["post"]
    assert operation["responses"]["202"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/JobAccepted"
    )
    for status in ("400", "408", "413", "415", "422", "431", "503"):
        assert operation["responses"][status]["content"]["application/json"]["schema"]["$ref"].endswith(
            "/ErrorResponse"
        )
