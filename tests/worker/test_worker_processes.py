"""Real worker processes on the local queue: no double processing, clean SIGTERM, SIGKILL recovery."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from groovesheet_worker.health import WorkerHealth, serve_health
from tests.integration.stack import output_of, service_env, start_worker, stop
from tests.worker.conftest import add_job


def start_fake_worker(tmp_path: Path, log: Path, stage_seconds: float = 0.0) -> subprocess.Popen:
    env = service_env(
        tmp_path / "jobs-root", FAKE_LOG=str(log), FAKE_STAGE_SECONDS=str(stage_seconds), PORT="0"
    )
    return start_worker(env, "tests.worker.fake_worker")


def wait_until(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def test_two_workers_never_process_the_same_job(store, queue, tmp_path):
    job_ids = [add_job(store, queue, tmp_path) for _ in range(16)]
    log = tmp_path / "processed.log"
    workers = [start_fake_worker(tmp_path, log, stage_seconds=0.03) for _ in range(2)]
    try:
        wait_until(lambda: all(store.get(j).status == "completed" for j in job_ids))
    finally:
        outputs = [stop(w) for w in workers]

    lines = log.read_text().split()
    processed = Counter(lines[0::2])
    pids = set(lines[1::2])
    assert sorted(processed) == sorted(job_ids), outputs
    assert set(processed.values()) == {1}
    assert len(pids) == 2  # both workers took part
    assert all(store.get(j).attempts == 1 for j in job_ids)


def test_sigterm_mid_job_gives_it_back_and_exits(store, queue, tmp_path):
    job_id = add_job(store, queue, tmp_path)
    log = tmp_path / "processed.log"
    worker = start_fake_worker(tmp_path, log, stage_seconds=2.0)
    wait_until(lambda: store.get(job_id).status == "processing")
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=15)
    output = output_of(worker)

    assert worker.returncode == 0, output
    job = store.get(job_id)
    assert job.status == "queued"
    assert queue.pending_count() == 1
    assert any(
        "giving it back" in json.loads(line)["message"]
        for line in output.splitlines()
        if line.startswith("{")
    )


def test_job_of_a_killed_worker_is_finished_by_the_next_one(store, queue, tmp_path):
    job_id = add_job(store, queue, tmp_path)
    log = tmp_path / "processed.log"
    doomed = start_fake_worker(tmp_path, log, stage_seconds=1.0)
    wait_until(lambda: store.get(job_id).progress >= 35)
    doomed.kill()
    doomed.wait(timeout=10)
    assert store.get(job_id).status == "processing"

    successor = start_fake_worker(tmp_path, log)
    try:
        wait_until(lambda: store.get(job_id).status == "completed" and not any(queue.claimed.iterdir()))
    finally:
        stop(successor)
    job = store.get(job_id)
    assert job.attempts == 2
    assert store.read_output(job_id, "output.musicxml") == b"<score-partwise/>"
    assert queue.pending_count() == 0
    assert list(queue.claimed.iterdir()) == []


@pytest.fixture
def health_server():
    health = WorkerHealth()
    server = serve_health(health, port=0, host="127.0.0.1")
    yield health, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_health_endpoint_reports_models_and_job(health_server):
    health, url = health_server
    body = json.loads(urllib.request.urlopen(f"{url}/health", timeout=5).read())
    assert body["models_loaded"] is False and body["status"] == "starting"
    health.models_loaded = True
    health.beat("3f0b9a8e-6c1d-4b2a-9f3e-2d1c0b9a8e7f")
    body = json.loads(urllib.request.urlopen(f"{url}/health", timeout=5).read())
    assert body["status"] == "ok"
    assert body["current_job"] == "3f0b9a8e-6c1d-4b2a-9f3e-2d1c0b9a8e7f"
    assert body["seconds_since_heartbeat"] < 60
    health.finished(ok=True)
    body = json.loads(urllib.request.urlopen(f"{url}/health", timeout=5).read())
    assert body["current_job"] is None and body["jobs_completed"] == 1
