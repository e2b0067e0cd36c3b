"""The job runner: every job ends completed or failed, messages are acked only when settled."""

from __future__ import annotations

import threading
import time

import pytest

from groovesheet_shared.errors import QueueError, StorageError, TranscriptionError
from groovesheet_shared.jobs import JobOptions, JobResult
from groovesheet_shared.queue import LocalDirQueue
from groovesheet_worker.runner import JobRunner, WorkerShutdown
from groovesheet_worker.transcription import CHECKPOINTS
from tests.worker.conftest import add_job
from tests.worker.fake_pipeline import FakePipeline


class RecordingStore:
    """Wraps the real store to watch every state the job passes through."""

    def __init__(self, store):
        self._store = store
        self.states: list[tuple[str, int, str]] = []

    def update(self, job_id, change):
        job = self._store.update(job_id, change)
        self.states.append((job.status.value, job.progress, job.stage))
        return job

    def __getattr__(self, name):
        return getattr(self._store, name)


def run_one(runner: JobRunner, queue) -> None:
    message = queue.claim(timeout=1)
    assert message is not None
    runner.handle(message)


def test_job_moves_through_every_checkpoint_to_completed(store, queue, settings, tmp_path):
    job_id = add_job(store, queue, tmp_path)
    recording = RecordingStore(store)
    runner = JobRunner(recording, queue, FakePipeline(), settings)
    run_one(runner, queue)

    job = store.get(job_id)
    assert job.status == "completed"
    assert job.progress == 100
    assert job.result is not None and job.result.total_notes == 1
    assert job.completed_at is not None and job.attempts == 1
    assert [p for _, p, _ in recording.states] == [p for p, _ in CHECKPOINTS.values()]
    assert recording.states[0][0] == "processing"
    assert store.read_output(job_id, "output.musicxml") == b"<score-partwise/>"
    assert store.read_output(job_id, "events.json") == b"{}"
    assert queue.pending_count() == 0
    assert list(queue.claimed.iterdir()) == []


def test_crash_inside_the_pipeline_marks_the_job_failed(store, queue, settings, tmp_path):
    job_id = add_job(store, queue, tmp_path)

    def crashing(audio_path, options, work_dir, progress):
        progress(35, "separating", "Separating")
        raise ZeroDivisionError("bug")

    run_one(JobRunner(store, queue, crashing, settings), queue)

    job = store.get(job_id)
    assert job.status == "failed"
    assert job.error is not None and job.error.code == "internal_error"
    assert "try uploading" in job.error.message
    assert queue.pending_count() == 0  # acked: a bug would fail the same way again


def test_bad_input_fails_for_good_with_its_reason(store, queue, settings, tmp_path):
    job_id = add_job(store, queue, tmp_path)

    def silent(*_):
        raise TranscriptionError("The song is silent: there are no drums to write down.", code="silent_audio")

    run_one(JobRunner(store, queue, silent, settings), queue)
    job = store.get(job_id)
    assert job.status == "failed"
    assert job.error.code == "silent_audio"
    assert job.message == "The song is silent: there are no drums to write down."
    assert queue.pending_count() == 0


def test_transient_failure_is_retried_then_failed(store, queue, settings, tmp_path):
    job_id = add_job(store, queue, tmp_path)
    calls = []

    def flaky(*_):
        calls.append(1)
        raise StorageError("bucket hiccup")

    runner = JobRunner(store, queue, flaky, settings.model_copy(update={"max_attempts": 3}))
    run_one(runner, queue)
    assert store.get(job_id).status == "queued"
    assert "retrying" in store.get(job_id).message
    run_one(runner, queue)
    run_one(runner, queue)
    job = store.get(job_id)
    assert len(calls) == 3
    assert job.status == "failed"
    assert job.error.code == "storage_error"
    assert queue.pending_count() == 0


def test_retryable_transcription_error_then_success(store, queue, settings, tmp_path):
    job_id = add_job(store, queue, tmp_path)
    pipeline = FakePipeline()
    attempts = []

    def once_flaky(audio_path, options, work_dir, progress):
        attempts.append(1)
        if len(attempts) == 1:
            raise TranscriptionError("separation ran out of memory", code="separation_failed", retryable=True)
        return pipeline(audio_path, options, work_dir, progress)

    runner = JobRunner(store, queue, once_flaky, settings)
    run_one(runner, queue)
    run_one(runner, queue)
    job = store.get(job_id)
    assert job.status == "completed"
    assert job.attempts == 2


