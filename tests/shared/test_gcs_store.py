"""GcsJobStore against fake-gcs-server (the real HTTP API of GCS, no mocks of the client)."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import threading
from pathlib import Path

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from groovesheet_shared.errors import InvalidJobId, JobNotFound, OutputNotFound, StorageError
from groovesheet_shared.jobs import Job, JobResult, JobStatus, new_job_id
from groovesheet_shared.storage.gcs import GcsJobStore
from tests.emulators import PROJECT

pytestmark = pytest.mark.emulators


def make_job(size: int = 4) -> Job:
    return Job(
        job_id=new_job_id(),
        filename="song.mp3",
        content_type="audio/mpeg",
        size_bytes=size,
        input_name="input.mp3",
    )


def write_input(folder: Path, data: bytes = b"ID3\x00") -> Path:
    path = folder / "upload.mp3"
    path.write_bytes(data)
    return path


@pytest.fixture
def store(gcs_bucket: str) -> GcsJobStore:
    return GcsJobStore(bucket_name=gcs_bucket, project=PROJECT)


def object_names(bucket: str) -> set[str]:
    return {blob.name for blob in storage.Client(project=PROJECT).list_blobs(bucket)}


def test_create_get_fetch_and_layout(store: GcsJobStore, gcs_bucket: str, tmp_path: Path) -> None:
    job = make_job()
    store.create(job, write_input(tmp_path))

    assert store.location == gcs_bucket
    assert store.get(job.job_id) == job
    assert object_names(gcs_bucket) == {f"jobs/{job.job_id}/input.mp3", f"jobs/{job.job_id}/metadata.json"}
    bucket = storage.Client(project=PROJECT).bucket(gcs_bucket)
    assert bucket.get_blob(f"jobs/{job.job_id}/input.mp3").content_type == "audio/mpeg"
    assert bucket.get_blob(f"jobs/{job.job_id}/metadata.json").content_type == "application/json"

    (tmp_path / "work").mkdir()
    fetched = store.fetch_input(job.job_id, tmp_path / "work")
    assert fetched == tmp_path / "work" / "input.mp3"
    assert fetched.read_bytes() == b"ID3\x00"


def test_create_never_overwrites(store: GcsJobStore, tmp_path: Path) -> None:
    job = make_job()
    store.create(job, write_input(tmp_path))
    with pytest.raises(StorageError, match="already exists"):
        store.create(job, write_input(tmp_path, b"other"))
    assert store.get(job.job_id) == job


def test_missing_job_and_output(store: GcsJobStore, tmp_path: Path) -> None:
    missing = new_job_id()
    with pytest.raises(JobNotFound):
        store.get(missing)
    with pytest.raises(JobNotFound):
        store.update(missing, lambda job: job)
    with pytest.raises(JobNotFound):
        store.read_output(missing, "output.musicxml")
    with pytest.raises(JobNotFound):
        store.save_output(missing, "output.musicxml", write_input(tmp_path))

    job = make_job()
    store.create(job, write_input(tmp_path))
    with pytest.raises(OutputNotFound):
        store.read_output(job.job_id, "output.musicxml")


def test_outputs_are_stored_replaced_and_typed(store: GcsJobStore, gcs_bucket: str, tmp_path: Path) -> None:
    job = make_job()
    store.create(job, write_input(tmp_path))
    for name, data in (("output.musicxml", b"<score/>"), ("output.mid", b"MThd"), ("events.json", b"[]")):
        source = tmp_path / name
        source.write_bytes(data)
        store.save_output(job.job_id, name, source)
        assert store.read_output(job.job_id, name) == data

    (tmp_path / "output.musicxml").write_bytes(b"<score>v2</score>")
    store.save_output(job.job_id, "output.musicxml", tmp_path / "output.musicxml")
    assert store.read_output(job.job_id, "output.musicxml") == b"<score>v2</score>"

    bucket = storage.Client(project=PROJECT).bucket(gcs_bucket)
    assert bucket.get_blob(f"jobs/{job.job_id}/output.musicxml").content_type == (
        "application/vnd.recordare.musicxml+xml"
    )
    assert bucket.get_blob(f"jobs/{job.job_id}/output.mid").content_type == "audio/midi"
    with pytest.raises(ValueError):
        store.save_output(job.job_id, "metadata.json", tmp_path / "output.mid")
    with pytest.raises(ValueError):
        store.read_output(job.job_id, "../other/output.mid")


def test_update_and_no_op_update(store: GcsJobStore, gcs_bucket: str, tmp_path: Path) -> None:
    job = make_job()
    store.create(job, write_input(tmp_path))
    metadata = storage.Client(project=PROJECT).bucket(gcs_bucket).blob(f"jobs/{job.job_id}/metadata.json")

    started = store.update(job.job_id, lambda current: current.started("worker-1"))
    assert started.status is JobStatus.PROCESSING and store.get(job.job_id) == started
    metadata.reload()
    generation = metadata.generation

    assert store.update(job.job_id, lambda current: None) == started
    metadata.reload()
    assert metadata.generation == generation, "a change that returns None writes nothing"

    result = JobResult(total_notes=3, bpm=120.0, duration_seconds=2.0)
    assert store.update(job.job_id, lambda current: current.completed(result)).status is JobStatus.COMPLETED


def _increment(bucket: str, job_id: str, times: int) -> None:
    store = GcsJobStore(bucket_name=bucket, project=PROJECT)
    for _ in range(times):
        store.update(job_id, lambda job: job.model_copy(update={"attempts": job.attempts + 1}))


def test_concurrent_updates_from_threads_and_processes_lose_nothing(
    store: GcsJobStore, gcs_bucket: str, tmp_path: Path
) -> None:
    job = make_job()
    store.create(job, write_input(tmp_path))
    # Processes are the real setup (API and worker); spawn keeps the children clean of our threads.
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_increment, args=(gcs_bucket, job.job_id, 10)) for _ in range(2)]
    threads = [threading.Thread(target=_increment, args=(gcs_bucket, job.job_id, 5)) for _ in range(4)]
    # A worker-like writer appending progress checkpoints at the same time.
    stages = [f"stage-{i}" for i in range(10)]
    checkpoints = threading.Thread(
        target=lambda: [
            store.update(job.job_id, lambda j, s=s: j.model_copy(update={"message": f"{j.message}|{s}"}))
            for s in stages
        ]
    )
    for worker in [*processes, *threads, checkpoints]:
        worker.start()
    for worker in [*threads, checkpoints]:
        worker.join()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0

    final = store.get(job.job_id)
    assert final.attempts == 2 * 10 + 4 * 5
    assert final.message.split("|")[1:] == stages


def test_large_input_round_trips(store: GcsJobStore, tmp_path: Path) -> None:
    data = os.urandom(20 * 1024 * 1024 + 123)  # above the multipart limit: a resumable, chunked upload
    job = make_job(len(data))
    store.create(job, write_input(tmp_path, data))
    (tmp_path / "work").mkdir()
    fetched = store.fetch_input(job.job_id, tmp_path / "work")
    assert fetched.stat().st_size == len(data)
    assert hashlib.sha256(fetched.read_bytes()).digest() == hashlib.sha256(data).digest()


def test_delete_removes_everything(store: GcsJobStore, gcs_bucket: str, tmp_path: Path) -> None:
    job, other = make_job(), make_job()
    store.create(job, write_input(tmp_path))
    store.create(other, write_input(tmp_path))
    store.save_output(job.job_id, "output.mid", write_input(tmp_path))

    store.delete(job.job_id)
    store.delete(job.job_id)  # no error the second time

    with pytest.raises(JobNotFound):
        store.get(job.job_id)
    assert object_names(gcs_bucket) == {
        f"jobs/{other.job_id}/input.mp3",
        f"jobs/{other.job_id}/metadata.json",
    }


def test_missing_bucket_is_a_storage_error(gcs_emulator: str, tmp_path: Path) -> None:
    store = GcsJobStore(bucket_name="no-such-bucket-groovesheet", project=PROJECT)
    with pytest.raises(StorageError, match="no-such-bucket-groovesheet"):
        store.create(make_job(), write_input(tmp_path))


class _NoNetwork:
    """An HTTP session that fails the test if the store sends anything."""

    def request(self, *args: object, **kwargs: object) -> None:
        raise AssertionError(f"request sent: {args}")


@pytest.mark.parametrize(
    "bad_id", ["../../etc/passwd", "..", "", "a/b", "jobs/x", "00000000-0000-1000-8000-000000000000"]
)
def test_invalid_job_ids_rejected_before_any_request(bad_id: str, tmp_path: Path) -> None:
    client = storage.Client(project=PROJECT, credentials=AnonymousCredentials(), _http=_NoNetwork())
    store = GcsJobStore(bucket_name="bucket", client=client)
    source = write_input(tmp_path)
    calls = [
        lambda: store.get(bad_id),
        lambda: store.update(bad_id, lambda job: job),
        lambda: store.fetch_input(bad_id, tmp_path),
        lambda: store.save_output(bad_id, "output.mid", source),
        lambda: store.read_output(bad_id, "output.mid"),
        lambda: store.delete(bad_id),
    ]
    for call in calls:
        with pytest.raises(InvalidJobId):
            call()
