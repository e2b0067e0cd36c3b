"""PubSubQueue against the real Pub/Sub emulator (no mocks of the Google client)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.cloud.pubsub_v1.subscriber.message import Message

from groovesheet_shared.errors import InvalidJobId, QueueError
from groovesheet_shared.jobs import new_job_id
from groovesheet_shared.queue.base import QueueMessage
from groovesheet_shared.queue.pubsub import PubSubQueue, ensure_topic_and_subscription
from tests.emulators import FAULT_ACK_DEADLINE, PubSubNames

pytestmark = pytest.mark.emulators

REPO = Path(__file__).resolve().parents[2]
# Emulator quirk (0.8.20): it never forgets the stream of a client that went away (closing a
# stream hits a NoSuchMethodError inside it), and delivers an expired message to a stream picked
# among all it knows; each pick of a dead one costs another ack deadline. Several live successors
# make a pick of a live stream likely, and the wait allows a few unlucky picks.
REDELIVERY_WAIT = FAULT_ACK_DEADLINE * 6
SUCCESSORS = 3


@pytest.fixture
def queues(pubsub_topic_subscription: PubSubNames) -> Iterator[list[PubSubQueue]]:
    """Queues made by ``make``; all closed at the end of the test."""
    made: list[PubSubQueue] = []
    yield made
    for queue in made:
        queue.close()


def make(made: list[PubSubQueue], names: PubSubNames, *, consumer: bool = True) -> PubSubQueue:
    queue = PubSubQueue(
        names.project,
        names.topic,
        names.subscription if consumer else None,
        lease_extension_seconds=FAULT_ACK_DEADLINE,
    )
    made.append(queue)
    return queue


def test_publish_then_claim(pubsub_topic_subscription: PubSubNames, queues: list[PubSubQueue]) -> None:
    publisher = make(queues, pubsub_topic_subscription, consumer=False)
    consumer = make(queues, pubsub_topic_subscription)
    job_id = new_job_id()

    publisher.publish(job_id, "groovesheet-jobs")
    message = consumer.claim(timeout=15)

    assert message is not None
    assert (message.job_id, message.bucket, message.delivery_attempt) == (job_id, "groovesheet-jobs", 1)
    assert isinstance(message.handle, Message)
    assert json.loads(message.handle.data) == {"job_id": job_id, "bucket": "groovesheet-jobs"}
    consumer.ack(message)


def test_publish_rejects_bad_job_id_and_missing_topic(pubsub_topic_subscription: PubSubNames) -> None:
    queue = PubSubQueue(pubsub_topic_subscription.project, "no-such-topic", publish_timeout=10)
    try:
        with pytest.raises(InvalidJobId):
            queue.publish("../../etc/passwd")
        started = time.monotonic()
        with pytest.raises(QueueError, match="no-such-topic"):
            queue.publish(new_job_id())
        assert time.monotonic() - started < 10, "a missing topic is not worth retrying"
    finally:
        queue.close()


def test_publisher_cannot_claim_and_project_is_required(pubsub_topic_subscription: PubSubNames) -> None:
    publisher = PubSubQueue(pubsub_topic_subscription.project, pubsub_topic_subscription.topic)
    with pytest.raises(QueueError, match="only publishes"):
        publisher.claim(timeout=0.1)
    publisher.close()
    with pytest.raises(QueueError, match="GCP_PROJECT"):
        PubSubQueue("", "topic")


def test_missing_subscription_is_a_queue_error(pubsub_topic_subscription: PubSubNames) -> None:
    queue = PubSubQueue(pubsub_topic_subscription.project, pubsub_topic_subscription.topic, "no-such-sub")
    try:
        with pytest.raises(QueueError, match="no-such-sub"):
            queue.claim(timeout=10)
    finally:
        queue.close()


def test_one_message_at_a_time_and_lease_kept(
    pubsub_topic_subscription: PubSubNames, queues: list[PubSubQueue]
) -> None:
    publisher = make(queues, pubsub_topic_subscription, consumer=False)
    first, second = make(queues, pubsub_topic_subscription), make(queues, pubsub_topic_subscription)
    job_a, job_b = new_job_id(), new_job_id()
    publisher.publish(job_a)

    # Both wait past the ack deadline: the holder's client keeps extending the lease, so the other
    # consumer never sees the job.
    wait = FAULT_ACK_DEADLINE + 5
    results: dict[str, QueueMessage | None] = {}
    threads = [
        threading.Thread(target=lambda q=q, key=key: results.__setitem__(key, q.claim(timeout=wait)))
        for key, q in (("first", first), ("second", second))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = {key: m for key, m in results.items() if m is not None}
    assert len(winners) == 1, f"exactly one consumer gets the message, got {results}"
    ((holder_key, held),) = winners.items()
    holder, other = (first, second) if holder_key == "first" else (second, first)
    assert held.job_id == job_a

    # Flow control of one: the holder is handed nothing more until it acks. (The emulator may
    # still stream job_b to the holder's client, which keeps it on hold; production Pub/Sub
    # honours max_outstanding_messages on the server, so there the other consumer would get it.)
    publisher.publish(job_b)
    assert holder.claim(timeout=1) is None
    holder.ack(held)
    winner, got = claim_from_any([holder, other], timeout=FAULT_ACK_DEADLINE * 3)
    assert got.job_id == job_b
    assert all(q.claim(timeout=0.5) is None for q in (holder, other)), "delivered once"
    winner.ack(got)


def claim_from_any(candidates: list[PubSubQueue], timeout: float) -> tuple[PubSubQueue, QueueMessage]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for queue in candidates:
            if (message := queue.claim(timeout=0.1)) is not None:
                return queue, message
    raise AssertionError(f"no consumer got a message within {timeout} s")


def test_nack_redelivers(pubsub_topic_subscription: PubSubNames, queues: list[PubSubQueue]) -> None:
    publisher = make(queues, pubsub_topic_subscription, consumer=False)
    consumer = make(queues, pubsub_topic_subscription)
    job_id = new_job_id()
    publisher.publish(job_id)

    first = consumer.claim(timeout=15)
    assert first is not None
    consumer.nack(first)
    again = consumer.claim(timeout=15)

    assert again is not None and again.job_id == job_id
    # Without a dead-letter policy Pub/Sub (and the emulator) leave delivery_attempt unset.
    assert again.handle.delivery_attempt is None and again.delivery_attempt == 1
    consumer.ack(again)


def test_nack_counts_delivery_attempts_with_dead_letter_policy(pubsub_emulator: str) -> None:
    suffix = uuid.uuid4().hex[:12]
    names = PubSubNames("groovesheet-test", f"dl-{suffix}", f"dl-{suffix}-sub")
    ensure_topic_and_subscription(
        *names,
        ack_deadline=FAULT_ACK_DEADLINE,
        dead_letter_topic=f"dl-{suffix}-dead",
        max_delivery_attempts=5,
    )
    # Idempotent: running the setup again is fine.
    ensure_topic_and_subscription(
        *names, ack_deadline=FAULT_ACK_DEADLINE, dead_letter_topic=f"dl-{suffix}-dead"
    )
    made: list[PubSubQueue] = []
    try:
        consumer = make(made, names)
        make(made, names, consumer=False).publish(job_id := new_job_id())
        attempts = []
        for _ in range(3):
            message = consumer.claim(timeout=15)
            assert message is not None and message.job_id == job_id
            attempts.append(message.delivery_attempt)
            consumer.nack(message)
        assert attempts == [1, 2, 3]
    finally:
        for queue in made:
            queue.close()


def test_unacked_message_returns_after_deadline_and_ack_is_final(
    pubsub_topic_subscription: PubSubNames, queues: list[PubSubQueue]
) -> None:
    publisher = make(queues, pubsub_topic_subscription, consumer=False)
    crashed = make(queues, pubsub_topic_subscription)
    job_id = new_job_id()
    publisher.publish(job_id)
    held = crashed.claim(timeout=15)
    assert held is not None
    crashed.close()  # stops extending the lease; the message in hand is neither acked nor nacked

    successors = [make(queues, pubsub_topic_subscription) for _ in range(SUCCESSORS)]
    successor, again = claim_from_any(successors, timeout=REDELIVERY_WAIT)
    assert again.job_id == job_id
    successor.ack(again)

    # Acked: not delivered again, even after the ack deadline has passed.
    time.sleep(FAULT_ACK_DEADLINE + 2)
    assert all(q.claim(timeout=0.5) is None for q in successors)


def test_message_of_sigkilled_consumer_goes_to_another(
    pubsub_topic_subscription: PubSubNames, queues: list[PubSubQueue]
) -> None:
    names = pubsub_topic_subscription
    publisher = make(queues, names, consumer=False)
    job_id = new_job_id()
    publisher.publish(job_id)

    script = textwrap.dedent(f"""
        import sys, time
        from groovesheet_shared.queue.pubsub import PubSubQueue
        queue = PubSubQueue({names.project!r}, {names.topic!r}, {names.subscription!r},
                            lease_extension_seconds={FAULT_ACK_DEADLINE})
        message = queue.claim(timeout=30)
        print(message.job_id if message else "none", flush=True)
        time.sleep(600)  # "working" until killed
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "shared"), str(REPO)])}
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == job_id
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)

    successors = [make(queues, names) for _ in range(SUCCESSORS)]
    successor, again = claim_from_any(successors, timeout=REDELIVERY_WAIT)
    assert again.job_id == job_id
    successor.ack(again)


def test_malformed_message_is_dropped(
    pubsub_topic_subscription: PubSubNames, queues: list[PubSubQueue]
) -> None:
    from google.cloud import pubsub_v1

    names = pubsub_topic_subscription
    raw = pubsub_v1.PublisherClient()
    topic = raw.topic_path(names.project, names.topic)
    raw.publish(topic, b"not json").result(timeout=30)
    raw.publish(topic, json.dumps({"job_id": "../x"}).encode()).result(timeout=30)
    make(queues, names, consumer=False).publish(job_id := new_job_id())
    consumer = make(queues, names)

    message = consumer.claim(timeout=15)
    assert message is not None and message.job_id == job_id
    consumer.ack(message)
    raw.stop()