def test_repeat_delivery_of_a_completed_job_does_no_work(store, queue, settings, tmp_path):
    job_id = add_job(store, queue, tmp_path)
    store.update(
        job_id, lambda j: j.started("w").completed(JobResult(total_notes=5, bpm=100, duration_seconds=3))
    )
    pipeline = FakePipeline()
    run_one(JobRunner(store, queue, pipeline, settings), queue)
    assert pipeline.calls == []
    assert store.get(job_id).result.total_notes == 5
    assert queue.pending_count() == 0


def test_job_left_processing_by_a_dead_worker_is_run_again(store, queue, settings, tmp_path):
    job_id = add_job(store, queue, tmp_path)
    store.update(job_id, lambda j: j.started("dead-worker").progressed(55, "separated", "Drums separated"))
    run_one(JobRunner(store, queue, FakePipeline(), settings), queue)
    job = store.get(job_id)
    assert job.status == "completed"
    assert job.attempts == 2
    assert job.worker == "test-worker"


def test_message_for_a_missing_job_is_dropped(store, queue, settings):
    queue.publish("3f0b9a8e-6c1d-4b2a-9f3e-2d1c0b9a8e7f")
    pipeline = FakePipeline()
    run_one(JobRunner(store, queue, pipeline, settings), queue)
    assert pipeline.calls == [] and queue.pending_count() == 0


def test_shutdown_mid_job_gives_the_job_back(store, queue, settings, tmp_path):
    job_id = add_job(store, queue, tmp_path)
    runner = JobRunner(store, queue, FakePipeline(), settings)
    runner.stop.set()  # as SIGTERM would: the next progress report stops the job
    message = queue.claim(timeout=1)
    with pytest.raises(WorkerShutdown):
        runner.handle(message)
    job = store.get(job_id)
    assert job.status == "queued"
    assert queue.pending_count() == 1
    assert queue.claim(timeout=1).delivery_attempt == 2


def test_run_forever_processes_until_stopped(store, queue, settings, tmp_path):
    job_ids = [add_job(store, queue, tmp_path) for _ in range(3)]
    pipeline = FakePipeline()
    runner = JobRunner(store, queue, pipeline, settings)

    original_claim = queue.claim

    def claim_then_stop_when_empty(timeout):
        message = original_claim(timeout)
        if message is None:
            runner.stop.set()
        return message

    queue.claim = claim_then_stop_when_empty
    runner.run_forever()
    assert [store.get(j).status for j in job_ids] == ["completed"] * 3
    assert runner.health.jobs_completed == 3


def test_shutdown_after_the_job_is_settled_acks_instead_of_giving_it_back(store, queue, settings, tmp_path):
    job_id = add_job(store, queue, tmp_path)
    runner = JobRunner(store, queue, FakePipeline(), settings)
    original_ack = queue.ack
    interrupted = []

    def ack_interrupted_once(message):
        # SIGTERM landing between the 'completed' write and the ack, as it can in production.
        if not interrupted:
            interrupted.append(message)
            raise WorkerShutdown()
        original_ack(message)

    queue.ack = ack_interrupted_once
    with pytest.raises(WorkerShutdown):
        runner.handle(queue.claim(timeout=1))
    assert store.get(job_id).status == "completed"
    assert queue.pending_count() == 0
    assert list(queue.claimed.iterdir()) == []


def test_a_job_that_runs_too_long_is_failed_not_left_processing(store, queue, settings, tmp_path):
    job_id = add_job(store, queue, tmp_path)

    def hangs(audio_path, options, work_dir, progress):
        progress(35, "separating", "Separating")
        time.sleep(30)

    runner = JobRunner(store, queue, hangs, settings.model_copy(update={"job_timeout_seconds": 0.5}))
    run_one(runner, queue)

    job = store.get(job_id)
    assert job.status == "failed"
    assert job.error.code == "job_timeout"
    assert "shorter" in job.error.message
    assert queue.pending_count() == 0


