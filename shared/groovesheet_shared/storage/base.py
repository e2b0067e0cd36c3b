"""The JobStore port: where inputs, metadata and outputs of jobs live."""

from __future__ import annotations

import hashlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from groovesheet_shared.errors import JobNotFound, JobUnreadable, TooManyActiveJobs
from groovesheet_shared.jobs import Job

logger = logging.getLogger(__name__)

JobChange = Callable[[Job], Job | None]
"""Takes the current job and returns the new one, or None to leave it unchanged."""


@dataclass(frozen=True)
class OutputInfo:
    """What a ranged read needs to know of a stored output before reading it."""

    size: int
    # Changes whenever the object is replaced (GCS generation; a local file's inode, mtime and size):
    # the ETag of a download, and the precondition of each of its ranged reads.
    version: str


class IndexEntry(BaseModel):
    job_id: str
    created_at: datetime
    # True until the job was seen completed, failed or gone; only these are read to count active jobs.
    active: bool = True


class OwnerIndex(BaseModel):
    """Every job of one owner (``owners/{sha256(owner)}/index.json``): history without listing the store."""

    jobs: list[IndexEntry] = Field(default_factory=list)


IndexChange = Callable[[OwnerIndex], OwnerIndex | None]
"""Takes the current index and returns the new one, or None to leave it unchanged. May run again."""
HistoryPosition = tuple[datetime, str]
"""Where a page of history ends: (created_at, job_id) of its last job; the next page starts after it."""


def owner_key(owner: str) -> str:
    """The owner's name in object and file names: any ``sub`` becomes 64 safe hex characters."""
    return hashlib.sha256(owner.encode()).hexdigest()


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

    def create(self, job: Job, input_file: Path, *, max_active: int | None = None) -> None:
        """Store the input, then the metadata, then the owner's index entry.

        Metadata never points at a missing input. With ``max_active``, the index entry is added only
        while the owner has fewer queued or processing jobs; otherwise TooManyActiveJobs is raised
        and nothing stays stored. The index is changed atomically, so concurrent uploads of one owner
        cannot both slip under the limit.
        """
        self._create_objects(job, input_file)
        if job.owner is None:
            return
        try:
            self._change_index(job.owner, lambda index: self._with_entry(index, job, max_active))
        except BaseException:
            self._delete_objects(job.job_id)
            raise

    def _with_entry(self, index: OwnerIndex, job: Job, max_active: int | None) -> OwnerIndex:
        entries = [entry for entry in index.jobs if entry.job_id != job.job_id]
        if max_active is not None:
            # Only with a limit: reading the jobs still marked active is what the count costs.
            finished = self._finished(entries)
            entries = [e.model_copy(update={"active": False}) if e.job_id in finished else e for e in entries]
            active = sum(1 for entry in entries if entry.active)
            if active >= max_active:
                raise TooManyActiveJobs(active, max_active)
        entries.append(IndexEntry(job_id=job.job_id, created_at=job.created_at))
        return OwnerIndex(jobs=entries)

    def _finished(self, entries: list[IndexEntry]) -> set[str]:
        """Ids of entries still marked active whose job is completed, failed, gone or unreadable."""
        finished: set[str] = set()
        for entry in entries:
            if not entry.active:
                continue
            try:
                if self.get(entry.job_id).status.is_final:
                    finished.add(entry.job_id)
            except (JobNotFound, JobUnreadable):
                finished.add(entry.job_id)
        return finished

    def count_active(self, owner: str) -> int:
        """How many of the owner's jobs are queued or processing (reads only the ones not yet seen done)."""
        index = self._read_index(owner)
        finished = self._finished(index.jobs)
        if finished:

            def mark(current: OwnerIndex) -> OwnerIndex:
                return OwnerIndex(
                    jobs=[
                        e.model_copy(update={"active": False}) if e.job_id in finished else e
                        for e in current.jobs
                    ]
                )

            self._change_index(owner, mark)
        return sum(1 for entry in index.jobs if entry.active and entry.job_id not in finished)

    def list_owned(
        self, owner: str, limit: int, after: HistoryPosition | None = None
    ) -> tuple[list[Job], HistoryPosition | None]:
        """The owner's jobs, newest first, starting after ``after``; and where the next page starts.

        The position is None when there are no more jobs (a last page may also come back empty, when
        the jobs after it were deleted meanwhile). A job deleted meanwhile is skipped.
        """
        entries = sorted(self._read_index(owner).jobs, key=lambda e: (e.created_at, e.job_id), reverse=True)
        if after is not None:
            entries = [e for e in entries if (e.created_at, e.job_id) < after]
        jobs: list[Job] = []
        for entry in entries:
            if len(jobs) == limit:
                last = jobs[-1]
                return jobs, (last.created_at, last.job_id)
            try:
                job = self.get(entry.job_id)
            except JobNotFound:
                continue
            except JobUnreadable as exc:
                logger.error("history skips an unreadable job: %s", exc.message)
                continue
            if job.owner == owner:
                jobs.append(job)
        return jobs, None

    def _remove_from_index(self, owner: str, job_id: str) -> None:
        def remove(index: OwnerIndex) -> OwnerIndex | None:
            kept = [entry for entry in index.jobs if entry.job_id != job_id]
            return None if len(kept) == len(index.jobs) else OwnerIndex(jobs=kept)

        self._change_index(owner, remove)

    @abstractmethod
    def remove_expired_inputs(self, finished_before: datetime) -> int:
        """Delete the uploaded song of every job completed or failed before ``finished_before``.

        Outputs and the record stay. Returns how many inputs were removed.
        """

    @abstractmethod
    def _create_objects(self, job: Job, input_file: Path) -> None:
        """Store the input first, then the metadata; neither may already exist."""

    @abstractmethod
    def _delete_objects(self, job_id: str) -> None:
        """Remove everything stored under the job (no error if it is not there)."""

    @abstractmethod
    def _read_index(self, owner: str) -> OwnerIndex:
        """The owner's index (empty when there is none yet)."""

    @abstractmethod
    def _change_index(self, owner: str, change: IndexChange) -> OwnerIndex:
        """Read-modify-write of the owner's index without lost updates; ``change`` may run again."""

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
    def output_info(self, job_id: str, name: str) -> OutputInfo:
        """Size and version of an output; raises OutputNotFound (JobNotFound when the job is gone)."""

    @abstractmethod
    def read_output_range(
        self, job_id: str, name: str, start: int, stop: int, *, version: str | None = None
    ) -> bytes:
        """Bytes ``start`` up to (not including) ``stop`` of an output, without reading the rest.

        With ``version`` (from output_info), the read fails with StorageError if the object was
        replaced meanwhile, so the parts of one download never come from two versions.
        Raises OutputNotFound.
        """

    def delete(self, job_id: str) -> None:
        """Remove everything stored for the job, then its index entry (no error if it is not there)."""
        try:
            owner = self.get(job_id).owner
        except (JobNotFound, JobUnreadable):
            owner = None  # an unreadable record's entry is dropped by the next count as "gone"
        self._delete_objects(job_id)
        if owner is not None:
            self._remove_from_index(owner, job_id)
