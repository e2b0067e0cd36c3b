"""Stems end to end through real services: uvicorn serving HTTP Range from the local store and from GCS.

- Local: the API and the real worker (`make run` in miniature, demucs_unittest as the separator): a
  mix gets both stems, a drum-only upload gets a JSON 404 saying why, deleting removes them.
- GCS: fake-gcs-server and the Pub/Sub emulator, the worker with real MP3 stems from ffmpeg: ranged
  reads of the bucket behind 206 responses, and nothing left in the bucket after DELETE.
"""

from __future__ import annotations

import io
import time

import httpx
import pytest
import soundfile
from google.cloud import storage

from tests.audio_samples import encode, groove, song_bytes
from tests.emulators import PROJECT
from tests.integration.stack import local_stack, start_worker, stop
from tests.integration.test_cloud_stack import api, cloud_env, poll_until_final  # noqa: F401 - fixtures

STEMS = ("drums", "no_drums")


def check_ranges(client: httpx.Client, url: str) -> bytes:
    """The whole stem, then parts of it by Range, each the same bytes as that part of the whole."""
    whole = client.get(url)
    assert whole.status_code == 200, whole.text
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-type"] == "audio/mpeg"
    data = whole.content
    size = len(data)
    assert int(whole.headers["content-length"]) == size > 10_000

    seek = client.get(url, headers={"Range": f"bytes={size // 2}-"})  # what a player sends to seek
    assert seek.status_code == 206
    assert seek.headers["content-range"] == f"bytes {size // 2}-{size - 1}/{size}"
    assert seek.content == data[size // 2 :]
    middle = client.get(url, headers={"Range": "bytes=1000-1999", "If-Range": whole.headers["etag"]})
    assert middle.status_code == 206 and middle.content == data[1000:2000]
    tail = client.get(url, headers={"Range": "bytes=-777"})
    assert tail.status_code == 206 and tail.content == data[-777:]
    past = client.get(url, headers={"Range": f"bytes={size}-"})
    assert past.status_code == 416
    assert past.headers["content-range"] == f"bytes */{size}"
    assert past.json()["error"]["code"] == "range_not_satisfiable"
    return data


def wait_final(client: httpx.Client, status_url: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(status_url).json()
        if body["status"] in ("completed", "failed"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"job did not finish: {body}")


@pytest.mark.slow
def test_real_worker_stores_stems_that_play_and_seek(tmp_path):
    jobs = tmp_path / "shared-jobs"
    with (
        local_stack(jobs, ENGRAVE_PDF="false") as stack,
        httpx.Client(base_url=stack.api_url, timeout=30) as client,
    ):
        mix = client.post("/api/v1/transcribe", files={"file": ("Band.mp3", encode(groove(5.0), "MP3"))})
        solo = client.post(
            "/api/v1/transcribe",
            files={"file": ("Solo.wav", song_bytes("WAV"))},
            data={"drums_only": "true"},
        )
        assert mix.status_code == solo.status_code == 202, (mix.text, solo.text)
        body = wait_final(client, mix.json()["status_url"], 240)
        assert body["status"] == "completed", (body, stop(stack.worker)[-3000:])
        assert body["result"]["stems"]["available"] is True
        for kind in STEMS:
            data = check_ranges(client, body["downloads"][kind])
            audio, rate = soundfile.read(io.BytesIO(data), dtype="float32")
            assert rate == 44100 and audio.shape[1] == 2
            assert audio.shape[0] / rate == pytest.approx(5.0, abs=0.1)

        solo_body = wait_final(client, solo.json()["status_url"], 120)
        assert solo_body["status"] == "completed"
        assert solo_body["result"]["stems"]["code"] == "drums_only"
        assert "drums" not in solo_body["downloads"]
        refused = client.get(f"/api/v1/download/{solo.json()['job_id']}?format=no_drums")
        assert refused.status_code == 404
        assert refused.json()["error"]["code"] == "stems_unavailable"
        assert "drum-only" in refused.json()["error"]["message"]

        job_id = mix.json()["job_id"]
        assert (jobs / "jobs" / job_id / "stem.no_drums.mp3").is_file()
        assert client.delete(f"/api/v1/jobs/{job_id}").status_code == 204
        assert not (jobs / "jobs" / job_id).exists()
        assert client.get(body["downloads"]["drums"]).status_code == 404


@pytest.mark.emulators
def test_stems_on_gcs_answer_ranges_and_go_with_the_job(api, cloud_env, gcs_bucket):  # noqa: F811
    created = api.post("/api/v1/transcribe", files={"file": ("Rosanna.flac", song_bytes("FLAC"))})
    assert created.status_code == 202, created.text
    job_id = created.json()["job_id"]
    worker = start_worker(
        {**cloud_env, "FAKE_STEMS": "1", "ENGRAVE_PDF": "false"}, "tests.worker.fake_worker"
    )
    try:
        seen = poll_until_final(api, created.json()["status_url"], timeout=90)
    finally:
        worker_log = stop(worker)
    assert seen[-1] == ("completed", 100), worker_log

    bucket = storage.Client(project=PROJECT).bucket(gcs_bucket)
    for kind in STEMS:
        data = check_ranges(api, f"/api/v1/download/{job_id}?format={kind}")
        stored = bucket.get_blob(f"jobs/{job_id}/stem.{kind}.mp3")
        assert stored.content_type == "audio/mpeg" and stored.size == len(data)

    assert api.delete(f"/api/v1/jobs/{job_id}").status_code == 204
    assert list(storage.Client(project=PROJECT).list_blobs(gcs_bucket, prefix=f"jobs/{job_id}/")) == []
    assert api.get(f"/api/v1/download/{job_id}?format=drums").status_code == 404
