"""The worker's webhooks: signed, retried with backoff on their own thread, never holding up a job."""

from __future__ import annotations

import itertools
import json
import logging
import time
from pathlib import Path

import pytest

from groovesheet_shared.errors import TranscriptionError
from groovesheet_shared.storage import LocalJobStore
from groovesheet_shared.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from groovesheet_worker.runner import JobRunner
from tests.webhook_receiver import webhook_receiver
from tests.worker.conftest import add_job
from tests.worker.fake_pipeline import FakePipeline

SECRET = "webhook-secret-for-tests"


@pytest.fixture
def hook_settings(settings):
    return settings.model_copy(
        update={
            "webhook_secret": SECRET,
            "webhook_allow_private": True,  # the receiver is on 127.0.0.1
            "webhook_first_retry_seconds": 0.3,
            "webhook_max_attempts": 3,
        }
    )


def with_callback(store: LocalJobStore, job_id: str, url: str) -> None:
    store.update(job_id, lambda j: j.model_copy(update={"callback_url": url}))


def run_one(runner: JobRunner, queue) -> float:
    message = queue.claim(timeout=1)
    assert message is not None
    started = time.monotonic()
    runner.handle(message)
    return time.monotonic() - started


def test_completed_job_is_posted_signed(store, queue, hook_settings, tmp_path):
    job_id = add_job(store, queue, tmp_path)
    with webhook_receiver() as receiver:
        with_callback(store, job_id, receiver.url)
        runner = JobRunner(store, queue, FakePipeline(), hook_settings)
        run_one(runner, queue)
        assert runner.webhooks.wait_idle(10)
    [request] = receiver.requests
    assert verify(SECRET, request.body, request.headers[SIGNATURE_HEADER])
    body = json.loads(request.body)
    assert body["job_id"] == job_id
    assert body["status"] == "completed"
    assert body["progress"] == 100
    assert body["result"]["total_notes"] == 1
    assert str(body["sent_at"]) == request.headers[TIMESTAMP_HEADER]
    assert abs(body["sent_at"] - time.time()) < 30
    assert request.headers["X-Groovesheet-Event"] == "job.completed"
    assert "callback_url" not in body


def test_failed_job_is_posted_with_its_reason(store, queue, hook_settings, tmp_path):
    job_id = add_job(store, queue, tmp_path)

    def silent(*_):
        raise TranscriptionError("The song is silent.", code="silent_audio")

    with webhook_receiver() as receiver:
        with_callback(store, job_id, receiver.url)
        runner = JobRunner(store, queue, silent, hook_settings)
        run_one(runner, queue)
        assert runner.webhooks.wait_idle(10)
    [request] = receiver.requests
    body = json.loads(request.body)
    assert body["status"] == "failed"
    assert body["error"] == {"code": "silent_audio", "message": "The song is silent."}
    assert request.headers["X-Groovesheet-Event"] == "job.failed"


def test_failing_receiver_sees_retries_with_growing_gaps_and_the_job_is_not_held(
    store, queue, hook_settings, tmp_path
):
    job_id = add_job(store, queue, tmp_path)
    with webhook_receiver([500, 503, 204]) as receiver:
        with_callback(store, job_id, receiver.url)
        runner = JobRunner(store, queue, FakePipeline(), hook_settings)
        run_one(runner, queue)
        # The job is settled and its message acked before the retries are done.
        assert store.get(job_id).status == "completed"
        assert queue.pending_count() == 0 and list(queue.claimed.iterdir()) == []
        assert len(receiver.requests) < 3
        assert runner.webhooks.wait_idle(10)
    tries = receiver.requests
    assert len(tries) == 3
    gaps = [b.at - a.at for a, b in itertools.pairwise(tries)]
    assert 0.3 <= gaps[0] < 0.9 + 0.5
    assert 0.9 <= gaps[1] < 0.9 + 1.0
    # Each try is signed anew, with its own timestamp inside the signed body.
    for request in tries:
        assert verify(SECRET, request.body, request.headers[SIGNATURE_HEADER])
        assert str(json.loads(request.body)["sent_at"]) == request.headers[TIMESTAMP_HEADER]


def test_gives_up_after_the_last_try(store, queue, hook_settings, tmp_path, caplog):
    job_id = add_job(store, queue, tmp_path)
    settings = hook_settings.model_copy(update={"webhook_first_retry_seconds": 0.05})
    with webhook_receiver([500] * 10) as receiver, caplog.at_level(logging.WARNING):
        with_callback(store, job_id, receiver.url)
        runner = JobRunner(store, queue, FakePipeline(), settings)
        run_one(runner, queue)
        assert runner.webhooks.wait_idle(10)
        time.sleep(0.3)
    assert len(receiver.requests) == 3
    assert "webhook given up after 3 tries: HTTP 500" in caplog.text
    assert store.get(job_id).status == "completed"


def test_slow_receiver_does_not_delay_the_job(store, queue, hook_settings, tmp_path):
    job_id = add_job(store, queue, tmp_path)
    with webhook_receiver(delay=3.0) as receiver:
        with_callback(store, job_id, receiver.url)
        runner = JobRunner(store, queue, FakePipeline(), hook_settings)
        seconds = run_one(runner, queue)
        assert seconds < 2.0
        assert receiver.wait_for(1, timeout=5)
        runner.webhooks.close()


def test_private_target_is_refused_at_delivery_without_the_flag(
    store, queue, hook_settings, tmp_path, caplog
):
    job_id = add_job(store, queue, tmp_path)
    settings = hook_settings.model_copy(update={"webhook_allow_private": False})
    with webhook_receiver() as receiver, caplog.at_level(logging.ERROR):
        # Stored as if the name had been public at upload time (DNS can change).
        https_by_name = receiver.url.replace("http://127.0.0.1", "https://localhost")
        with_callback(store, job_id, https_by_name)
        runner = JobRunner(store, queue, FakePipeline(), settings)
        run_one(runner, queue)
        assert runner.webhooks.wait_idle(10)
        time.sleep(0.2)
    assert receiver.requests == []
    assert "webhook not sent" in caplog.text and "public addresses" in caplog.text
    assert store.get(job_id).status == "completed"


def test_no_secret_means_no_webhook(store, queue, hook_settings, tmp_path, caplog):
    job_id = add_job(store, queue, tmp_path)
    settings = hook_settings.model_copy(update={"webhook_secret": None})
    with webhook_receiver() as receiver, caplog.at_level(logging.ERROR):
        with_callback(store, job_id, receiver.url)
        runner = JobRunner(store, queue, FakePipeline(), settings)
        run_one(runner, queue)
        assert runner.webhooks.wait_idle(10)
    assert receiver.requests == []
    assert "WEBHOOK_SECRET is not set" in caplog.text


def test_jobs_without_callback_send_nothing(store, queue, hook_settings, tmp_path: Path):
    add_job(store, queue, tmp_path)
    runner = JobRunner(store, queue, FakePipeline(), hook_settings)
    run_one(runner, queue)
    assert runner.webhooks.wait_idle(1)
    assert runner.webhooks._thread is None
