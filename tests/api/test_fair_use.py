"""MAX_ACTIVE_JOBS_PER_USER: the fourth queued or processing job of one user is 429, on the local store."""

from __future__ import annotations

from pathlib import Path

from groovesheet_shared.storage import LocalJobStore
from tests.api.conftest import queued_messages, stored_jobs
from tests.api.test_auth import SECRET, bearer, hs256_token
from tests.api.test_jobs import complete, upload
from tests.audio_samples import song_bytes


def fail(jobs_dir: Path, job_id: str) -> None:
    LocalJobStore(jobs_dir).update(job_id, lambda j: j.started("w").failed("silent_audio", "It is silent."))


# --- fair use


def test_fourth_active_upload_is_429_with_retry_after(client, jobs_dir):
    for i in range(3):
        upload(client, f"song {i}.mp3")
    before = stored_jobs(jobs_dir)

    response = client.post("/api/v1/transcribe", files={"file": ("four.mp3", song_bytes("MP3"))})

    assert response.status_code == 429
    assert response.headers["retry-after"] == "60"
    error = response.json()["error"]
    assert error["code"] == "too_many_active_jobs"
    assert "You already have 3 jobs queued or running" in error["message"]
    assert "at most 3" in error["message"]
    assert stored_jobs(jobs_dir) == before
    assert len(queued_messages(jobs_dir)) == 3


def test_finished_jobs_free_a_place(client, jobs_dir, tmp_path):
    ids = [upload(client, f"song {i}.mp3") for i in range(3)]
    complete(jobs_dir, ids[0], tmp_path)
    fail(jobs_dir, ids[1])
    upload(client, "four.mp3")
    upload(client, "five.mp3")
    assert (
        client.post("/api/v1/transcribe", files={"file": ("six.mp3", song_bytes("MP3"))}).status_code == 429
    )


def test_limit_is_per_user_and_configurable(make_client):
    client = make_client(
        auth_mode="hs256", jwt_secret=SECRET, max_active_jobs_per_user=1, active_jobs_retry_after_seconds=120
    )
    alice, bob = bearer(hs256_token("alice")), bearer(hs256_token("bob"))
    files = {"file": ("a.mp3", song_bytes("MP3"))}
    assert client.post("/api/v1/transcribe", files=files, headers=alice).status_code == 202
    refused = client.post("/api/v1/transcribe", files=files, headers=alice)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "120"
    assert "You already have 1 job queued or running" in refused.json()["error"]["message"]
    assert client.post("/api/v1/transcribe", files=files, headers=bob).status_code == 202


def test_zero_turns_the_limit_off(make_client):
    client = make_client(max_active_jobs_per_user=0)
    for i in range(5):
        upload(client, f"song {i}.mp3")


def test_429_is_documented(client):
    responses = client.get("/openapi.json").json()["paths"]["/api/v1/transcribe"]["post"]["responses"]
    assert "429" in responses
