"""DELETE /api/v1/jobs/{id}: the owner removes a job's song, outputs, record and history entry."""

from __future__ import annotations

import pytest

from groovesheet_shared.queue import LocalDirQueue
from groovesheet_shared.storage import LocalJobStore
from groovesheet_worker.config import WorkerSettings
from groovesheet_worker.runner import JobRunner
from tests.api.conftest import queued_messages, stored_jobs
from tests.api.test_auth import SECRET, bearer, hs256_token
from tests.api.test_jobs import complete, upload
from tests.audio_samples import song_bytes
from tests.worker.fake_pipeline import FakePipeline


def test_delete_completed_job_removes_everything(client, jobs_dir, tmp_path):
    job_id = upload(client)
    complete(jobs_dir, job_id, tmp_path)
    assert client.get("/api/v1/jobs").json()["jobs"][0]["job_id"] == job_id

    response = client.delete(f"/api/v1/jobs/{job_id}")

    assert response.status_code == 204
    assert response.content == b""
    assert stored_jobs(jobs_dir) == []
    assert client.get("/api/v1/jobs").json() == {"jobs": [], "next_cursor": None}
    assert client.get(f"/api/v1/status/{job_id}").json()["error"]["code"] == "job_not_found"
    assert client.get(f"/api/v1/download/{job_id}").status_code == 404
    assert client.delete(f"/api/v1/jobs/{job_id}").status_code == 404  # a second delete: nothing there


def test_deleting_a_queued_job_cancels_it_and_frees_its_place(client, jobs_dir, tmp_path):
    ids = [upload(client, f"song {i}.mp3") for i in range(3)]
    assert client.post("/api/v1/transcribe", files={"file": ("x.mp3", b"ID3")}).status_code == 429
    assert client.delete(f"/api/v1/jobs/{ids[0]}").status_code == 204
    upload(client, "instead.mp3")  # the limit counts it no more

    # The queued message is still there; the worker that takes it finds no job and drops it unrun.
    store = LocalJobStore(jobs_dir)
    queue = LocalDirQueue(jobs_dir / "queue")
    pipeline = FakePipeline()
    runner = JobRunner(store, queue, pipeline, WorkerSettings(local_jobs_dir=jobs_dir, work_dir=tmp_path))
    ran = []
    while (message := queue.claim(timeout=0.1)) is not None:
        runner.handle(message)
        ran.append(message.job_id)
    assert ids[0] in ran
    assert len(pipeline.calls) == 3  # the other three jobs, never the deleted one
    assert queued_messages(jobs_dir) == []
    assert ids[0] not in {p.name for p in stored_jobs(jobs_dir)}


def test_only_the_owner_can_delete(make_client, jobs_dir):
    client = make_client(auth_mode="hs256", jwt_secret=SECRET)
    alice, bob = bearer(hs256_token("alice")), bearer(hs256_token("bob"))
    files = {"file": ("a.mp3", song_bytes("MP3"))}
    job_id = client.post("/api/v1/transcribe", files=files, headers=alice).json()["job_id"]

    theirs = client.delete(f"/api/v1/jobs/{job_id}", headers=bob)
    assert theirs.status_code == 404
    assert theirs.json()["error"]["code"] == "job_not_found"
    assert client.delete(f"/api/v1/jobs/{job_id}").status_code == 401
    assert client.get(f"/api/v1/status/{job_id}", headers=alice).status_code == 200

    assert client.delete(f"/api/v1/jobs/{job_id}", headers=alice).status_code == 204
    assert stored_jobs(jobs_dir) == []


@pytest.mark.parametrize(
    ("job_id", "code"),
    [
        ("not-a-job", "invalid_job_id"),
        ("00000000-0000-0000-0000-000000000000", "invalid_job_id"),
        ("3f0b9a8e-6c1d-4b2a-9f3e-2d1c0b9a8e7f", "job_not_found"),
        ("..%2F..%2Fetc", "not_found"),  # never reaches the route
    ],
)
def test_bad_job_id_is_404_and_touches_nothing(client, jobs_dir, job_id, code):
    kept = upload(client)
    response = client.delete(f"/api/v1/jobs/{job_id}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == code
    assert [p.name for p in stored_jobs(jobs_dir)] == [kept]


def test_damaged_record_is_kept(client, jobs_dir):
    job_id = upload(client)
    (jobs_dir / "jobs" / job_id / "metadata.json").write_text("{ damaged")
    response = client.delete(f"/api/v1/jobs/{job_id}")
    assert response.status_code == 410
    assert (jobs_dir / "jobs" / job_id / "metadata.json").read_text() == "{ damaged"


def test_delete_is_documented_and_allowed_cross_origin(make_client):
    client = make_client(cors_origins=["https://app.example"])
    assert "delete" in client.get("/openapi.json").json()["paths"]["/api/v1/jobs/{job_id}"]
    preflight = client.options(
        "/api/v1/jobs/3f0b9a8e-6c1d-4b2a-9f3e-2d1c0b9a8e7f",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "DELETE"},
    )
    assert "DELETE" in preflight.headers["access-control-allow-methods"]
