"""The per-owner index behind history and the active-job limit, on the local store and on fake-gcs-server."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from google.cloud import storage

from groovesheet_shared.errors import TooManyActiveJobs
from groovesheet_shared.jobs import Job, JobResult, new_job_id
from groovesheet_shared.storage import JobStore, LocalJobStore
from groovesheet_shared.storage.base import owner_key
from tests.emulators import PROJECT

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["local", pytest.param("gcs", marks=pytest.mark.emulators)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> JobStore:
    if request.param == "local":
        return LocalJobStore(tmp_path / "root")
    from groovesheet_shared.storage.gcs import GcsJobStore

    return GcsJobStore(bucket_name=request.getfixturevalue("gcs_bucket"), project=PROJECT)


def make_job(owner: str | None, minutes: int = 0) -> Job:
    return Job(
        job_id=new_job_id(),
        filename="song.mp3",
        content_type="audio/mpeg",
        size_bytes=4,
        input_name="input.mp3",
        owner=owner,
        created_at=T0 + timedelta(minutes=minutes),
    )


def create(store: JobStore, tmp_path: Path, owner: str | None, minutes: int = 0, **kw: object) -> Job:
    source = tmp_path / f"upload-{new_job_id()}.mp3"
    source.write_bytes(b"ID3\x00")
    job = make_job(owner, minutes)
    store.create(job, source, **kw)  # type: ignore[arg-type]
    return job


def finish(store: JobStore, job: Job) -> None:
    result = JobResult(total_notes=1, bpm=120, duration_seconds=3)
    store.update(job.job_id, lambda j: j.started("w").completed(result))


def all_pages(store: JobStore, owner: str, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    after = None
    while True:
        jobs, after = store.list_owned(owner, limit, after)
        pages.append([job.job_id for job in jobs])
        if after is None:
            return pages


def test_history_is_newest_first_paginated_and_only_the_owners(store: JobStore, tmp_path: Path) -> None:
    mine = [create(store, tmp_path, "alice", minutes=m) for m in (3, 1, 4, 2, 0)]
    create(store, tmp_path, "bob", minutes=5)
    create(store, tmp_path, None, minutes=6)
    newest_first = [j.job_id for j in sorted(mine, key=lambda j: j.created_at, reverse=True)]

    assert all_pages(store, "alice", 2) == [newest_first[0:2], newest_first[2:4], newest_first[4:5]]
    assert all_pages(store, "alice", 5) == [newest_first]
    assert all_pages(store, "carol", 3) == [[]]
    assert [j.owner for j in store.list_owned("bob", 10)[0]] == ["bob"]


def test_same_created_at_is_ordered_by_id_and_never_repeats(store: JobStore, tmp_path: Path) -> None:
    ids = {create(store, tmp_path, "alice", minutes=0).job_id for _ in range(5)}
    pages = all_pages(store, "alice", 2)
    flat = [job_id for page in pages for job_id in page]
    assert flat == sorted(ids, reverse=True)


def test_deleted_jobs_leave_the_history_and_the_index(store: JobStore, tmp_path: Path) -> None:
    first, second, third = (create(store, tmp_path, "alice", minutes=m) for m in range(3))
    jobs, after = store.list_owned("alice", 1)
    assert [j.job_id for j in jobs] == [third.job_id]

    store.delete(second.job_id)  # between two pages
    rest, _ = store.list_owned("alice", 5, after)
    assert [j.job_id for j in rest] == [first.job_id]
    assert [e.job_id for e in store._read_index("alice").jobs] == [first.job_id, third.job_id]


def test_active_count_follows_the_jobs(store: JobStore, tmp_path: Path) -> None:
    jobs = [create(store, tmp_path, "alice", minutes=m) for m in range(3)]
    create(store, tmp_path, "bob")
    assert store.count_active("alice") == 3

    finish(store, jobs[0])
    store.update(jobs[1].job_id, lambda j: j.started("w").failed("bad", "bad input"))
    assert store.count_active("alice") == 1
    # Finished jobs are remembered as such, so the next count reads only the active one.
    assert [e.active for e in store._read_index("alice").jobs] == [False, False, True]
    store.delete(jobs[2].job_id)
    assert store.count_active("alice") == 0
    assert store.count_active("bob") == 1


def test_create_refuses_over_the_limit_and_keeps_nothing(store: JobStore, tmp_path: Path) -> None:
    done = create(store, tmp_path, "alice", max_active=2)
    finish(store, done)
    create(store, tmp_path, "alice", max_active=2)
    create(store, tmp_path, "alice", max_active=2)

    refused = make_job("alice")
    source = tmp_path / "one-more.mp3"
    source.write_bytes(b"ID3\x00")
    with pytest.raises(TooManyActiveJobs) as caught:
        store.create(refused, source, max_active=2)
    assert caught.value.active == 2
    assert "You already have 2 jobs queued or running" in caught.value.message
    assert "at most 2" in caught.value.message
    assert refused.job_id not in {e.job_id for e in store._read_index("alice").jobs}
    with pytest.raises(Exception, match="no job"):
        store.get(refused.job_id)
    # Another owner is not affected.
    create(store, tmp_path, "bob", max_active=2)


def test_concurrent_uploads_cannot_slip_past_the_limit(store: JobStore, tmp_path: Path) -> None:
    outcomes: list[str] = []
    lock = threading.Lock()

    def upload(i: int) -> None:
        try:
            create(store, tmp_path, "alice", minutes=i, max_active=3)
            outcome = "stored"
        except TooManyActiveJobs:
            outcome = "refused"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["refused"] * 5 + ["stored"] * 3
    assert store.count_active("alice") == 3
    assert len(store.list_owned("alice", 100)[0]) == 3


@pytest.mark.emulators
def test_gcs_index_is_one_object_per_owner(gcs_bucket: str, tmp_path: Path) -> None:
    from groovesheet_shared.storage.gcs import GcsJobStore

    store = GcsJobStore(bucket_name=gcs_bucket, project=PROJECT)
    job = create(store, tmp_path, "user|with/odd:chars")
    names = {b.name for b in storage.Client(project=PROJECT).list_blobs(gcs_bucket)}
    index_name = f"owners/{owner_key('user|with/odd:chars')}/index.json"
    assert names == {f"jobs/{job.job_id}/input.mp3", f"jobs/{job.job_id}/metadata.json", index_name}
    store.delete(job.job_id)
    names = {b.name for b in storage.Client(project=PROJECT).list_blobs(gcs_bucket)}
    assert names == {index_name}
    assert store.list_owned("user|with/odd:chars", 10) == ([], None)


def test_without_a_limit_create_reads_no_other_job(tmp_path: Path) -> None:
    class CountingStore(LocalJobStore):
        reads = 0

        def get(self, job_id: str) -> Job:
            CountingStore.reads += 1
            return super().get(job_id)

    store = CountingStore(tmp_path / "root")
    for minutes in range(5):
        create(store, tmp_path, "alice", minutes=minutes)
    assert CountingStore.reads == 0
    create(store, tmp_path, "alice", minutes=9, max_active=10)
    assert CountingStore.reads == 5  # with a limit, each job still marked active is read once
    assert store.count_active("alice") == 6
