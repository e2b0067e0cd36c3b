"""LocalJobStore: layout, atomic writes, the update lock, and job ids that try to escape."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

import pytest

from groovesheet_shared.errors import InvalidJobId, JobNotFound, JobUnreadable, OutputNotFound, StorageError
from groovesheet_shared.jobs import Job, new_job_id
from groovesheet_shared.storage import local
from groovesheet_shared.storage.local import LocalJobStore, atomic_write_bytes

BAD_IDS = ["../../etc/passwd", "..", "", "/etc", "a/b", "00000000-0000-1000-8000-000000000000"]


def make_job() -> Job:
    return Job(
        job_id=new_job_id(),
        filename="song.mp3",
        content_type="audio/mpeg",
        size_bytes=4,
        input_name="input.mp3",
    )


@pytest.fixture
def store(tmp_path: Path) -> LocalJobStore:
    return LocalJobStore(tmp_path / "jobs-root")


@pytest.fixture
def upload(tmp_path: Path) -> Path:
    path = tmp_path / "upload.mp3"
    path.write_bytes(b"ID3\x00")
    return path


def test_round_trip(store: LocalJobStore, upload: Path, tmp_path: Path) -> None:
    job = make_job()
    store.create(job, upload)
    assert store.get(job.job_id) == job
    assert sorted(p.name for p in store.job_dir(job.job_id).iterdir() if not p.name.startswith(".")) == [
        "input.mp3",
        "metadata.json",
    ]
    assert store.fetch_input(job.job_id, tmp_path).read_bytes() == b"ID3\x00"

    store.save_output(job.job_id, "output.musicxml", upload)
    assert store.read_output(job.job_id, "output.musicxml") == b"ID3\x00"
    with pytest.raises(OutputNotFound):
        store.read_output(job.job_id, "output.mid")
    with pytest.raises(StorageError, match="already exists"):
        store.create(job, upload)

    store.delete(job.job_id)
    store.delete(job.job_id)
    with pytest.raises(JobNotFound):
        store.get(job.job_id)


def test_atomic_write_leaves_old_file_and_no_temp_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "metadata.json"
    atomic_write_bytes(target, b'{"v": 1}')

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(local.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(target, b'{"v": 2}')
    assert target.read_bytes() == b'{"v": 1}'
    assert [p.name for p in tmp_path.iterdir()] == ["metadata.json"]


def test_failed_create_leaves_nothing(
    store: LocalJobStore, upload: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = make_job()

    def broken_write(path: Path, data: bytes) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(local, "atomic_write_bytes", broken_write)
    # A full disk is a storage problem the API answers 503, never an unexpected OSError (500).
    with pytest.raises(StorageError, match="disk full"):
        store.create(job, upload)
    assert not store.job_dir(job.job_id).exists()


def test_readers_never_see_a_partial_metadata_file(store: LocalJobStore, upload: Path) -> None:
    job = make_job()
    store.create(job, upload)
    done = threading.Event()
    errors: list[Exception] = []

    def read() -> None:
        while not done.is_set():
            try:
                store.get(job.job_id)
            except Exception as exc:
                errors.append(exc)
                return

    reader = threading.Thread(target=read)
    reader.start()
    for i in range(200):
        # Lengths vary so a torn write would show up as invalid JSON.
        store.update(job.job_id, lambda j, i=i: j.model_copy(update={"message": "x" * (i * 37 % 5000)}))
    done.set()
    reader.join()
    assert errors == []


def _increment(root: Path, job_id: str, times: int) -> None:
    store = LocalJobStore(root)
    for _ in range(times):
        store.update(job_id, lambda job: job.model_copy(update={"attempts": job.attempts + 1}))


def test_update_lock_loses_nothing_across_threads_and_processes(store: LocalJobStore, upload: Path) -> None:
    job = make_job()
    store.create(job, upload)
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_increment, args=(store.root, job.job_id, 25)) for _ in range(3)]
    threads = [threading.Thread(target=_increment, args=(store.root, job.job_id, 25)) for _ in range(4)]
    for worker in [*processes, *threads]:
        worker.start()
    for thread in threads:
        thread.join()
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert store.get(job.job_id).attempts == 7 * 25


@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_path_traversal_job_ids_rejected(
    store: LocalJobStore, upload: Path, tmp_path: Path, bad_id: str
) -> None:
    calls = [
        lambda: store.get(bad_id),
        lambda: store.update(bad_id, lambda job: job),
        lambda: store.fetch_input(bad_id, tmp_path),
        lambda: store.save_output(bad_id, "output.mid", upload),
        lambda: store.read_output(bad_id, "output.mid"),
        lambda: store.delete(bad_id),
    ]
    for call in calls:
        with pytest.raises(InvalidJobId):
            call()
    assert upload.exists()


def test_output_names_cannot_escape_or_clobber_metadata(store: LocalJobStore, upload: Path) -> None:
    job = make_job()
    store.create(job, upload)
    for name in ("../x", "metadata.json", ".lock", ""):
        with pytest.raises(ValueError):
            store.save_output(job.job_id, name, upload)
    assert store.get(job.job_id) == job


def test_a_jobs_folder_that_cannot_be_written_is_a_storage_error(store: LocalJobStore, upload: Path) -> None:
    # Running as root, permissions do not stop writes; a file where the folder should be does.
    store.jobs_dir.rmdir()
    store.jobs_dir.write_text("not a folder")
    with pytest.raises(StorageError, match="writable"):
        store.create(make_job(), upload)


def test_damaged_metadata_is_unreadable_and_left_as_it_is(store: LocalJobStore, upload: Path) -> None:
    job = make_job()
    store.create(job, upload)
    metadata = store.job_dir(job.job_id) / "metadata.json"
    metadata.write_bytes(b'{"job_id": "' + job.job_id.encode() + b'", "status": "queu')
    damaged = metadata.read_bytes()
    with pytest.raises(JobUnreadable, match="Upload the song again"):
        store.get(job.job_id)
    with pytest.raises(JobUnreadable):
        store.update(job.job_id, lambda j: j.started("w"))
    assert metadata.read_bytes() == damaged
