"""JobStore.delete on the local store and on fake-gcs-server: everything goes, and nothing comes back."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from google.cloud import storage

from groovesheet_shared.errors import JobNotFound
from groovesheet_shared.jobs import Job, JobResult
from groovesheet_shared.storage import JobStore, LocalJobStore
from tests.emulators import PROJECT
from tests.shared.test_owner_index import create


@pytest.fixture(params=["local", pytest.param("gcs", marks=pytest.mark.emulators)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> JobStore:
    if request.param == "local":
        return LocalJobStore(tmp_path / "root")
    from groovesheet_shared.storage.gcs import GcsJobStore

    return GcsJobStore(bucket_name=request.getfixturevalue("gcs_bucket"), project=PROJECT)


def stored(store: JobStore, job_id: str) -> list[str]:
    if isinstance(store, LocalJobStore):
        folder = store.jobs_dir / job_id
        return sorted(p.name for p in folder.iterdir()) if folder.exists() else []
    client = storage.Client(project=PROJECT)
    return sorted(
        b.name.rsplit("/", 1)[1] for b in client.list_blobs(store.location, prefix=f"jobs/{job_id}/")
    )


def test_delete_removes_input_outputs_metadata_and_index_entry(store: JobStore, tmp_path: Path) -> None:
    job = create(store, tmp_path, "alice")
    kept = create(store, tmp_path, "alice", minutes=1)
    for name in ("output.musicxml", "output.mid", "events.json"):
        (tmp_path / name).write_bytes(b"x")
        store.save_output(job.job_id, name, tmp_path / name)
    assert len(stored(store, job.job_id)) >= 5

    store.delete(job.job_id)

    assert stored(store, job.job_id) == []
    with pytest.raises(JobNotFound):
        store.get(job.job_id)
    assert [j.job_id for j in store.list_owned("alice", 10)[0]] == [kept.job_id]
    assert [e.job_id for e in store._read_index("alice").jobs] == [kept.job_id]
    assert store.get(kept.job_id) == kept
    store.delete(job.job_id)  # again: nothing there, no error


def test_writes_after_delete_are_job_not_found(store: JobStore, tmp_path: Path) -> None:
    job = create(store, tmp_path, "alice")
    store.delete(job.job_id)
    (tmp_path / "out").write_bytes(b"x")
    with pytest.raises(JobNotFound):
        store.update(job.job_id, lambda j: j.started("w"))
    with pytest.raises(JobNotFound):
        store.save_output(job.job_id, "output.mid", tmp_path / "out")
    assert stored(store, job.job_id) == []


def test_delete_racing_with_updates_never_brings_the_job_back(store: JobStore, tmp_path: Path) -> None:
    jobs = [create(store, tmp_path, "alice", minutes=m) for m in range(3)]
    result = JobResult(total_notes=1, bpm=120, duration_seconds=3)
    outcomes: list[str] = []

    def worker(job: Job) -> None:
        try:
            store.update(job.job_id, lambda j: j.started("w"))
            for percent in range(31, 99):
                store.update(job.job_id, lambda j, p=percent: j.progressed(p, "x", "x"))
            store.update(job.job_id, lambda j: j.completed(result))
            outcomes.append("finished")
        except JobNotFound:
            outcomes.append("stopped")

    threads = [threading.Thread(target=worker, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for job in jobs:
        store.delete(job.job_id)
    for thread in threads:
        thread.join()

    assert len(outcomes) == 3
    for job in jobs:
        assert stored(store, job.job_id) == []
        with pytest.raises(JobNotFound):
            store.get(job.job_id)
    assert store.list_owned("alice", 10) == ([], None)
