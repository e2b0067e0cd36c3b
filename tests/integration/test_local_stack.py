"""The embedded default end to end: API and worker as separate processes sharing ./shared-jobs."""

from __future__ import annotations

import time

import httpx

from tests.audio_samples import song_bytes
from tests.integration.stack import free_port, service_env, start_api, start_worker, stop, wait_for_http


def test_upload_moves_from_queued_through_processing_to_completed(tmp_path):
    env = service_env(
        tmp_path / "shared-jobs", FAKE_LOG=str(tmp_path / "log"), FAKE_STAGE_SECONDS="0.3", PORT="0"
    )
    port = free_port()
    api = start_api(env, port)
    worker = None
    try:
        base = f"http://127.0.0.1:{port}"
        assert wait_for_http(f"{base}/health")["status"] == "ok"
        with httpx.Client(base_url=base, timeout=30) as client:
            created = client.post(
                "/api/v1/transcribe", files={"file": ("Funky Drummer.mp3", song_bytes("MP3"))}
            )
            assert created.status_code == 202, created.text
            status_url = created.json()["status_url"]
            assert client.get(status_url).json()["status"] == "queued"

            worker = start_worker(env, "tests.worker.fake_worker")
            seen: list[tuple[str, int]] = []
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                body = client.get(status_url).json()
                if not seen or seen[-1] != (body["status"], body["progress"]):
                    seen.append((body["status"], body["progress"]))
                if body["status"] in ("completed", "failed"):
                    break
                time.sleep(0.1)

            assert seen[0] == ("queued", 0)
            assert ("processing", 30) in seen or any(s == "processing" for s, _ in seen)
            assert seen[-1] == ("completed", 100), seen
            progress = [p for _, p in seen]
            assert progress == sorted(progress)

            download = client.get(created.json()["download_url"])
            assert download.status_code == 200
            assert "Funky Drummer_transcription.musicxml" in download.headers["content-disposition"]
    finally:
        api_log = stop(api)
        if worker is not None:
            stop(worker)
    assert '"request_id"' in api_log
