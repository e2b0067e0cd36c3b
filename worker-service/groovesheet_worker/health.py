"""What the worker is doing, served as GET /health on $PORT so Cloud Run keeps it alive."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

logger = logging.getLogger(__name__)


class WorkerHealth:
    """Thread-safe state shared by the job loop (writer) and the health endpoint (reader)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.models_loaded = False
        self.current_job: str | None = None
        self.last_heartbeat = time.time()
        self.jobs_completed = 0
        self.jobs_failed = 0
        self.started_at = time.time()

    def beat(self, current_job: str | None = None, *, keep_job: bool = False) -> None:
        with self._lock:
            self.last_heartbeat = time.time()
            if not keep_job:
                self.current_job = current_job

    def finished(self, ok: bool) -> None:
        with self._lock:
            if ok:
                self.jobs_completed += 1
            else:
                self.jobs_failed += 1
            self.current_job = None
            self.last_heartbeat = time.time()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "status": "ok" if self.models_loaded else "starting",
                "models_loaded": self.models_loaded,
                "current_job": self.current_job,
                "last_heartbeat": datetime.fromtimestamp(self.last_heartbeat, UTC).isoformat(),
                "seconds_since_heartbeat": round(time.time() - self.last_heartbeat, 1),
                "jobs_completed": self.jobs_completed,
                "jobs_failed": self.jobs_failed,
                "uptime_seconds": round(time.time() - self.started_at, 1),
            }


def serve_health(health: WorkerHealth, port: int, host: str = "0.0.0.0") -> ThreadingHTTPServer:
    """Start the health endpoint in a daemon thread; returns the server (call shutdown() to stop)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] not in ("/health", "/"):
                self._send(404, {"error": {"code": "not_found", "message": "Try GET /health."}})
                return
            self._send(200, health.snapshot())

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # probes every few seconds would drown the job logs

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    logger.info("health endpoint listening", extra={"port": server.server_address[1]})
    return server
