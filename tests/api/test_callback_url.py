"""The callback_url form field: checked at upload (https, public addresses), stored with the job."""

from __future__ import annotations

import json

import pytest

from tests.api.conftest import queued_messages, stored_jobs
from tests.audio_samples import song_bytes


def post(client, callback_url: str):
    return client.post(
        "/api/v1/transcribe",
        files={"file": ("song.mp3", song_bytes("MP3"))},
        data={"callback_url": callback_url},
    )


def test_public_https_callback_is_stored_with_the_job(client, jobs_dir):
    response = post(client, "https://93.184.216.34/hooks/groovesheet?app=drums")
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    record = json.loads((jobs_dir / "jobs" / job_id / "metadata.json").read_text())
    assert record["callback_url"] == "https://93.184.216.34/hooks/groovesheet?app=drums"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://93.184.216.34/hook", "https://"),
        ("https://127.0.0.1/hook", "public addresses"),
        ("https://localhost:8443/hook", "public addresses"),
        ("https://169.254.169.254/latest", "public addresses"),
        ("https://[::1]/hook", "public addresses"),
        ("https://10.0.0.7/hook", "public addresses"),
        ("https://user:secret@93.184.216.34/hook", "user name or password"),
        ("not a url", "spaces"),
        ("ftp://93.184.216.34/x", "https://"),
    ],
)
def test_refused_callback_is_422_and_nothing_is_stored(client, jobs_dir, url, says):
    response = post(client, url)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_callback_url"
    assert says in error["message"]
    assert "leave callback_url out" in error["message"]
    assert stored_jobs(jobs_dir) == []
    assert queued_messages(jobs_dir) == []


def test_private_targets_are_allowed_for_local_development(make_client):
    client = make_client(webhook_allow_private=True)
    assert post(client, "http://127.0.0.1:9000/hook").status_code == 202


def test_callback_url_is_documented(client):
    schema = client.get("/openapi.json").json()["paths"]["/api/v1/transcribe"]["post"]
    properties = schema["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert properties["callback_url"]["format"] == "uri"
