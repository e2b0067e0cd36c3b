"""A job deleted while a worker holds it: the worker stops at the next checkpoint, keeps nothing, acks.

Run on the local store and on fake-gcs-server (the queue is the local one in both: cancelling is the
store's business).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from google.cloud import storage

from groovesheet_shared.errors import JobNotFound
from groovesheet_shared.jobs import OUTPUT_FILES
from groovesheet_shared.storage import JobStore, LocalJobStore
from groovesheet_worker.runner import JobRunner
from groovesheet_worker.transcription import CHECKPOINTS
from tests.emulators import PROJECT
from tests.worker.conftest import add_job
from tests.worker.fake_pipeline import PIPELINE_STAGES, FakePipeline


@pytest.fixture(params=["local", pytest.param("gcs", marks=pytest.mark.emulators)])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> JobStore:
    if request.param == "local":
        return LocalJobStore(tmp_path / "jobs-root")
    from groovesheet_shared.storage.gcs import GcsJobStore

    return GcsJobStore(bucket_name=request.getfixturevalue("gcs_bucket"), project=PROJECT)


def leftovers(store: JobStore, job_id: str) -> list[str]:
    """Everything still stored under the job."""
    if isinstance(store, LocalJobStore):
        folder = store.jobs_dir / job_id
        return sorted(p.name for p in folder.iterdir()) if folder.exists() else []
    client = storage.Client(project=PROJECT)
    return sorted(b.name for b in client.list_blobs(store.location, prefix=f"jobs/{job_id}/"))


def run_one(runner: JobRunner, queue) -> None:
    message = queue.claim(timeout=1)
    assert message is not None
    runner.handle(message)


class DeletingPipeline(FakePipeline):
    """Deletes its own job (as DELETE /api/v1/jobs/{id} does) once it reached ``at``; records the stages."""

    def __init__(self, store: JobStore, job_id: str, at: str, swallow: bool = False) -> None:
        super().__init__()
        self.store, self.job_id, self.at, self.swallow = store, job_id, at, swallow
        self.reached: list[str] = []

    def __call__(self, audio_path, options, work_dir, progress):
        def reporting(percent: int, stage: str, message: str) -> None:
            if self.swallow:
                # A pipeline that catches too much must still be stopped.
                with contextlib.suppress(Exception):
                    progress(percent, stage, message)
            else:
                progress(percent, stage, message)
            self.reached.append(stage)
            if stage == self.at:
                self.store.delete(self.job_id)

        return super().__call__(audio_path, options, work_dir, reporting)


@pytest.mark.parametrize("swallow", [False, True])
def test_running_job_deleted_stops_at_the_next_checkpoint(any_store, queue, settings, tmp_path, swallow):
    job_id = add_job(any_store, queue, tmp_path)
    pipeline = DeletingPipeline(any_store, job_id, at="separated", swallow=swallow)

    run_one(JobRunner(any_store, queue, pipeline, settings), queue)

    # It reached "separated", was deleted there, and the next checkpoint stopped it.
    assert pipeline.reached == PIPELINE_STAGES[: PIPELINE_STAGES.index("separated") + 1]
    assert leftovers(any_store, job_id) == []
    with pytest.raises(JobNotFound):
        any_store.get(job_id)
    assert queue.pending_count() == 0 and list(queue.claimed.iterdir()) == []  # acked, never retried


class DeleteDuringOutputs:
    """The delete lands while the worker stores its outputs, after the first one was written.

    On GCS the second output is then uploaded straight to the bucket, as a worker whose existence
    check passed just before the delete would: the runner must sweep it away.
    """

    def __init__(self, store: JobStore) -> None:
        self._store = store
        self.saved: list[str] = []

    def save_output(self, job_id: str, name: str, source: Path) -> None:
        if len(self.saved) == 1:
            self._store.delete(job_id)
            if not isinstance(self._store, LocalJobStore):
                self._store._blob(job_id, name).upload_from_filename(str(source))
                self.saved.append(name)
                return
        self._store.save_output(job_id, name, source)
        self.saved.append(name)

    def __getattr__(self, name: str):
        return getattr(self._store, name)


def test_delete_while_outputs_are_stored_leaves_nothing(any_store, queue, settings, tmp_path):
    job_id = add_job(any_store, queue, tmp_path)
    racing = DeleteDuringOutputs(any_store)

    run_one(JobRunner(racing, queue, FakePipeline(), settings), queue)  # type: ignore[arg-type]

    assert racing.saved[0] == OUTPUT_FILES["musicxml"]
    assert leftovers(any_store, job_id) == []
    with pytest.raises(JobNotFound):
        any_store.get(job_id)
    assert queue.pending_count() == 0 and list(queue.claimed.iterdir()) == []


def test_queued_job_deleted_is_never_started(any_store, queue, settings, tmp_path):
    job_id = add_job(any_store, queue, tmp_path)
    any_store.delete(job_id)
    pipeline = FakePipeline()
    run_one(JobRunner(any_store, queue, pipeline, settings), queue)
    assert pipeline.calls == []
    assert leftovers(any_store, job_id) == []
    assert queue.pending_count() == 0 and list(queue.claimed.iterdir()) == []


def test_an_undeleted_job_still_runs_every_checkpoint(any_store, queue, settings, tmp_path):
    job_id = add_job(any_store, queue, tmp_path)
    pipeline = DeletingPipeline(any_store, job_id, at="never")
    run_one(JobRunner(any_store, queue, pipeline, settings), queue)
    assert pipeline.reached == PIPELINE_STAGES
    assert any_store.get(job_id).progress == CHECKPOINTS["completed"][0]
