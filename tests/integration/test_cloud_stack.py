"""Production backends end to end on the real emulators: GCS (fake-gcs-server) and Pub/Sub.

The API and the worker run as separate processes with USE_CLOUD_STORAGE=true, exactly as on
Cloud Run, only with the emulator hosts set.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import httpx
import pytest

from groovesheet_shared.jobs import JobResult
from groovesheet_shared.storage.gcs import GcsJobStore
from tests.audio_samples import song_bytes
from tests.emulators import PROJECT
from tests.integration.stack import free_port, service_env, start_api, start_worker, stop

pytestmark = pytest.mark.emulators


@pytest.fixture
def cloud_env(tmp_path, gcs_bucket, pubsub_topic_subscription, pubsub_emulator, gcs_emulator):
    names = pubsub_topic_subscription
    return service_env(
        tmp_path / "unused-local-dir",
        USE_CLOUD_STORAGE="true",
        GCS_BUCKET_NAME=gcs_bucket,
        GCP_PROJECT=PROJECT,
        WORKER_TOPIC=names.topic,
        WORKER_SUBSCRIPTION=names.subscription,
        PUBSUB_EMULATOR_HOST=pubsub_emulator,
        STORAGE_EMULATOR_HOST=gcs_emulator,
        PUBSUB_LEASE_EXTENSION_SECONDS="10",
        FAKE_LOG=str(tmp_path / "processed.log"),
        PORT="0",
    )


@pytest.fixture
def api(cloud_env):
    port = free_port()
    process = start_api(cloud_env, port)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=2).json()["storage"] == "gcs":
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            raise AssertionError(stop(process))
        time.sleep(0.2)
    with httpx.Client(base_url=base, timeout=30) as client:
        yield client
    stop(process)


def poll_until_final(client: httpx.Client, status_url: str, timeout: float) -> list[tuple[str, int]]:
    seen: list[tuple[str, int]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(status_url).json()
        if not seen or seen[-1] != (body["status"], body["progress"]):
            seen.append((body["status"], body["progress"]))
        if body["status"] in ("completed", "failed"):
            return seen
        time.sleep(0.1)
    raise AssertionError(f"job did not finish: {seen}")


def test_upload_pull_progress_download_on_emulators(api, cloud_env, gcs_bucket):
    created = api.post("/api/v1/transcribe", files={"file": ("Rosanna.flac", song_bytes("FLAC"))})
    assert created.status_code == 202, created.text
    job_id = created.json()["job_id"]
    store = GcsJobStore(gcs_bucket, project=PROJECT)
    assert store.get(job_id).input_name == "input.flac"

    worker = start_worker({**cloud_env, "FAKE_STAGE_SECONDS": "0.2"}, "tests.worker.fake_worker")
    try:
        seen = poll_until_final(api, created.json()["status_url"], timeout=90)
    finally:
        worker_log = stop(worker)
    assert seen[-1] == ("completed", 100), worker_log
    progress = [p for _, p in seen]
    assert progress == sorted(progress)
    assert any(status == "processing" for status, _ in seen)

    download = api.get(created.json()["download_url"])
    assert download.status_code == 200
    assert download.content == b"<score-partwise/>"
    assert "Rosanna_transcription.musicxml" in download.headers["content-disposition"]
    assert api.get(f"/api/v1/download/{job_id}?format=midi").content == b"MThd"


def test_killed_worker_job_is_redelivered_and_completed_once(api, cloud_env, gcs_bucket, tmp_path):
    created = api.post("/api/v1/transcribe", files={"file": ("song.wav", song_bytes("WAV"))})
    job_id = created.json()["job_id"]
    store = GcsJobStore(gcs_bucket, project=PROJECT)

    doomed = start_worker({**cloud_env, "FAKE_STAGE_SECONDS": "3"}, "tests.worker.fake_worker")
    deadline = time.monotonic() + 60
    while store.get(job_id).progress < 35:
        assert time.monotonic() < deadline, stop(doomed)
        time.sleep(0.2)
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait(timeout=10)
    assert store.get(job_id).status == "processing"

    # The emulator keeps dead streams registered, so redelivery can take a few ack deadlines.
    successor = start_worker({**cloud_env, "FAKE_STAGE_SECONDS": "0"}, "tests.worker.fake_worker")
    try:
        seen = poll_until_final(api, created.json()["status_url"], timeout=150)
    finally:
        successor_log = stop(successor)
    assert seen[-1] == ("completed", 100), successor_log

    job = store.get(job_id)
    assert job.attempts == 2
    from google.cloud import storage

    bucket = storage.Client(project=PROJECT).bucket(gcs_bucket)
    blobs = sorted(b.name for b in bucket.list_blobs(prefix=f"jobs/{job_id}/"))
    assert blobs == [
        f"jobs/{job_id}/{name}"
        for name in ("events.json", "input.wav", "metadata.json", "output.mid", "output.musicxml")
    ]
    processed = (tmp_path / "processed.log").read_text().split()[0::2]
    assert processed == [job_id, job_id]  # started twice, finished once


def test_status_reads_during_worker_updates_lose_nothing(api, cloud_env, gcs_bucket):
    created = api.post("/api/v1/transcribe", files={"file": ("song.wav", song_bytes("WAV"))})
    job_id = created.json()["job_id"]
    worker_store = GcsJobStore(gcs_bucket, project=PROJECT)
    api_store = GcsJobStore(gcs_bucket, project=PROJECT)
    stop_reading = threading.Event()
    reads: list[int] = []

    def read_status() -> None:
        while not stop_reading.is_set():
            reads.append(api.get(created.json()["status_url"]).json()["progress"])

    def mark_attempt(job):
        return job.model_copy(update={"attempts": job.attempts + 1})

    readers = [threading.Thread(target=read_status) for _ in range(2)]
    for reader in readers:
        reader.start()
    try:
        writers = [
            threading.Thread(target=lambda: [worker_store.update(job_id, mark_attempt) for _ in range(10)]),
            threading.Thread(target=lambda: [api_store.update(job_id, mark_attempt) for _ in range(10)]),
        ]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
    finally:
        stop_reading.set()
        for reader in readers:
            reader.join()
    assert worker_store.get(job_id).attempts == 20
    assert len(reads) > 0
    done = worker_store.update(
        job_id, lambda j: j.started("w").completed(JobResult(total_notes=1, bpm=90, duration_seconds=1))
    )
    assert api.get(created.json()["status_url"]).json()["status"] == done.status == "completed"
