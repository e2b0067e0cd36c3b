"""Typed errors with a code and a message meant for a person; the API maps them to HTTP once."""

from __future__ import annotations


class GroovesheetError(Exception):
    """Base error: ``code`` is stable and machine-readable, ``message`` says what to do."""

    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidJobId(GroovesheetError):
    code = "invalid_job_id"


class InvalidJobOptions(GroovesheetError, ValueError):
    """An option the uploader chose is outside the job contract (``code`` names which one).

    A ValueError too, so pydantic reports it as a validation error when a model is built directly.
    """

    code = "invalid_options"


class JobNotFound(GroovesheetError):
    code = "job_not_found"


class JobUnreadable(GroovesheetError):
    """The stored record of a job exists but cannot be read (damaged ``metadata.json``).

    It is left where it is for an operator to look at; nothing deletes or overwrites it.
    """

    code = "job_unreadable"


class OutputNotFound(GroovesheetError):
    code = "output_not_found"


class TooManyActiveJobs(GroovesheetError):
    """The owner already has the most queued or processing jobs allowed; ``active`` says how many."""

    code = "too_many_active_jobs"

    def __init__(self, active: int, limit: int) -> None:
        jobs = "job" if active == 1 else "jobs"
        super().__init__(
            f"You already have {active} {jobs} queued or running, and at most {limit} may be at once. "
            "Wait for one to finish (or delete one), then upload again."
        )
        self.active = active
        self.limit = limit


class StorageError(GroovesheetError):
    """The store could not be read or written; usually transient."""

    code = "storage_error"


class QueueError(GroovesheetError):
    """The queue could not take or give a message; usually transient."""

    code = "queue_error"


class TranscriptionError(GroovesheetError):
    """A job cannot be transcribed.

    ``retryable`` is False for problems with the input itself (undecodable, silent, too long):
    trying again would fail the same way, so the job is failed and the message acknowledged.
    """

    code = "transcription_failed"

    def __init__(self, message: str, *, code: str | None = None, retryable: bool = False) -> None:
        super().__init__(message, code=code)
        self.retryable = retryable
