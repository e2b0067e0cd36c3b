"""GET /api/v1/jobs: the caller's own jobs, newest first, paginated, on the local store."""

from __future__ import annotations

import re

import pytest

from tests.api.test_auth import SECRET, bearer, hs256_token
from tests.api.test_jobs import complete, upload
from tests.audio_samples import song_bytes


def test_history_lists_own_jobs_newest_first_with_summaries(make_client, jobs_dir, tmp_path):
    client = make_client(auth_mode="hs256", jwt_secret=SECRET)
    alice, bob = bearer(hs256_token("alice")), bearer(hs256_token("bob"))
    files = {"file": ("Moby Dick.mp3", song_bytes("MP3"))}
    first = client.post("/api/v1/transcribe", files=files, headers=alice).json()["job_id"]
    second = client.post(
        "/api/v1/transcribe", files=files, data={"title": "Rock and Roll"}, headers=alice
    ).json()["job_id"]
    client.post("/api/v1/transcribe", files=files, headers=bob)
    complete(jobs_dir, first, tmp_path)

    response = client.get("/api/v1/jobs", headers=alice)

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["next_cursor"] is None
    assert [j["job_id"] for j in body["jobs"]] == [second, first]
    newest, oldest = body["jobs"]
    assert newest["title"] == "Rock and Roll"
    assert newest["status"] == "queued"
    assert newest["progress"] == 0
    assert newest["downloads"] is None
    assert newest["created_at"].endswith("Z")
    assert oldest["title"] == "Moby Dick"
    assert oldest["status"] == "completed"
    assert oldest["progress"] == 100
    assert oldest["result"]["total_notes"] == 3
    assert oldest["downloads"]["midi"] == f"/api/v1/download/{first}?format=midi"
    assert oldest["status_url"] == f"/api/v1/status/{first}"
    assert client.get(oldest["downloads"]["musicxml"], headers=alice).status_code == 200

    theirs = client.get("/api/v1/jobs", headers=bob).json()["jobs"]
    assert len(theirs) == 1
    assert theirs[0]["job_id"] not in (first, second)
    assert client.get("/api/v1/jobs").status_code == 401


def test_history_pages_with_an_opaque_cursor(make_client):
    client = make_client(max_active_jobs_per_user=0)
    ids = [upload(client, f"song {i}.mp3") for i in range(5)]

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/v1/jobs", params=params).json()
        seen += [j["job_id"] for j in body["jobs"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor)  # opaque and URL-safe

    assert pages == 3
    assert seen == list(reversed(ids))


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"limit": "many"}])
def test_bad_limit_is_422(client, params):
    response = client.get("/api/v1/jobs", params=params)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
    assert "limit" in response.json()["error"]["message"]


@pytest.mark.parametrize("cursor", ["not-a-cursor", "eyJ0IjoxfQ", "e30", "%%%"])
def test_bad_cursor_is_422(client, cursor):
    response = client.get("/api/v1/jobs", params={"cursor": cursor})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_cursor"
    assert "next_cursor" in error["message"]


def test_empty_history_and_head(client):
    assert client.get("/api/v1/jobs").json() == {"jobs": [], "next_cursor": None}
    assert client.head("/api/v1/jobs").status_code == 200
    assert "/api/v1/jobs" in client.get("/openapi.json").json()["paths"]
