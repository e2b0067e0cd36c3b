"""POST /api/v1/transcribe: good uploads are stored and queued, bad ones leave nothing behind."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from groovesheet_api.audio_probe import probe_audio
from groovesheet_shared.errors import QueueError, StorageError
from groovesheet_shared.jobs import Job
from groovesheet_shared.queue import LocalDirQueue
from groovesheet_shared.storage import LocalJobStore
from tests.api.conftest import queued_messages, stored_jobs
from tests.audio_samples import song_bytes


@pytest.mark.parametrize(
    ("fmt", "name", "extension", "content_type"),
    [
        ("MP3", "My Song.mp3", ".mp3", "audio/mpeg"),
        ("WAV", "take1.wav", ".wav", "audio/wav"),
        ("FLAC", "take1.flac", ".flac", "audio/flac"),
        ("OGG", "take1.ogg", ".ogg", "audio/ogg"),
    ],
)
def test_accepts_each_format_and_queues_the_job(client, jobs_dir, fmt, name, extension, content_type):
    song = song_bytes(fmt)
    response = client.post("/api/v1/transcribe", files={"file": (name, song, "audio/x-anything")})

    assert response.status_code == 202, response.text
    body = response.json()
    job_id = body["job_id"]
    assert body == {
        "job_id": job_id,
        "status": "queued",
        "status_url": f"/api/v1/status/{job_id}",
        "download_url": f"/api/v1/download/{job_id}",
    }
    job_dir = jobs_dir / "jobs" / job_id
    metadata = Job.from_json((job_dir / "metadata.json").read_bytes())
    assert metadata.status == "queued"
    assert metadata.filename == name
    assert metadata.content_type == content_type
    assert (job_dir / f"input{extension}").read_bytes() == song
    assert metadata.size_bytes == len(song)
    assert metadata.owner == "anonymous"
    assert metadata.options.title == Path(name).stem
    [message] = queued_messages(jobs_dir)
    assert json.loads(message.read_text())["job_id"] == job_id


def test_name_does_not_decide_the_format(client, jobs_dir):
    # A FLAC file called .mp3 is stored as what it is.
    response = client.post("/api/v1/transcribe", files={"file": ("song.mp3", song_bytes("FLAC"))})
    assert response.status_code == 202
    job_id = response.json()["job_id"]
    assert (jobs_dir / "jobs" / job_id / "input.flac").exists()


def test_options_are_recorded(client, jobs_dir):
    response = client.post(
        "/api/v1/transcribe",
        files={"file": ("x.wav", song_bytes("WAV"))},
        data={"title": "Back in Black", "bpm": "94", "time_signature": "6/8", "drums_only": "true"},
    )
    assert response.status_code == 202
    job = Job.from_json((jobs_dir / "jobs" / response.json()["job_id"] / "metadata.json").read_bytes())
    assert job.options.model_dump() == {
        "title": "Back in Black",
        "bpm": 94.0,
        "time_signature": "6/8",
        "drums_only": True,
    }


def _wav_claiming_more_data_than_it_has() -> bytes:
    full = song_bytes("WAV", seconds=2.0)
    return full[: len(full) // 3]


def _mp3_cut_after_the_tag() -> bytes:
    mp3 = song_bytes("MP3")
    tag = b"ID3\x04\x00\x00\x00\x00\x00\x00"
    return tag + mp3[:3]


def _aiff() -> bytes:
    return b"FORM" + struct.pack(">I", 4) + b"AIFF" + b"\x00" * 64


BAD_UPLOADS = [
    # (id, files, data, extra settings, status, code)
    ("empty file", {"file": ("song.mp3", b"")}, {}, {}, 400, "empty_file"),
    (
        "text renamed .mp3",
        {"file": ("song.mp3", b"these are my lyrics\n" * 50)},
        {},
        {},
        415,
        "unsupported_format",
    ),
    ("truncated mp3", {"file": ("song.mp3", _mp3_cut_after_the_tag())}, {}, {}, 422, "undecodable_audio"),
    (
        "truncated wav",
        {"file": ("song.wav", _wav_claiming_more_data_than_it_has())},
        {},
        {},
        422,
        "undecodable_audio",
    ),
    (
        "garbage after a WAV header",
        {"file": ("s.wav", song_bytes("WAV")[:44] + b"\x00" * 3)},
        {},
        {},
        422,
        "undecodable_audio",
    ),
    ("aiff", {"file": ("song.aiff", _aiff())}, {}, {}, 415, "unsupported_format"),
    (
        "png image renamed .wav",
        {"file": ("song.wav", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)},
        {},
        {},
        415,
        "unsupported_format",
    ),
    (
        "m4a",
        {"file": ("song.m4a", b"\x00\x00\x00\x20ftypM4A " + b"\x00" * 100)},
        {},
        {},
        415,
        "unsupported_format",
    ),
    (
        "oversize",
        {"file": ("song.wav", song_bytes("WAV", seconds=3.0))},
        {},
        {"max_upload_mb": 0.1},
        413,
        "file_too_large",
    ),
    (
        "too long",
        {"file": ("song.flac", song_bytes("FLAC", seconds=4.0))},
        {},
        {"max_duration_seconds": 2, "min_duration_seconds": 1},
        413,
        "audio_too_long",
    ),
    ("missing file field", {"song": ("song.wav", song_bytes("WAV"))}, {}, {}, 422, "missing_file"),
    ("bpm out of range", {"file": ("song.wav", song_bytes("WAV"))}, {"bpm": "900"}, {}, 422, "invalid_bpm"),
    ("bpm not a number", {"file": ("song.wav", song_bytes("WAV"))}, {"bpm": "fast"}, {}, 422, "invalid_bpm"),
    (
        "odd time signature",
        {"file": ("song.wav", song_bytes("WAV"))},
        {"time_signature": "4/5"},
        {},
        422,
        "invalid_time_signature",
    ),
    (
        "drums_only not a boolean",
        {"file": ("song.wav", song_bytes("WAV"))},
        {"drums_only": "maybe"},
        {},
        422,
        "invalid_drums_only",
    ),
]


@pytest.mark.parametrize(
    ("files", "data", "settings", "status", "code"),
    [case[1:] for case in BAD_UPLOADS],
    ids=[case[0] for case in BAD_UPLOADS],
)
def test_bad_upload_is_refused_clearly_and_leaves_nothing(
    make_client, jobs_dir, files, data, settings, status, code
):
    client = make_client(**settings)
    response = client.post("/api/v1/transcribe", files=files, data=data)

    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert len(error["message"]) > 20
    assert stored_jobs(jobs_dir) == []
    assert queued_messages(jobs_dir) == []


def test_not_multipart_is_refused(client, jobs_dir):
    response = client.post("/api/v1/transcribe", json={"file": "song.mp3"})
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "not_multipart"
    assert "multipart/form-data" in response.json()["error"]["message"]
    assert stored_jobs(jobs_dir) == []


def test_declared_oversize_is_refused_before_reading(make_client, jobs_dir):
    client = make_client(max_upload_mb=1)
    body = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n' + b"x" * 10
    response = client.post(
        "/api/v1/transcribe",
        content=body,
        headers={"Content-Type": "multipart/form-data; boundary=b", "Content-Length": str(50 * 1024 * 1024)},
    )
    assert response.status_code == 413
    assert stored_jobs(jobs_dir) == []


def test_earlier_jobs_survive_a_bad_upload(client, jobs_dir):
    good = client.post("/api/v1/transcribe", files={"file": ("a.wav", song_bytes("WAV"))})
    before = (jobs_dir / "jobs" / good.json()["job_id"] / "metadata.json").read_bytes()
    client.post("/api/v1/transcribe", files={"file": ("b.mp3", b"not audio at all")})
    assert [p.name for p in stored_jobs(jobs_dir)] == [good.json()["job_id"]]
    assert (jobs_dir / "jobs" / good.json()["job_id"] / "metadata.json").read_bytes() == before


class _BrokenQueue(LocalDirQueue):
    def publish(self, job_id: str, bucket: str | None = None) -> None:
        raise QueueError("topic unreachable")


def test_queue_failure_answers_503_and_leaves_nothing(client, jobs_dir):
    client.app.state.queue = _BrokenQueue(jobs_dir / "queue")
    response = client.post("/api/v1/transcribe", files={"file": ("a.wav", song_bytes("WAV"))})

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "queue_unavailable"
    assert "upload the song again" in response.json()["error"]["message"]
    assert stored_jobs(jobs_dir) == []
    assert queued_messages(jobs_dir) == []


class _BrokenQueueAndStore(LocalJobStore):
    def delete(self, job_id: str) -> None:
        raise StorageError("bucket unreachable")


def test_queue_failure_when_the_job_cannot_be_deleted_marks_it_failed(client, jobs_dir):
    # Second best: never a job that stays 'queued' with nobody to run it.
    client.app.state.queue = _BrokenQueue(jobs_dir / "queue")
    client.app.state.store = _BrokenQueueAndStore(jobs_dir)
    response = client.post("/api/v1/transcribe", files={"file": ("a.wav", song_bytes("WAV"))})

    assert response.status_code == 503
    [job_dir] = stored_jobs(jobs_dir)
    job = Job.from_json((job_dir / "metadata.json").read_bytes())
    assert job.status == "failed"
    assert job.error is not None and job.error.code == "queue_unavailable"


def _job(jobs_dir: Path, response) -> Job:
    assert response.status_code == 202, response.text
    return Job.from_json((jobs_dir / "jobs" / response.json()["job_id"] / "metadata.json").read_bytes())


def test_file_name_with_control_characters_gives_a_clean_title_and_name(client, jobs_dir):
    # Sent raw, as curl does (httpx would percent-encode them).
    response = _post_raw(
        client, _multipart("b0und", [("file", "Take\x00 1\x1f.wav", song_bytes("WAV"))]), "b0und"
    )
    job = _job(jobs_dir, response)
    assert job.options.title == "Take 1"
    assert job.filename == "Take 1.wav"


def test_long_file_name_without_a_title_is_shortened_not_refused(client, jobs_dir):
    name = "a very long recording name " * 20 + ".wav"
    job = _job(jobs_dir, client.post("/api/v1/transcribe", files={"file": (name, song_bytes("WAV"))}))
    assert job.options.title is not None and 0 < len(job.options.title) <= 200


@pytest.mark.parametrize("title", ["Song\ufffe", "Song\uffff", "Nul\x00", "x" * 201])
def test_typed_title_the_sheet_cannot_hold_is_refused(client, jobs_dir, title):
    response = client.post(
        "/api/v1/transcribe", files={"file": ("a.wav", song_bytes("WAV"))}, data={"title": title}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_title"
    assert stored_jobs(jobs_dir) == []


def _multipart(boundary: str, parts: list[tuple[str, str | None, bytes]], close: bool = True) -> bytes:
    body = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"
    return body + (f"--{boundary}--\r\n".encode() if close else b"")


def _post_raw(client, body: bytes, boundary: str):
    return client.post(
        "/api/v1/transcribe",
        content=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )


@pytest.mark.parametrize(
    ("parts", "close", "boundary", "status", "code"),
    [
        ([("file", "a.wav", b"WAV")], False, "b0und", 400, "incomplete_upload"),
        ([("file", "a.wav", b"WAV"), ("bpm", None, b"120")], True, "x" * 300, 400, "invalid_boundary"),
        ([("file", "a.wav", b"WAV"), ("tempo", None, b"120")], True, "b0und", 422, "unknown_field"),
        (
            [("file", "a.wav", b"WAV"), ("bpm", None, b"120"), ("bpm", None, b"90")],
            True,
            "b0und",
            422,
            "duplicate_field",
        ),
        ([("file", None, b"song.mp3")], True, "b0und", 422, "missing_file"),
        ([("file", "a.wav", b"W"), ("file", "b.wav", b"W")], True, "b0und", 400, "too_many_files"),
    ],
    ids=[
        "no closing boundary",
        "boundary of 300 chars",
        "unknown field",
        "field twice",
        "file as text",
        "two files",
    ],
)
def test_broken_forms_are_refused_clearly(client, jobs_dir, parts, close, boundary, status, code):
    if parts[0][2] == b"WAV":
        parts = [("file", "a.wav", song_bytes("WAV")), *parts[1:]]
    response = _post_raw(client, _multipart(boundary, parts, close), boundary)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert stored_jobs(jobs_dir) == []


def test_decoding_goes_through_the_bounded_decoder(client, jobs_dir, monkeypatch):
    decoder = client.app.state.decoder
    calls = []
    original = decoder.run

    async def spy(function, *args):
        calls.append(function)
        return await original(function, *args)

    monkeypatch.setattr(decoder, "run", spy)
    _job(jobs_dir, client.post("/api/v1/transcribe", files={"file": ("a.wav", song_bytes("WAV"))}))
    assert calls == [probe_audio]  # in a decoding process: tests/api/test_decoding.py
