"""Structured JSON logs, one object per line, with job_id and request_id when known.

Cloud Logging reads ``severity`` and ``message`` from such lines; the rest become jsonPayload.
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import json
import logging
import logging.handlers
import os
import queue
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

job_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("job_id", default=None)
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "severity": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
            "service": self.service,
        }
        job_id = getattr(record, "job_id", None) or job_id_var.get()
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if job_id:
            entry["job_id"] = job_id
        if request_id:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _RESERVED and key not in entry and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


_listener: logging.handlers.QueueListener | None = None
_listener_lock = threading.Lock()


@atexit.register
def _flush_logs() -> None:
    with _listener_lock:
        if _listener is not None:
            _listener.stop()


# Libraries that install their own (plain-text) handlers; their records go through ours instead.
_OWN_HANDLERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi", "fastapi")


def configure_logging(service: str, level: str = "INFO", fmt: str = "json") -> None:
    """One handler on the root logger, writing to stdout: every library's records end up there.

    Python warnings and uncaught exceptions (any thread) become log records too, so with
    ``fmt="json"`` every line the service writes from Python is a JSON object. A line is formatted
    where it is logged (the job and request ids are context variables there) and written by a
    background thread, so a slow stdout (a busy disk, a full pipe) never stalls the event loop.
    """
    global _listener
    formatter = (
        JsonFormatter(service)
        if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    lines: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    handler = logging.handlers.QueueHandler(lines)
    handler.setFormatter(formatter)
    writer = logging.StreamHandler(sys.stdout)
    with _listener_lock:
        if _listener is not None:
            _listener.stop()  # writes what it still holds
        _listener = logging.handlers.QueueListener(lines, writer)
        _listener.start()
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in _OWN_HANDLERS:
        own = logging.getLogger(name)
        own.handlers[:] = []
        own.propagate = True
    for noisy in ("urllib3", "google", "httpx", "numba", "h5py", "absl"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread


def _log_uncaught(kind: type[BaseException], value: BaseException, traceback: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, traceback)
        return
    logging.getLogger("uncaught").critical("uncaught exception", exc_info=(kind, value, traceback))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None or issubclass(args.exc_type, SystemExit):
        return
    thread = args.thread.name if args.thread else "?"
    logging.getLogger("uncaught").critical(
        "uncaught exception in thread %s",
        thread,
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )


_native_stderr_lock = threading.Lock()
_native_stderr_fd: int | None = None


def capture_native_stderr(logger_name: str = "stderr") -> None:
    """Turn whatever C libraries write to file descriptor 2 into log records, one per line.

    Decoders (mpg123 in libsndfile) print warnings such as "Note: Illegal Audio-MPEG-Header"
    straight to stderr, which Cloud Logging cannot parse. After this call, fd 2 is a pipe read by a
    daemon thread that logs each line as a WARNING of ``logger_name``; the log handler writes to
    stdout, so nothing loops. Called once per process, by the services' entry points.
    """
    global _native_stderr_fd
    with _native_stderr_lock:
        if _native_stderr_fd is not None:
            return
        read_fd, write_fd = os.pipe()
        sys.stderr.flush()
        os.dup2(write_fd, 2)
        os.close(write_fd)
        _native_stderr_fd = read_fd
    logger = logging.getLogger(logger_name)
    threading.Thread(target=_relay_lines, args=(read_fd, logger), name="stderr-relay", daemon=True).start()


def _relay_lines(read_fd: int, logger: logging.Logger, max_line: int = 8192) -> None:
    pending = b""
    while True:
        try:
            chunk = os.read(read_fd, 65536)
        except OSError:
            return
        if not chunk:
            break
        pending += chunk
        *lines, pending = pending.split(b"\n")
        if len(pending) > max_line:
            lines, pending = [*lines, pending], b""
        for line in lines:
            text = line.decode("utf-8", "replace").rstrip()
            if text:
                with contextlib.suppress(Exception):  # the relay must never stop reading
                    logger.warning(text)
    if pending.strip():
        logger.warning(pending.decode("utf-8", "replace").rstrip())


@contextlib.contextmanager
def job_context(job_id: str | None) -> Iterator[None]:
    """Tag every log line written inside the block with this job id."""
    token = job_id_var.set(job_id)
    try:
        yield
    finally:
        job_id_var.reset(token)
