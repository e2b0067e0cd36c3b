"""Callback URL rules, the signed body and one delivery (groovesheet_shared.webhooks)."""

from __future__ import annotations

import hmac
import json

import pytest

from groovesheet_shared.jobs import Job, JobResult, new_job_id
from groovesheet_shared.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    CallbackUrlRefused,
    check_callback_url,
    deliver,
    resolve_callback,
    sign,
    verify,
    webhook_body,
)
from tests.webhook_receiver import webhook_receiver

PRIVATE = [
    "https://127.0.0.1/hook",
    "https://localhost/hook",  # a name: refused after resolution
    "https://10.1.2.3/hook",
    "https://192.168.0.10:8443/hook",
    "https://172.16.5.5/hook",
    "https://169.254.169.254/latest/meta-data",  # cloud metadata, link-local
    "https://[::1]/hook",
    "https://[fe80::1]/hook",
    "https://[fc00::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://0.0.0.0/hook",
    "https://100.64.0.1/hook",  # carrier-grade NAT
]


@pytest.mark.parametrize("url", PRIVATE)
def test_private_targets_are_refused_without_the_flag(url):
    with pytest.raises(CallbackUrlRefused, match="public addresses"):
        resolve_callback(url, allow_private=False)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://93.184.216.34/hook", "https://"),
        ("ftp://93.184.216.34/hook", "https://"),
        ("https:///nohost", "no host"),
        ("https://user:pw@93.184.216.34/hook", "user name or password"),
        ("https://93.184.216.34/a b", "spaces"),
        ("https://93.184.216.34:99999/hook", "not a valid URL"),
        ("https://93.184.216.34/" + "a" * 2100, "longer than"),
        ("https://name.invalid/hook", "could not be resolved"),
    ],
)
def test_malformed_or_plain_http_urls_are_refused(url, reason):
    with pytest.raises(CallbackUrlRefused, match=reason):
        resolve_callback(url, allow_private=False)


def test_public_https_is_accepted_and_the_flag_opens_local_targets():
    assert resolve_callback("https://93.184.216.34/hook", allow_private=False) == ["93.184.216.34"]
    assert check_callback_url("https://example.com/hook", allow_private=False) == "https://example.com/hook"
    assert resolve_callback("http://127.0.0.1:9/hook", allow_private=True) == ["127.0.0.1"]


def make_job() -> Job:
    job = Job(
        job_id=new_job_id(),
        filename="song.mp3",
        content_type="audio/mpeg",
        size_bytes=4,
        input_name="input.mp3",
        owner="alice",
        callback_url="https://93.184.216.34/hook",
        worker="w-1",
    )
    return job.started("w-1").completed(JobResult(total_notes=3, bpm=100, duration_seconds=9))


def test_body_is_the_status_with_sent_at_and_no_internals():
    job = make_job()
    body = json.loads(webhook_body(job, 1_700_000_000))
    assert body["job_id"] == job.job_id
    assert body["status"] == "completed"
    assert body["result"]["total_notes"] == 3
    assert body["sent_at"] == 1_700_000_000
    assert body["download_url"] == f"/api/v1/download/{job.job_id}"
    assert not {"worker", "input_name", "callback_url"} & body.keys()


def test_signature_is_hmac_sha256_of_the_raw_body():
    body = b'{"a":1}'
    signature = sign("s3cret", body)
    # Computed independently: printf '{"a":1}' | openssl dgst -sha256 -hmac s3cret
    assert signature == "sha256=" + hmac.new(b"s3cret", body, "sha256").hexdigest()
    assert verify("s3cret", body, signature)
    assert not verify("other", body, signature)
    assert not verify("s3cret", b'{"a":2}', signature)


def test_deliver_posts_the_signed_body_to_the_url():
    job = make_job()
    body = webhook_body(job, 1_700_000_123)
    with webhook_receiver([202]) as receiver:
        status = deliver(receiver.url, body, "s3cret", 1_700_000_123, "job.completed", allow_private=True)
        [request] = receiver.wait_for(1)
    assert status == 202
    assert request.path == "/hooks/groovesheet?source=test"
    assert request.body == body
    assert verify("s3cret", request.body, request.headers[SIGNATURE_HEADER])
    assert request.headers[TIMESTAMP_HEADER] == "1700000123"
    assert request.headers["X-Groovesheet-Event"] == "job.completed"
    assert request.headers["Content-Type"] == "application/json"


def test_deliver_checks_again_and_refuses_a_local_receiver_without_the_flag():
    with webhook_receiver() as receiver:
        with pytest.raises(CallbackUrlRefused):
            deliver(receiver.url, b"{}", "s3cret", 1, "job.completed", allow_private=False)
        assert receiver.requests == []
