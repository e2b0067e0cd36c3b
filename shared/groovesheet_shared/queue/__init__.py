"""Queue backends behind one port: a local folder (default) or Pub/Sub."""

from __future__ import annotations

from groovesheet_shared.queue.base import JobQueue, QueueMessage
from groovesheet_shared.queue.local import LocalDirQueue
from groovesheet_shared.settings import CommonSettings

__all__ = ["JobQueue", "LocalDirQueue", "QueueMessage", "create_job_queue"]


def create_job_queue(settings: CommonSettings, *, consumer: bool = False) -> JobQueue:
    """The API publishes (consumer=False); the worker claims (consumer=True)."""
    if settings.use_cloud_storage:
        from groovesheet_shared.queue.pubsub import PubSubQueue

        return PubSubQueue(
            project=settings.gcp_project or "",
            topic=settings.worker_topic,
            subscription=settings.worker_subscription if consumer else None,
            max_lease_seconds=settings.max_lease_seconds,
            lease_extension_seconds=settings.pubsub_lease_extension_seconds,
        )
    return LocalDirQueue(settings.queue_dir)