def test_requeue_stamps_updated_at(store, queue, settings, tmp_path):
    job_id = add_job(store, queue, tmp_path)
    before = store.get(job_id).updated_at

    def flaky(*_):
        time.sleep(0.01)
        raise StorageError("bucket hiccup")

    run_one(JobRunner(store, queue, flaky, settings), queue)
    job = store.get(job_id)
    assert job.status == "queued" and job.progress == 0
    assert job.updated_at > before
    # Stamped by the requeue itself, after the pipeline's 10 ms, not left at the start.
    assert (job.updated_at - job.started_at).total_seconds() >= 0.01


def test_message_for_another_bucket_fails_the_job_clearly(store, queue, settings, tmp_path):
    job_id = add_job(store, queue, tmp_path)
    queue.claim(timeout=1)  # drop the message add_job published for this store
    queue.publish(job_id, "gs://someone-elses-bucket")
    pipeline = FakePipeline()
    run_one(JobRunner(store, queue, pipeline, settings), queue)

    assert pipeline.calls == []
    job = store.get(job_id)
    assert job.status == "failed" and job.error.code == "wrong_bucket"
    assert "try again later" in job.error.message
    assert queue.pending_count() == 0  # acked: another delivery would meet the same settings


def test_message_for_another_bucket_and_unknown_job_is_dropped(store, queue, settings):
    queue.publish("3f0b9a8e-6c1d-4b2a-9f3e-2d1c0b9a8e7f", "other-bucket")
    run_one(JobRunner(store, queue, FakePipeline(), settings), queue)
    assert queue.pending_count() == 0 and list(queue.claimed.iterdir()) == []


def test_message_for_a_damaged_job_is_dropped_and_the_record_kept(store, queue, settings, tmp_path):
    job_id = add_job(store, queue, tmp_path)
    metadata = store.job_dir(job_id) / "metadata.json"
    metadata.write_text("{ damaged")
    pipeline = FakePipeline()
    run_one(JobRunner(store, queue, pipeline, settings), queue)
    assert pipeline.calls == [] and queue.pending_count() == 0
    assert metadata.read_text() == "{ damaged"


def test_job_deleted_while_it_runs_is_dropped_not_retried(store, queue, settings, tmp_path):
    job_id = add_job(store, queue, tmp_path)

    def deleting(audio_path, options, work_dir, progress):
        store.delete(job_id)
        progress(35, "separating", "Separating")

    run_one(JobRunner(store, queue, deleting, settings), queue)
    assert queue.pending_count() == 0 and list(queue.claimed.iterdir()) == []


def test_pipeline_receives_the_validated_options(store, queue, settings, tmp_path):
    job_id = add_job(store, queue, tmp_path)
    store.update(job_id, lambda j: j.model_copy(update={"options": JobOptions(bpm=94, time_signature="6/8")}))
    pipeline = FakePipeline()
    run_one(JobRunner(store, queue, pipeline, settings), queue)
    assert pipeline.options == [JobOptions(bpm=94, time_signature="6/8")]


class CountingQueue(LocalDirQueue):
    def __init__(self, root, **kwargs):
        super().__init__(root, **kwargs)
        self.sweeps = 0

    def requeue_abandoned(self) -> int:
        self.sweeps += 1
        return super().requeue_abandoned()


def test_housekeeping_runs_through_the_port_on_its_interval(store, settings, tmp_path):
    queue = CountingQueue(tmp_path / "jobs-root" / "queue", poll_interval=0.01)
    runner = JobRunner(
        store,
        queue,
        FakePipeline(),
        settings.model_copy(update={"queue_sweep_seconds": 0.2, "poll_seconds": 0.02}),
    )
    stopper = threading.Timer(0.7, runner.stop.set)
    stopper.start()
    runner.run_forever()
    assert 3 <= queue.sweeps <= 5  # at start, then every 0.2 s for 0.7 s


def test_housekeeping_failure_does_not_stop_the_worker(store, queue, settings, monkeypatch):
    def broken() -> int:
        raise QueueError("folder gone")

    monkeypatch.setattr(queue, "requeue_abandoned", broken)
    assert JobRunner(store, queue, FakePipeline(), settings).sweep_queue() == 0
