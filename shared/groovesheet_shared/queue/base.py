"""The JobQueue port: the API publishes a job id, one worker at a time claims it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any


@dataclass
class QueueMessage:
    """One delivery of a job.

    ``bucket`` is where the publisher stored the job (``JobStore.location``: a GCS bucket or a local
    folder). A worker only runs jobs from its own store and fails any other (see the job runner).
    """

    job_id: str
    bucket: str | None = None
    delivery_attempt: int = 1
    handle: Any = field(default=None, repr=False)


class JobQueue(ABC):
    @abstractmethod
    def publish(self, job_id: str, bucket: str | None = None) -> None:
        """Hand a stored job to the workers; raises QueueError if the queue did not take it."""

    @abstractmethod
    def claim(self, timeout: float) -> QueueMessage | None:
        """Take the next job for this worker alone, waiting up to ``timeout`` seconds."""

    @abstractmethod
    def ack(self, message: QueueMessage) -> None:
        """The job is done with (completed, or failed for good): never deliver it again."""

    @abstractmethod
    def nack(self, message: QueueMessage) -> None:
        """Give the job back for another try (transient failure, or shutting down)."""

    @abstractmethod
    def requeue_abandoned(self) -> int:
        """Housekeeping the worker runs every QUEUE_SWEEP_SECONDS: put back deliveries whose worker
        died, so they are delivered again. Returns how many were put back."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Stop receiving; a message in hand is not acknowledged."""
