"""Delete and cancel on the emulators end to end: GCS store, Pub/Sub queue, the real runner.

A running job deleted mid-way and a queued job deleted before any worker took it are both acked: the
subscription never delivers them again, and nothing is left in the bucket.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from groovesheet_shared.queue.pubsub import PubSubQueue
from groovesheet_shared.storage.gcs import GcsJobStore
from groovesheet_worker.runner import JobRunner
from tests.emulators import FAULT_ACK_DEADLINE, PROJECT, PubSubNames
from tests.worker.conftest import add_job
from tests.worker.fake_pipeline import PIPELINE_STAGES, FakePipeline
from tests.worker.test_cancel import DeletingPipeline, leftovers

pytestmark = pytest.mark.emulators


def consumer(names: PubSubNames) -> PubSubQueue:
    return PubSubQueue(
        names.project, names.topic, names.subscription, lease_extension_seconds=FAULT_ACK_DEADLINE
    )


def test_deleted_jobs_are_acked_never_redelivered_and_leave_nothing(
    gcs_bucket: str, pubsub_topic_subscription: PubSubNames, settings, tmp_path: Path
) -> None:
    store = GcsJobStore(bucket_name=gcs_bucket, project=PROJECT)
    publisher = PubSubQueue(pubsub_topic_subscription.project, pubsub_topic_subscription.topic)
    running = add_job(store, publisher, tmp_path)
    queued = add_job(store, publisher, tmp_path)
    store.delete(queued)  # DELETE before any worker took it

    worker_queue = consumer(pubsub_topic_subscription)
    try:
        seen: dict[str, DeletingPipeline | FakePipeline] = {}
        for _ in range(2):
            message = worker_queue.claim(timeout=15)
            assert message is not None
            pipeline: DeletingPipeline | FakePipeline = (
                DeletingPipeline(store, running, at="separated")
                if message.job_id == running
                else FakePipeline()
            )
            seen[message.job_id] = pipeline
            JobRunner(store, worker_queue, pipeline, settings).handle(message)
    finally:
        worker_queue.close()

    running_pipeline = seen[running]
    assert isinstance(running_pipeline, DeletingPipeline)
    assert running_pipeline.reached == PIPELINE_STAGES[: PIPELINE_STAGES.index("separated") + 1]
    queued_pipeline = seen[queued]
    assert isinstance(queued_pipeline, FakePipeline) and queued_pipeline.calls == []
    assert leftovers(store, running) == [] and leftovers(store, queued) == []

    # Past the ack deadline a new worker gets nothing: both messages were acknowledged.
    later = consumer(pubsub_topic_subscription)
    try:
        assert later.claim(timeout=FAULT_ACK_DEADLINE + 3) is None
    finally:
        later.close()
        publisher.close()
