"""LocalDirQueue: exactly-one claim across processes, nack, and claims left by dead workers."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest

from groovesheet_shared.errors import InvalidJobId
from groovesheet_shared.jobs import new_job_id
from groovesheet_shared.queue import JobQueue, QueueMessage
from groovesheet_shared.queue.local import LocalDirQueue


def test_publish_claim_ack_in_order(tmp_path: Path) -> None:
    queue = LocalDirQueue(tmp_path, poll_interval=0.01)
    ids = [new_job_id() for _ in range(3)]
    for job_id in ids:
        queue.publish(job_id, "bucket")
    claimed = [queue.claim(timeout=1) for _ in ids]
    assert [m.job_id for m in claimed if m] == ids
    assert all(m is not None and m.bucket == "bucket" and m.delivery_attempt == 1 for m in claimed)
    for message in claimed:
        assert message is not None
        queue.ack(message)
    assert queue.claim(timeout=0.05) is None
    assert list((tmp_path / "claimed").iterdir()) == []


def test_claim_waits_up_to_timeout(tmp_path: Path) -> None:
    queue = LocalDirQueue(tmp_path, poll_interval=0.01)
    started = time.monotonic()
    assert queue.claim(timeout=0.3) is None
    assert 0.25 <= time.monotonic() - started < 2


def test_nack_redelivers_with_next_attempt(tmp_path: Path) -> None:
    queue = LocalDirQueue(tmp_path, poll_interval=0.01)
    queue.publish(job_id := new_job_id())
    for attempt in (1, 2, 3):
        message = queue.claim(timeout=1)
        assert message is not None and (message.job_id, message.delivery_attempt) == (job_id, attempt)
        queue.nack(message)
    assert queue.pending_count() == 1


def test_invalid_job_id_is_not_queued(tmp_path: Path) -> None:
    queue = LocalDirQueue(tmp_path)
    with pytest.raises(InvalidJobId):
        queue.publish("../../etc/passwd")
    assert queue.pending_count() == 0


def _drain(root: Path, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    queue = LocalDirQueue(root, poll_interval=0.01)
    mine = []
    while (message := queue.claim(timeout=0.2)) is not None:
        mine.append(message.job_id)
        queue.ack(message)
    results.put(mine)


def test_racing_processes_claim_each_job_exactly_once(tmp_path: Path) -> None:
    queue = LocalDirQueue(tmp_path)
    ids = [new_job_id() for _ in range(300)]
    for job_id in ids:
        queue.publish(job_id)
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [context.Process(target=_drain, args=(tmp_path, results)) for _ in range(6)]
    for worker in workers:
        worker.start()
    claimed = [job_id for _ in workers for job_id in results.get(timeout=120)]
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    assert sorted(claimed) == sorted(ids), "every job claimed exactly once"
    assert queue.pending_count() == 0


def _claim_and_hang(root: Path, ready: multiprocessing.Event) -> None:  # type: ignore[valid-type]
    LocalDirQueue(root).claim(timeout=5)
    ready.set()
    time.sleep(600)


def test_requeue_abandoned_returns_claims_of_dead_workers_only(tmp_path: Path) -> None:
    queue = LocalDirQueue(tmp_path, poll_interval=0.01)
    dead_job, live_job = new_job_id(), new_job_id()
    queue.publish(dead_job)
    queue.publish(live_job)

    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    worker = context.Process(target=_claim_and_hang, args=(tmp_path, ready))
    worker.start()
    assert ready.wait(timeout=60)
    assert queue.requeue_abandoned() == 0, "the worker is alive: its claim stays"
    os.kill(worker.pid, signal.SIGKILL)  # type: ignore[arg-type]
    worker.join(timeout=10)

    held = queue.claim(timeout=1)  # claimed by this (live) process
    assert held is not None and held.job_id == live_job
    assert queue.requeue_abandoned() == 1
    assert queue.requeue_abandoned() == 0

    back = queue.claim(timeout=1)
    assert back is not None and (back.job_id, back.delivery_attempt) == (dead_job, 2)
    body = json.loads(Path(back.handle).read_text())
    assert body["claimed_by"]["pid"] == os.getpid()


def test_an_unreadable_message_is_set_aside_and_the_next_one_delivered(tmp_path: Path) -> None:
    queue = LocalDirQueue(tmp_path, poll_interval=0.01)
    (queue.pending / "00000000000000000001-garbage.json").write_text("{not json")
    (queue.pending / "00000000000000000002-bad-id.json").write_text(json.dumps({"job_id": "../../etc"}))
    job_id = new_job_id()
    queue.publish(job_id, "bucket-a")
    message = queue.claim(timeout=1)
    assert message is not None and (message.job_id, message.bucket) == (job_id, "bucket-a")
    assert sorted(p.name for p in queue.rejected.iterdir()) == [
        "00000000000000000001-garbage.json",
        "00000000000000000002-bad-id.json",
    ]


def test_housekeeping_is_part_of_the_queue_port() -> None:
    class Incomplete(JobQueue):
        def publish(self, job_id: str, bucket: str | None = None) -> None: ...
        def claim(self, timeout: float) -> QueueMessage | None: ...
        def ack(self, message: QueueMessage) -> None: ...
        def nack(self, message: QueueMessage) -> None: ...

    with pytest.raises(TypeError, match="requeue_abandoned"):
        Incomplete()  # type: ignore[abstract]
