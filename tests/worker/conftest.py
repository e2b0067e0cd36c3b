from __future__ import annotations

from pathlib import Path

import pytest

from groovesheet_shared.jobs import Job, new_job_id
from groovesheet_shared.queue import LocalDirQueue
from groovesheet_shared.storage import LocalJobStore
from groovesheet_worker.config import WorkerSettings
from tests.audio_samples import song_bytes


@pytest.fixture
def store(tmp_path: Path) -> LocalJobStore:
    return LocalJobStore(tmp_path / "jobs-root")


@pytest.fixture
def queue(tmp_path: Path) -> LocalDirQueue:
    return LocalDirQueue(tmp_path / "jobs-root" / "queue", poll_interval=0.05)


@pytest.fixture
def settings(tmp_path: Path) -> WorkerSettings:
    # Engraving runs MuseScore (about a second a job): only the tests about the PDF turn it on.
    return WorkerSettings(
        local_jobs_dir=tmp_path / "jobs-root", worker_id="test-worker", poll_seconds=0.1, engrave_pdf=False
    )


def add_job(store: LocalJobStore, queue: LocalDirQueue, tmp_path: Path) -> str:
    source = tmp_path / f"upload-{new_job_id()}.wav"
    source.write_bytes(song_bytes("WAV", seconds=1.0))
    job = Job(
        job_id=new_job_id(),
        filename="song.wav",
        content_type="audio/wav",
        size_bytes=source.stat().st_size,
        input_name="input.wav",
        owner="anonymous",
    )
    store.create(job, source)
    queue.publish(job.job_id, store.location)
    return job.job_id
