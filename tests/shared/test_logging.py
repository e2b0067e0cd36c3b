"""Log lines are JSON objects that Cloud Logging understands, tagged with job and request ids."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from groovesheet_shared.logging import JsonFormatter, job_context, request_id_var

ROOT = Path(__file__).resolve().parents[2]


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


def run_service_snippet(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh process after configure_logging + capture_native_stderr."""
    prelude = (
        "import logging, os, sys, threading, warnings\n"
        "from groovesheet_shared.logging import capture_native_stderr, configure_logging\n"
        "configure_logging('svc', 'INFO', 'json')\n"
        "capture_native_stderr()\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(ROOT / p) for p in ("shared", "."))}
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_every_line_a_service_writes_is_json():
    done = run_service_snippet(
        """
        logging.getLogger("uvicorn.error").info("Started server process")
        warnings.warn("a library warning")
        os.write(2, b"Note: Illegal Audio-MPEG-Header 0x00000000 at offset 8209.\\n")
        print("python print to stderr", file=sys.stderr, flush=True)
        thread = threading.Thread(target=lambda: 1 / 0, name="decoder")
        thread.start(); thread.join()
        import time; time.sleep(0.3)  # the relay thread logs what reached fd 2
        raise RuntimeError("boom at the top")
        """
    )
    assert done.returncode == 1
    assert done.stderr == ""  # fd 2 is relayed to stdout as JSON
    entries = json_lines(done.stdout)  # every line parses
    by_message = {e["message"]: e for e in entries}
    assert by_message["Started server process"]["logger"] == "uvicorn.error"
    assert any("a library warning" in e["message"] and e["logger"] == "py.warnings" for e in entries)
    assert by_message["Note: Illegal Audio-MPEG-Header 0x00000000 at offset 8209."]["severity"] == "WARNING"
    assert by_message["python print to stderr"]["logger"] == "stderr"
    thread_crash = by_message["uncaught exception in thread decoder"]
    assert "ZeroDivisionError" in thread_crash["exception"]
    assert "boom at the top" in by_message["uncaught exception"]["exception"]
