"""The job record: ids, state changes and its JSON form."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from groovesheet_shared.errors import InvalidJobId
from groovesheet_shared.jobs import OUTPUT_FILES, Job, JobResult, new_job_id, parse_job_id
from groovesheet_shared.outputs import MEDIA_TYPE_BY_FILE, OUTPUTS, PDF_FILES, STEM_FILES
from groovesheet_shared.progress import CHECKPOINTS, QUEUED


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


def test_started_and_completed_report_the_checkpoint_table():
    job = make_job().started("w")
    assert (job.progress, job.stage, job.message) == (
        CHECKPOINTS["started"].percent,
        "started",
        CHECKPOINTS["started"].message,
    )
    done = job.completed(JobResult(total_notes=1, bpm=100, duration_seconds=2))
    assert (done.progress, done.message) == (
        CHECKPOINTS["completed"].percent,
        CHECKPOINTS["completed"].message,
    )


def test_checkpoints_only_go_up_from_started_to_completed():
    percents = [c.percent for c in CHECKPOINTS.values()]
    assert percents == sorted(set(percents))
    stages = list(CHECKPOINTS)
    assert (stages[0], stages[-1]) == ("started", "completed")
    assert percents[-1] == 100 and QUEUED.percent == 0 < percents[0]


def test_requeued_goes_back_to_the_queue_and_stamps_updated_at():
    running = make_job().started("w").progressed(55, "separated", "Drums separated")
    before = running.updated_at
    time.sleep(0.002)
    again = running.requeued("The worker restarted; your job will continue shortly.")
    assert (again.status, again.progress, again.stage) == ("queued", 0, "queued")
    assert again.message == "The worker restarted; your job will continue shortly."
    assert again.updated_at > before
    assert again.attempts == running.attempts and again.worker is None


def test_output_table_is_consistent():
    assert set(OUTPUT_FILES) == {"musicxml", "midi", "json"}  # what the pipeline writes
    assert set(STEM_FILES) == {"drums", "no_drums"}  # written only when separation ran
    assert set(OUTPUTS) == set(OUTPUT_FILES) | {"pdf"} | set(STEM_FILES)  # what can be downloaded
    assert OUTPUTS["pdf"].file_name == PDF_FILES["a4"] and set(PDF_FILES) == {"a4", "letter"}
    assert all(MEDIA_TYPE_BY_FILE[name] == "application/pdf" for name in PDF_FILES.values())
    names = [o.file_name for o in OUTPUTS.values()]
    assert len(set(names)) == len(names) and "metadata.json" not in names
    assert OUTPUTS["midi"].download_name("Song") == "Song_transcription.mid"
    assert OUTPUTS["no_drums"].download_name("Song") == "Song_no_drums.mp3"
    assert all(MEDIA_TYPE_BY_FILE[name] == "audio/mpeg" for name in STEM_FILES.values())
    assert {o.media_type for o in OUTPUTS.values()} >= {"audio/midi", "application/json"}
