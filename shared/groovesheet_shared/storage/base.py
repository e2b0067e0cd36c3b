"""The JobStore port: where inputs, metadata and outputs of jobs live."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError

from groovesheet_shared.errors import JobUnreadable
from groovesheet_shared.jobs import Job

JobChange = Callable[[Job], Job | None]
"""Takes the current job and returns the new one, or None to leave it unchanged."""


def parse_stored_job(data: bytes, job_id: str) -> Job:
    """The job in a stored ``metadata.json``; JobUnreadable when it is damaged (it is left as is)."""
    try:
        return Job.from_json(data)
    except (ValidationError, ValueError) as exc:
        problem = str(exc).splitlines()[0][:200]
        raise JobUnreadable(
            f"The stored record of job {job_id} is damaged ({problem}), so its status cannot be shown. "
            "Upload the song again to get a new job."
        ) from exc


class JobStore(ABC):
    """Jobs live under ``jobs/{job_id}/``: ``input.<ext>``, ``metadata.json`` and the outputs.

    Every write is all-or-nothing: a reader sees the old object or the new one, never a part.
    """

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the jobs live (a folder, or a bucket name for the queue message)."""

    @abstractmethod
    def create(self, job: Job, input_file: Path) -> None:
        """Store the input first, then the metadata, so metadata never points at a missing input."""

    @abstractmethod
    def get(self, job_id: str) -> Job:
        """The job's metadata; raises JobNotFound."""

    @abstractmethod
    def update(self, job_id: str, change: JobChange) -> Job:
        """Read-modify-write without lost updates between concurrent writers; returns the result.

        ``change`` may run more than once (a backend retries when another writer got in first), so it
        must only compute the new job from the one it is given.
        """

    @abstractmethod
    def fetch_input(self, job_id: str, destination: Path) -> Path:
        """Copy the job's input to ``destination`` (a folder); returns the file's path."""

    @abstractmethod
    def save_output(self, job_id: str, name: str, source: Path) -> None:
        """Store a finished output file under ``jobs/{job_id}/{name}``, replacing any earlier one."""

    @abstractmethod
    def read_output(self, job_id: str, name: str) -> bytes:
        """An output's bytes; raises OutputNotFound."""

    @abstractmethod
    def delete(self, job_id: str) -> None:
        """Remove everything stored for the job (no error if it is not there)."""
