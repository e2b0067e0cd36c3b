"""Webhook delivery on a thread of its own: it never delays or fails a job.

When a job with a ``callback_url`` is completed or failed, the runner hands it over here and goes on
with the next job. Each try connects only after the URL's host was resolved and found public
(groovesheet_shared.webhooks.deliver); a 2xx answer ends it, anything else is tried again after
WEBHOOK_FIRST_RETRY_SECONDS, then three times as long each time, up to WEBHOOK_MAX_ATTEMPTS tries.
Deliveries still waiting when the worker process exits are lost (the status URL still answers).
"""

from __future__ import annotations

import heapq
import http.client
import itertools
import logging
import threading
import time
from dataclasses import dataclass, field

from groovesheet_shared.jobs import Job
from groovesheet_shared.logging import job_context
from groovesheet_shared.webhooks import CallbackUrlRefused, deliver, webhook_body
from groovesheet_worker.config import WorkerSettings

logger = logging.getLogger(__name__)


@dataclass(order=True)
class _Delivery:
    due: float
    order: int
    job: Job = field(compare=False)
    attempt: int = field(default=1, compare=False)


class WebhookSender:
    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings
        self._pending: list[_Delivery] = []
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._busy = 0
        self._closed = False
        self._thread: threading.Thread | None = None

    def job_settled(self, job: Job) -> None:
        """Queue the webhook of a completed or failed job, if it asked for one; returns at once."""
        if not job.callback_url:
            return
        with job_context(job.job_id):
            if not self.settings.webhook_secret:
                logger.error("the job asked for a webhook but WEBHOOK_SECRET is not set; not sending it")
                return
        self._schedule(_Delivery(time.monotonic(), next(self._order), job))

    def _schedule(self, delivery: _Delivery) -> None:
        with self._changed:
            if self._closed:
                return
            heapq.heappush(self._pending, delivery)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="webhooks", daemon=True)
                self._thread.start()
            self._changed.notify_all()

    def _loop(self) -> None:
        while True:
            with self._changed:
                while not self._closed and (not self._pending or self._pending[0].due > time.monotonic()):
                    wait = self._pending[0].due - time.monotonic() if self._pending else None
                    self._changed.wait(wait)
                if self._closed:
                    return
                delivery = heapq.heappop(self._pending)
                self._busy += 1
            try:
                self._attempt(delivery)
            except Exception:  # a bug here must not end the thread: log it and go on
                with job_context(delivery.job.job_id):
                    logger.exception("webhook delivery crashed")
            finally:
                with self._changed:
                    self._busy -= 1
                    self._changed.notify_all()

    def _attempt(self, delivery: _Delivery) -> None:
        job, attempt = delivery.job, delivery.attempt
        url = job.callback_url or ""
        event = f"job.{job.status.value}"
        with job_context(job.job_id):
            sent_at = int(time.time())
            problem: str
            try:
                status = deliver(
                    url,
                    webhook_body(job, sent_at),
                    self.settings.webhook_secret or "",
                    sent_at,
                    event,
                    allow_private=self.settings.webhook_allow_private,
                )
            except CallbackUrlRefused as exc:
                # Checked at upload, so the name resolves elsewhere now: never worth another try.
                logger.error("webhook not sent: %s", exc.message, extra={"attempt": attempt})
                return
            except (OSError, http.client.HTTPException) as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if 200 <= status < 300:
                    logger.info("webhook delivered", extra={"attempt": attempt, "http_status": status})
                    return
                problem = f"HTTP {status}"
            if attempt >= self.settings.webhook_max_attempts:
                logger.error(
                    "webhook given up after %d tries: %s", attempt, problem, extra={"attempt": attempt}
                )
                return
            delay = self.settings.webhook_first_retry_seconds * 3 ** (attempt - 1)
            logger.warning(
                "webhook failed (%s); trying again in %.0f s", problem, delay, extra={"attempt": attempt}
            )
        self._schedule(_Delivery(time.monotonic() + delay, next(self._order), job, attempt + 1))

    def wait_idle(self, timeout: float) -> bool:
        """True once nothing is pending or being sent (for tests and an orderly shutdown)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._pending or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True

    def close(self) -> None:
        """Stop; deliveries still waiting are dropped."""
        with self._changed:
            self._closed = True
            self._pending.clear()
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=DELIVERY_JOIN_SECONDS)


DELIVERY_JOIN_SECONDS = 15.0
