"""Status and download endpoints, with their aliases, job id checks and ownership."""

from __future__ import annotations

from pathlib import Path

import pytest

from groovesheet_shared.jobs import JobResult
from groovesheet_shared.storage import LocalJobStore
from tests.audio_samples import song_bytes

STATUS_PATHS = ["/api/v1/status/{}", "/api/v1/transcribe/{}", "/api/v1/jobs/{}"]
DOWNLOAD_PATHS = ["/api/v1/download/{}", "/api/v1/transcribe/{}/download", "/api/v1/jobs/{}/download"]
OUTPUTS = {
    "output.musicxml": b"<score-partwise/>",
    "output.mid": b"MThd-midi",
    "events.json": b'{"events": []}',
}


def upload(client, name: str = "Moby Dick.mp3") -> str:
    response = client.post("/api/v1/transcribe", files={"file": (name, song_bytes("MP3"))})
    assert response.status_code == 202, response.text
    return response.json()["job_id"]


def complete(jobs_dir: Path, job_id: str, tmp_path: Path) -> None:
    store = LocalJobStore(jobs_dir)
    for name, data in OUTPUTS.items():
        source = tmp_path / name
        source.write_bytes(data)
        store.save_output(job_id, name, source)
    result = JobResult(total_notes=3, bpm=120, duration_seconds=4, notes_per_instrument={"kick": 3})
    store.update(job_id, lambda j: j.started("w").completed(result))


@pytest.mark.parametrize("path", STATUS_PATHS)
def test_status_while_queued(client, path):
    job_id = upload(client)
    response = client.get(path.format(job_id))

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["job_id"] == job_id
    assert body["status"] == "queued"
    assert body["progress"] == 0
    assert body["filename"] == "Moby Dick.mp3"
    assert body["download_url"] is None
    assert body["status_url"] == f"/api/v1/status/{job_id}"
    assert body["created_at"].endswith("Z")


def test_aliases_answer_the_same_body(client):
    job_id = upload(client)
    bodies = [client.get(p.format(job_id)).json() for p in STATUS_PATHS]
    assert bodies[0] == bodies[1] == bodies[2]


@pytest.mark.parametrize("path", DOWNLOAD_PATHS)
def test_download_is_409_until_completed(client, path):
    job_id = upload(client)
    response = client.get(path.format(job_id))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "job_not_ready"
    assert "Poll" in response.json()["error"]["message"]


@pytest.mark.parametrize("path", DOWNLOAD_PATHS)
def test_download_after_completion(client, jobs_dir, tmp_path, path):
    job_id = upload(client)
    complete(jobs_dir, job_id, tmp_path)

    status = client.get(f"/api/v1/status/{job_id}").json()
    assert status["status"] == "completed"
    assert status["progress"] == 100
    assert status["download_url"] == f"/api/v1/download/{job_id}"
    assert status["result"]["total_notes"] == 3

    response = client.get(path.format(job_id))
    assert response.status_code == 200
    assert response.content == OUTPUTS["output.musicxml"]
    assert response.headers["content-type"].startswith("application/vnd.recordare.musicxml+xml")
    assert 'filename="Moby Dick_transcription.musicxml"' in response.headers["content-disposition"]


@pytest.mark.parametrize(
    ("fmt", "stored", "suffix", "media"),
    [("midi", "output.mid", ".mid", "audio/midi"), ("json", "events.json", ".json", "application/json")],
)
def test_download_other_formats(client, jobs_dir, tmp_path, fmt, stored, suffix, media):
    job_id = upload(client, "groove.wav")
    complete(jobs_dir, job_id, tmp_path)
    response = client.get(f"/api/v1/download/{job_id}?format={fmt}")
    assert response.status_code == 200
    assert response.content == OUTPUTS[stored]
    assert response.headers["content-type"].startswith(media)
    assert f'filename="groove_transcription{suffix}"' in response.headers["content-disposition"]


def test_unknown_download_format_is_422(client, jobs_dir, tmp_path):
    job_id = upload(client)
    complete(jobs_dir, job_id, tmp_path)
    response = client.get(f"/api/v1/download/{job_id}?format=docx")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
    assert "format" in response.json()["error"]["message"]


def test_failed_job_download_says_why(client, jobs_dir):
    job_id = upload(client)
    LocalJobStore(jobs_dir).update(job_id, lambda j: j.failed("silent_audio", "The song is silent."))
    response = client.get(f"/api/v1/download/{job_id}")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "job_failed"
    assert "The song is silent." in response.json()["error"]["message"]
    status = client.get(f"/api/v1/status/{job_id}").json()
    assert status["error"] == {"code": "silent_audio", "message": "The song is silent."}


@pytest.mark.parametrize(
    "bad_id",
    [
        "abc",
        "..%2F..%2Fetc%2Fpasswd",
        "%2E%2E",
        "6ba7b810-9dad-11d1-80b4-00c04fd430c8",  # a UUID, but version 1
        "00000000-0000-4000-8000-000000000000%00",
        "x" * 300,
    ],
)
def test_malformed_job_ids_are_not_found(client, bad_id):
    for path in ["/api/v1/status/{}", "/api/v1/download/{}"]:
        response = client.get(path.format(bad_id))
        assert response.status_code in (404, 422), response.text
        assert "error" in response.json()


def test_unknown_job_is_404(client):
    response = client.get("/api/v1/status/3f0b9a8e-6c1d-4b2a-9f3e-2d1c0b9a8e7f")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "job_not_found"


def test_health_docs_and_page(client):
    assert client.get("/health").json()["status"] == "ok"
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    assert "/api/v1/transcribe" in schema["paths"]
    assert "/api/v1/status/{job_id}" in schema["paths"]
    page = client.get("/")
    assert page.status_code == 200
    assert "Groovesheet" in page.text


def test_unknown_route_is_json_404(client):
    response = client.get("/api/v2/nothing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_request_id_is_echoed_or_generated(client):
    given = client.get("/health", headers={"X-Request-ID": "trace-123"})
    assert given.headers["x-request-id"] == "trace-123"
    generated = client.get("/health")
    assert len(generated.headers["x-request-id"]) >= 16
    unsafe = client.get("/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert unsafe.headers["x-request-id"] != "bad id\twith spaces"


def test_cors_allows_configured_origin(make_client):
    client = make_client(cors_origins=["https://groovesheet.app"])
    response = client.options(
        "/api/v1/transcribe",
        headers={"Origin": "https://groovesheet.app", "Access-Control-Request-Method": "POST"},
    )
    assert response.headers["access-control-allow-origin"] == "https://groovesheet.app"
    other = client.options(
        "/api/v1/transcribe",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in other.headers
