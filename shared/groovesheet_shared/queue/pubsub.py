"""JobQueue on Google Cloud Pub/Sub (production; the gcloud Pub/Sub emulator in tests).

The API publishes ``{"job_id", "bucket"}`` to the topic. A worker consumes the subscription with
streaming pull and flow control of one message: the client library hands over the next message
only after the one in hand is acked or nacked, and keeps extending the lease of the one in hand
(up to ``max_lease_seconds``) while a long transcription runs. If the worker dies, the lease
stops being extended and Pub/Sub redelivers the message after at most ``lease_extension_seconds``.

When ``PUBSUB_EMULATOR_HOST`` is set the client library talks to the emulator by itself.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
import time
from typing import Any

from google.api_core import exceptions as gexc
from google.api_core.retry import Retry, if_exception_type
from google.auth.exceptions import GoogleAuthError
from google.cloud import pubsub_v1
from google.cloud.pubsub_v1.subscriber.futures import StreamingPullFuture
from google.cloud.pubsub_v1.subscriber.message import Message

from groovesheet_shared.errors import InvalidJobId, QueueError
from groovesheet_shared.jobs import parse_job_id
from groovesheet_shared.queue.base import JobQueue, QueueMessage

logger = logging.getLogger(__name__)

# The transient errors the client library itself retries on publish.
_PUBLISH_RETRYABLE = if_exception_type(
    gexc.Aborted,
    gexc.Cancelled,
    gexc.DeadlineExceeded,
    gexc.InternalServerError,
    gexc.ResourceExhausted,
    gexc.ServiceUnavailable,
    gexc.Unknown,
)
# How often claim() looks at whether the streaming pull died while it waits for a message.
_POLL_SECONDS = 0.5


class PubSubQueue(JobQueue):
    def __init__(
        self,
        project: str,
        topic: str,
        subscription: str | None = None,
        *,
        publish_timeout: float = 30.0,
        max_lease_seconds: float = 3600.0,
        lease_extension_seconds: int = 60,
    ) -> None:
        """``subscription=None`` makes a publisher only (the API).

        ``lease_extension_seconds`` (10-600) is the ack deadline the client asks for on the stream
        and each lease extension: how long a dead worker's message waits before redelivery.
        """
        if not project:
            raise QueueError("GCP_PROJECT is not set: Pub/Sub needs the project that owns the topic.")
        self.project = project
        self.topic_path = pubsub_v1.PublisherClient.topic_path(project, topic)
        self.subscription_path = (
            pubsub_v1.SubscriberClient.subscription_path(project, subscription) if subscription else None
        )
        self._publish_timeout = publish_timeout
        self._flow_control = pubsub_v1.types.FlowControl(
            max_messages=1,
            max_lease_duration=max_lease_seconds,
            min_duration_per_lease_extension=lease_extension_seconds,
            max_duration_per_lease_extension=lease_extension_seconds,
        )
        self._publisher: pubsub_v1.PublisherClient | None = None
        self._subscriber: pubsub_v1.SubscriberClient | None = None
        self._pull: StreamingPullFuture | None = None
        self._received: queue.Queue[Message] = queue.Queue()
        self._lock = threading.Lock()
        self._closed = False

    # --- publisher side (the API)
    def publish(self, job_id: str, bucket: str | None = None) -> None:
        data = json.dumps({"job_id": parse_job_id(job_id), "bucket": bucket}).encode()
        try:
            publisher = self._publisher_client()
            # The library retries transient errors; bound that by our own wait so a message the
            # caller was told failed is not quietly published minutes later.
            future = publisher.publish(
                self.topic_path,
                data,
                retry=Retry(predicate=_PUBLISH_RETRYABLE, timeout=self._publish_timeout),
                timeout=10.0,
            )
            future.result(timeout=self._publish_timeout)
        except QueueError:
            raise
        except Exception as exc:  # any failure must reach the API as QueueError (503, job failed)
            raise QueueError(
                f"Could not queue job {job_id} on {self.topic_path}: {_describe(exc)}. Try again shortly."
            ) from exc

    def _publisher_client(self) -> pubsub_v1.PublisherClient:
        with self._lock:
            if self._publisher is None:
                self._publisher = _make_client(pubsub_v1.PublisherClient)
            return self._publisher

    # --- consumer side (the worker)
    def claim(self, timeout: float) -> QueueMessage | None:
        pull = self._ensure_pulling()
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                message = self._received.get(timeout=max(0.0, min(_POLL_SECONDS, remaining)))
            except queue.Empty:
                if self._closed:
                    return None
                if pull.done():
                    raise QueueError(
                        f"Stopped receiving from {self.subscription_path}: {_describe(_pull_error(pull))}"
                    ) from None
                if remaining <= 0:
                    return None
                continue
            parsed = _parse(message)
            if parsed is not None:
                return parsed
            # A message no worker can ever handle: drop it loudly rather than redeliver it forever.
            message.ack()

    def ack(self, message: QueueMessage) -> None:
        _handle(message).ack()

    def nack(self, message: QueueMessage) -> None:
        _handle(message).nack()

    def requeue_abandoned(self) -> int:
        """Nothing to do: Pub/Sub redelivers a message by itself once its lease is no longer renewed."""
        return 0

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True  # from now on the callback gives messages straight back
            pull, subscriber, publisher = self._pull, self._subscriber, self._publisher
        # Give back what arrived but was never handed out, before the stream (which carries the
        # nacks) shuts down. The message in hand, if any, is the caller's to ack or nack.
        self._nack_received()
        if pull is not None:
            pull.cancel()
            with contextlib.suppress(Exception):
                pull.result(timeout=10)
        self._nack_received()
        if subscriber is not None:
            with contextlib.suppress(Exception):
                subscriber.close()
        if publisher is not None:
            with contextlib.suppress(Exception):
                publisher.stop()

    def _nack_received(self) -> None:
        while True:
            try:
                self._received.get_nowait().nack()
            except queue.Empty:
                return

    def _on_message(self, message: Message) -> None:
        # Runs on the client's callback thread. Flow control (max_messages=1) means there is at
        # most one message here until the worker acks or nacks it.
        if self._closed:
            message.nack()
        else:
            self._received.put(message)

    def _ensure_pulling(self) -> StreamingPullFuture:
        with self._lock:
            if self._closed:
                raise QueueError("The queue is closed")
            if self.subscription_path is None:
                raise QueueError("This queue only publishes: it was created without a subscription")
            if self._pull is None:
                self._subscriber = _make_client(pubsub_v1.SubscriberClient)
                self._pull = self._subscriber.subscribe(
                    self.subscription_path, callback=self._on_message, flow_control=self._flow_control
                )
            return self._pull


def ensure_topic_and_subscription(
    project: str,
    topic: str,
    subscription: str,
    ack_deadline: int = 600,
    *,
    dead_letter_topic: str | None = None,
    max_delivery_attempts: int = 5,
) -> tuple[str, str]:
    """Create the topic and subscription if missing (idempotent); returns their paths.

    With ``dead_letter_topic`` the subscription gets a dead-letter policy (that topic is created
    too), which is also what makes Pub/Sub fill in ``delivery_attempt``.
    """
    publisher = _make_client(pubsub_v1.PublisherClient)
    subscriber = _make_client(pubsub_v1.SubscriberClient)
    topic_path = publisher.topic_path(project, topic)
    subscription_path = subscriber.subscription_path(project, subscription)
    request: dict[str, Any] = {
        "name": subscription_path,
        "topic": topic_path,
        "ack_deadline_seconds": ack_deadline,
    }
    try:
        topics = [topic_path]
        if dead_letter_topic:
            dead_letter_path = publisher.topic_path(project, dead_letter_topic)
            topics.append(dead_letter_path)
            request["dead_letter_policy"] = {
                "dead_letter_topic": dead_letter_path,
                "max_delivery_attempts": max_delivery_attempts,
            }
        for path in topics:
            with contextlib.suppress(gexc.AlreadyExists):
                publisher.create_topic(name=path)
        with contextlib.suppress(gexc.AlreadyExists):
            subscriber.create_subscription(request=request)
    except gexc.GoogleAPICallError as exc:
        raise QueueError(f"Could not create {topic_path} / {subscription_path}: {_describe(exc)}") from exc
    finally:
        subscriber.close()
        publisher.stop()
    return topic_path, subscription_path


def _make_client(factory: Any) -> Any:
    try:
        return factory()
    except GoogleAuthError as exc:
        raise QueueError(
            f"No Google Cloud credentials for Pub/Sub: {exc}. Run 'gcloud auth application-default "
            "login', set GOOGLE_APPLICATION_CREDENTIALS, or set PUBSUB_EMULATOR_HOST for the emulator."
        ) from exc


def _parse(message: Message) -> QueueMessage | None:
    try:
        body = json.loads(message.data)
        job_id = parse_job_id(body["job_id"])
        bucket = body.get("bucket")
    except (ValueError, KeyError, TypeError, AttributeError, InvalidJobId) as exc:
        logger.error("Dropping malformed queue message %s: %s", message.message_id, exc)
        return None
    # Pub/Sub fills delivery_attempt only when the subscription has a dead-letter policy.
    return QueueMessage(
        job_id=job_id,
        bucket=bucket if isinstance(bucket, str) else None,
        delivery_attempt=message.delivery_attempt or 1,
        handle=message,
    )


def _handle(message: QueueMessage) -> Message:
    if not isinstance(message.handle, Message):
        raise QueueError(f"Message for job {message.job_id} did not come from this Pub/Sub queue")
    return message.handle


def _pull_error(pull: StreamingPullFuture) -> BaseException | str:
    try:
        return pull.exception(timeout=0) or "the stream was closed"
    except Exception as exc:  # cancelled
        return exc


def _describe(exc: BaseException | str) -> str:
    if isinstance(exc, str):
        return exc
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}".replace("\n", " ")[:500]
