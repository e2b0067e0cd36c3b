"""INPUT_RETENTION_DAYS: the songs of finished jobs go, their outputs and records stay (local store).

On GCS the bucket's lifecycle rule does it (setup-infra.sh, tested in tests/deploy).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from groovesheet_shared.jobs import JobResult, utc_now
from groovesheet_worker.runner import JobRunner
from tests.worker.conftest import add_job
from tests.worker.fake_pipeline import FakePipeline


def finished(store, job_id: str, days_ago: float, *, failed: bool = False) -> None:
    when = utc_now() - timedelta(days=days_ago)
    result = JobResult(total_notes=1, bpm=120, duration_seconds=3)

    def change(job):
        done = (
            job.started("w").failed("silent_audio", "silent")
            if failed
            else job.started("w").completed(result)
        )
        return done.model_copy(update={"completed_at": when})

    store.update(job_id, change)


def test_only_songs_of_jobs_finished_long_enough_ago_are_removed(store, queue, settings, tmp_path):
    old_done = add_job(store, queue, tmp_path)
    old_failed = add_job(store, queue, tmp_path)
    recent = add_job(store, queue, tmp_path)
    waiting = add_job(store, queue, tmp_path)
    finished(store, old_done, days_ago=7.1)
    finished(store, old_failed, days_ago=30, failed=True)
    finished(store, recent, days_ago=6.9)
    (tmp_path / "out.mid").write_bytes(b"MThd")
    store.save_output(old_done, "output.mid", tmp_path / "out.mid")
    (store.jobs_dir / "not-a-job").mkdir()  # stray folders are left alone
    store.job_dir(waiting).joinpath("metadata.json").write_text("{ damaged")

    runner = JobRunner(store, queue, FakePipeline(), settings)
    assert runner.sweep_inputs() == 2

    for job_id in (old_done, old_failed):
        assert not (store.job_dir(job_id) / "input.wav").exists()
        assert store.get(job_id).status.is_final  # the record stays
    assert store.read_output(old_done, "output.mid") == b"MThd"
    assert (store.job_dir(recent) / "input.wav").exists()
    assert (store.job_dir(waiting) / "input.wav").exists()
    assert runner.sweep_inputs() == 0  # nothing left to remove


@pytest.mark.parametrize("days", [1, 30])
def test_retention_is_configurable(store, queue, settings, tmp_path, days):
    job_id = add_job(store, queue, tmp_path)
    finished(store, job_id, days_ago=2)
    runner = JobRunner(
        store, queue, FakePipeline(), settings.model_copy(update={"input_retention_days": days})
    )
    assert runner.sweep_inputs() == (1 if days == 1 else 0)
    assert (store.job_dir(job_id) / "input.wav").exists() == (days == 30)


def test_a_queued_old_job_keeps_its_song(store, queue, settings, tmp_path):
    job_id = add_job(store, queue, tmp_path)
    store.update(job_id, lambda j: j.model_copy(update={"created_at": utc_now() - timedelta(days=60)}))
    assert JobRunner(store, queue, FakePipeline(), settings).sweep_inputs() == 0
    assert (store.job_dir(job_id) / "input.wav").exists()


def test_the_stems_go_with_the_song_and_the_record_says_why(store, queue, settings, tmp_path):
    """The drum track and the song without drums add up to the upload: they are not kept longer."""
    from groovesheet_shared.jobs import STEMS_EXPIRED, Stems
    from tests.stem_samples import STEM_FILES, encode_stems

    old, recent = add_job(store, queue, tmp_path), add_job(store, queue, tmp_path)
    stems = encode_stems(tmp_path / "stems", seconds=1.0)
    for job_id in (old, recent):
        for name, path in stems.items():
            store.save_output(job_id, name, path)
        (tmp_path / "out.mid").write_bytes(b"MThd")
        store.save_output(job_id, "output.mid", tmp_path / "out.mid")
        store.update(
            job_id,
            lambda j: j.started("w").completed(
                JobResult(total_notes=1, bpm=120, duration_seconds=1, stems=Stems(available=True))
            ),
        )
    store.update(old, lambda j: j.model_copy(update={"completed_at": utc_now() - timedelta(days=8)}))

    assert JobRunner(store, queue, FakePipeline(), settings).sweep_inputs() == 1

    assert not any((store.job_dir(old) / name).exists() for name in STEM_FILES.values())
    expired = store.get(old).result.stems
    assert expired == Stems(available=False, code="expired", reason=STEMS_EXPIRED)
    assert store.read_output(old, "output.mid") == b"MThd"  # the transcription stays
    assert all((store.job_dir(recent) / name).exists() for name in STEM_FILES.values())
    assert store.get(recent).result.stems.available
