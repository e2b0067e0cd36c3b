"""Log lines are JSON objects that Cloud Logging understands, tagged with job and request ids."""

from __future__ import annotations

import json
import logging

from groovesheet_shared.logging import JsonFormatter, job_context, request_id_var


def format_record(message: str, **extra) -> dict:
    logger = logging.getLogger("test")
    record = logger.makeRecord("test", logging.WARNING, __file__, 1, message, (), None, extra=extra)
    return json.loads(JsonFormatter("svc").format(record))


def test_json_line_with_severity_and_extras():
    entry = format_record("hello", stage="separated", progress=55)
    assert entry["severity"] == "WARNING"
    assert entry["message"] == "hello"
    assert entry["service"] == "svc"
    assert (entry["stage"], entry["progress"]) == ("separated", 55)
    assert "job_id" not in entry


def test_job_and_request_ids_come_from_context():
    token = request_id_var.set("req-1")
    try:
        with job_context("3f0b9a8e-6c1d-4b2a-9f3e-2d1c0b9a8e7f"):
            entry = format_record("working")
        after = format_record("done")
    finally:
        request_id_var.reset(token)
    assert entry["job_id"] == "3f0b9a8e-6c1d-4b2a-9f3e-2d1c0b9a8e7f"
    assert entry["request_id"] == "req-1"
    assert "job_id" not in after
