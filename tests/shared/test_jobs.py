"""The job record: ids, state changes and its JSON form."""

from __future__ import annotations

import json
import uuid

import pytest

from groovesheet_shared.errors import InvalidJobId
from groovesheet_shared.jobs import Job, JobResult, new_job_id, parse_job_id


def make_job(**fields) -> Job:
    return Job(
        job_id=new_job_id(),
        filename="song.mp3",
        content_type="audio/mpeg",
        size_bytes=10,
        input_name="input.mp3",
        **fields,
    )


def test_new_ids_are_uuid4():
    assert uuid.UUID(new_job_id()).version == 4


@pytest.mark.parametrize(
    "bad",
    ["", "abc", "../etc/passwd", str(uuid.uuid1()), "{3f0b9a8e-6c1d-4b2a-9f3e-2d1c0b9a8e7f}"],
)
def test_only_canonical_uuid4_ids_pass(bad):
    with pytest.raises(InvalidJobId):
        parse_job_id(bad)


def test_ids_are_case_insensitive_and_canonicalised():
    assert parse_job_id("3F0B9A8E-6C1D-4B2A-9F3E-2D1C0B9A8E7F") == "3f0b9a8e-6c1d-4b2a-9f3e-2d1c0b9a8e7f"


def test_lifecycle_and_json_round_trip():
    job = make_job()
    assert (job.status, job.progress) == ("queued", 0)
    running = job.started("w1").progressed(55, "separated", "Drums separated")
    assert (running.status, running.progress, running.attempts) == ("processing", 55, 1)
    assert running.progressed(35, "late", "an older report").progress == 55  # never backwards
    done = running.completed(JobResult(total_notes=3, bpm=120, duration_seconds=2.5))
    assert (done.status, done.progress, done.stage) == ("completed", 100, "completed")
    assert done.completed_at is not None and done.error is None

    data = json.loads(done.to_json())
    assert data["created_at"].endswith("Z") and data["completed_at"].endswith("Z")
    assert Job.from_json(done.to_json()) == done


def test_failed_job_carries_code_and_message():
    job = make_job().started("w").failed("silent_audio", "The song is silent.")
    assert job.status == "failed"
    assert job.error.model_dump() == {"code": "silent_audio", "message": "The song is silent."}
    assert job.status.is_final


def test_progress_is_bounded():
    with pytest.raises(ValueError):
        make_job(progress=101)
