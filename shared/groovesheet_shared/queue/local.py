"""JobQueue on a local folder: one JSON file per message.

``pending/`` holds messages to deliver; a worker claims one by renaming it into ``claimed/``,
which the filesystem does for exactly one of any number of racing workers. A claim records the
worker's pid so a claim left behind by a dead worker can be put back (at-least-once delivery).
A message no worker can read is moved to ``rejected/`` (kept for a person to look at).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time
from pathlib import Path

from groovesheet_shared.errors import InvalidJobId, QueueError
from groovesheet_shared.jobs import parse_job_id
from groovesheet_shared.queue.base import JobQueue, QueueMessage
from groovesheet_shared.storage.local import atomic_write_bytes

logger = logging.getLogger(__name__)


class LocalDirQueue(JobQueue):
    def __init__(self, root: Path, poll_interval: float = 0.5) -> None:
        self.root = Path(root)
        self.pending = self.root / "pending"
        self.claimed = self.root / "claimed"
        self.rejected = self.root / "rejected"
        self.poll_interval = poll_interval
        for folder in (self.pending, self.claimed, self.rejected):
            folder.mkdir(parents=True, exist_ok=True)

    def publish(self, job_id: str, bucket: str | None = None) -> None:
        job_id = parse_job_id(job_id)
        body = {"job_id": job_id, "bucket": bucket, "delivery_attempt": 1}
        # Time-ordered names give first-in, first-out delivery.
        name = f"{time.time_ns():020d}-{job_id}.json"
        try:
            atomic_write_bytes(self.pending / name, json.dumps(body).encode())
        except OSError as exc:
            raise QueueError(f"Could not queue job {job_id}: {exc}") from exc

    def claim(self, timeout: float) -> QueueMessage | None:
        deadline = time.monotonic() + timeout
        while True:
            message = self._claim_one()
            if message is not None or time.monotonic() >= deadline:
                return message
            time.sleep(min(self.poll_interval, max(0.0, deadline - time.monotonic())))

    def _claim_one(self) -> QueueMessage | None:
        for entry in sorted(self.pending.glob("*.json")):
            target = self.claimed / entry.name
            try:
                os.rename(entry, target)
            except FileNotFoundError:
                continue  # another worker won this one
            try:
                body = json.loads(target.read_text())
                job_id = parse_job_id(body["job_id"])
                bucket = body.get("bucket")
                delivery_attempt = int(body.get("delivery_attempt", 1))
            except (ValueError, KeyError, TypeError, AttributeError, InvalidJobId) as exc:
                logger.error("moving unreadable queue message %s to rejected/: %s", entry.name, exc)
                with contextlib.suppress(FileNotFoundError):
                    os.rename(target, self.rejected / entry.name)
                continue
            body["claimed_by"] = {"host": socket.gethostname(), "pid": os.getpid()}
            body["claimed_at"] = time.time()
            atomic_write_bytes(target, json.dumps(body).encode())
            return QueueMessage(
                job_id=job_id,
                bucket=bucket if isinstance(bucket, str) else None,
                delivery_attempt=delivery_attempt,
                handle=target,
            )
        return None

    def ack(self, message: QueueMessage) -> None:
        with contextlib.suppress(FileNotFoundError):
            Path(message.handle).unlink()

    def nack(self, message: QueueMessage) -> None:
        self._return_to_pending(Path(message.handle))

    def _return_to_pending(self, claimed: Path) -> None:
        try:
            body = json.loads(claimed.read_text())
        except FileNotFoundError:
            return
        body.pop("claimed_by", None)
        body.pop("claimed_at", None)
        body["delivery_attempt"] = int(body.get("delivery_attempt", 1)) + 1
        atomic_write_bytes(claimed, json.dumps(body).encode())
        with contextlib.suppress(FileNotFoundError):
            os.rename(claimed, self.pending / claimed.name)

    def requeue_abandoned(self) -> int:
        """Put back claims whose worker process on this host is gone; returns how many."""
        returned = 0
        host = socket.gethostname()
        for claimed in sorted(self.claimed.glob("*.json")):
            try:
                owner = json.loads(claimed.read_text()).get("claimed_by") or {}
            except (FileNotFoundError, json.JSONDecodeError):
                continue
            if owner.get("host") == host and not _process_alive(int(owner.get("pid", 0))):
                self._return_to_pending(claimed)
                returned += 1
        return returned

    def pending_count(self) -> int:
        return sum(1 for _ in self.pending.glob("*.json"))


def _process_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
