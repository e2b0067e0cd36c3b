"""Ranged reads of stored outputs (the stems' HTTP Range): a file seek locally, a ranged GET on GCS."""

from __future__ import annotations

from pathlib import Path

import pytest

from groovesheet_shared.errors import JobNotFound, OutputNotFound, StorageError
from groovesheet_shared.jobs import Job, new_job_id
from groovesheet_shared.storage import JobStore, LocalJobStore
from tests.stem_samples import STEM_FILES, encode_stems

DRUMS = STEM_FILES["drums"]


@pytest.fixture(scope="module")
def stems(tmp_path_factory) -> dict[str, Path]:
    return encode_stems(tmp_path_factory.mktemp("stems"))


@pytest.fixture(params=["local", pytest.param("gcs", marks=pytest.mark.emulators)])
def store(request, tmp_path) -> JobStore:
    if request.param == "local":
        return LocalJobStore(tmp_path / "jobs-root")
    from groovesheet_shared.storage.gcs import GcsJobStore
    from tests.emulators import PROJECT

    return GcsJobStore(request.getfixturevalue("gcs_bucket"), project=PROJECT)


def stored_job(store: JobStore, tmp_path: Path, stems: dict[str, Path]) -> str:
    song = tmp_path / "song.mp3"
    song.write_bytes(b"ID3\x00")
    job = Job(
        job_id=new_job_id(), filename="s.mp3", content_type="audio/mpeg", size_bytes=4, input_name="input.mp3"
    )
    store.create(job, song)
    for name, path in stems.items():
        store.save_output(job.job_id, name, path)
    return job.job_id


def test_info_and_ranges_read_only_what_is_asked(store, tmp_path, stems) -> None:
    job_id = stored_job(store, tmp_path, stems)
    data = stems[DRUMS].read_bytes()
    info = store.output_info(job_id, DRUMS)
    assert info.size == len(data) and info.version

    assert store.read_output_range(job_id, DRUMS, 0, 100) == data[:100]
    assert store.read_output_range(job_id, DRUMS, 5000, 5001, version=info.version) == data[5000:5001]
    assert store.read_output_range(job_id, DRUMS, len(data) - 10, len(data)) == data[-10:]
    assert store.read_output_range(job_id, DRUMS, 7, 7) == b""
    middle = store.read_output_range(job_id, DRUMS, 1234, len(data) - 1234, version=info.version)
    assert middle == data[1234 : len(data) - 1234]


def test_a_replaced_output_is_not_read_as_the_old_version(store, tmp_path, stems) -> None:
    job_id = stored_job(store, tmp_path, stems)
    old = store.output_info(job_id, DRUMS)
    store.save_output(job_id, DRUMS, stems[STEM_FILES["no_drums"]])
    new = store.output_info(job_id, DRUMS)
    assert new.version != old.version
    with pytest.raises(StorageError):
        store.read_output_range(job_id, DRUMS, 0, 10, version=old.version)
    assert (
        store.read_output_range(job_id, DRUMS, 0, 10, version=new.version)
        == (stems[STEM_FILES["no_drums"]].read_bytes()[:10])
    )


def test_missing_output_and_missing_job(store, tmp_path, stems) -> None:
    job_id = stored_job(store, tmp_path, {})
    with pytest.raises(OutputNotFound):
        store.output_info(job_id, DRUMS)
    with pytest.raises(OutputNotFound):
        store.read_output_range(job_id, DRUMS, 0, 10)
    store.delete(job_id)
    with pytest.raises(JobNotFound):
        store.output_info(job_id, DRUMS)
    with pytest.raises(JobNotFound):
        store.read_output_range(job_id, DRUMS, 0, 10)


def test_delete_removes_the_stems(store, tmp_path, stems) -> None:
    job_id = stored_job(store, tmp_path, stems)
    store.delete(job_id)
    for name in STEM_FILES.values():
        with pytest.raises(JobNotFound):
            store.output_info(job_id, name)
