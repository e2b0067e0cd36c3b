"""The job record stored as ``jobs/{job_id}/metadata.json``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from groovesheet_shared.errors import InvalidJobId
from groovesheet_shared.options import JobOptions
from groovesheet_shared.outputs import OUTPUT_FILES
from groovesheet_shared.progress import CHECKPOINTS, QUEUED, QUEUED_STAGE

# The job contract lives in options.py, progress.py and outputs.py; these names are re-exported
# because the services import them from here.
__all__ = [
    "CHECKPOINTS",
    "OUTPUT_FILES",
    "Job",
    "JobError",
    "JobOptions",
    "JobResult",
    "JobStatus",
    "Stems",
    "new_job_id",
    "parse_job_id",
    "utc_now",
]


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_job_id() -> str:
    return str(uuid.uuid4())


def parse_job_id(value: str) -> str:
    """Return the canonical form of a UUID4 job id, or raise InvalidJobId.

    Everything that turns a job id into a path or an object name goes through here first, so a
    crafted id can never reach outside the jobs folder.
    """
    try:
        parsed = uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        raise InvalidJobId(
            f"'{str(value)[:64]}' is not a job id. Use the job_id returned by POST /api/v1/transcribe."
        ) from None
    if parsed.version != 4 or str(parsed) != value.lower():
        raise InvalidJobId(
            f"'{str(value)[:64]}' is not a job id. Use the job_id returned by POST /api/v1/transcribe."
        )
    return str(parsed)


class JobStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        return self in (JobStatus.COMPLETED, JobStatus.FAILED)


class JobError(BaseModel):
    code: str
    message: str


STEMS_EXPIRED = (
    "The stems were removed together with your uploaded song, a few days after the job finished "
    "(they add up to the song, which is not kept). Upload the song again to get them."
)


class Stems(BaseModel):
    """Whether the job's stems (outputs.STEM_FILES) can be downloaded, and if not, why.

    ``code`` is one of ``drums_only`` (no separation ran), ``encoding_failed`` (the sheet was delivered,
    the audio could not be encoded) or ``expired`` (removed with the uploaded song); ``reason`` says it
    for a person.
    """

    available: bool = Field(description="True: ?format=drums and ?format=no_drums can be downloaded")
    code: str | None = Field(
        default=None, description="Why not: drums_only, encoding_failed, expired (or disabled)"
    )
    reason: str | None = Field(default=None, description="Why not, for a person")

    @classmethod
    def unavailable(cls, code: str, reason: str) -> Stems:
        return cls(available=False, code=code, reason=reason)


class JobResult(BaseModel):
    total_notes: int
    bpm: float
    alternative_bpm: float | None = Field(
        default=None,
        description="Another tempo the music reads almost as well at (twice, half, three times ... the "
        "written one; a drummer's convention decides which): transcribe again with it as the bpm if the "
        "sheet looks twice too fast or too slow. Null when no other reading comes close, or the bpm was given",
    )
    time_signature: str = "4/4"
    duration_seconds: float
    notes_per_instrument: dict[str, int] = Field(default_factory=dict)
    stage_seconds: dict[str, float] = Field(default_factory=dict)
    stems: Stems | None = Field(
        default=None,
        description="Whether the drum track and the song without drums can be downloaded; "
        "null for jobs finished before stems existed",
    )

    @property
    def stems_available(self) -> bool:
        return self.stems is not None and self.stems.available


Percent = Annotated[int, Field(ge=0, le=100)]


class Job(BaseModel):
    model_config = ConfigDict(validate_assignment=True)

    job_id: str
    status: JobStatus = JobStatus.QUEUED
    progress: Percent = 0
    stage: str = QUEUED_STAGE
    message: str = QUEUED.message
    filename: str
    content_type: str
    size_bytes: int
    input_name: str
    owner: str | None = None
    options: JobOptions = Field(default_factory=JobOptions)
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)
    started_at: datetime | None = None
    completed_at: datetime | None = None
    attempts: int = 0
    worker: str | None = None
    result: JobResult | None = None
    error: JobError | None = None
    # Where the worker POSTs the final status (groovesheet_shared.webhooks); checked at upload.
    callback_url: str | None = None

    @field_validator("job_id")
    @classmethod
    def _valid_job_id(cls, value: str) -> str:
        return parse_job_id(value)

    # --- state changes: each returns a new Job so callers can use them inside JobStore.update
    def _changed(self, **fields: object) -> Job:
        return self.model_copy(update={**fields, "updated_at": utc_now()})

    def started(self, worker: str) -> Job:
        checkpoint = CHECKPOINTS["started"]
        return self._changed(
            status=JobStatus.PROCESSING,
            progress=checkpoint.percent,
            stage="started",
            message=checkpoint.message,
            started_at=utc_now(),
            attempts=self.attempts + 1,
            worker=worker,
            error=None,
        )

    def progressed(self, percent: int, stage: str, message: str) -> Job:
        # Progress never goes backwards for the person watching the bar.
        return self._changed(progress=max(self.progress, percent), stage=stage, message=message)

    def completed(self, result: JobResult) -> Job:
        checkpoint = CHECKPOINTS["completed"]
        return self._changed(
            status=JobStatus.COMPLETED,
            progress=checkpoint.percent,
            stage="completed",
            message=checkpoint.message,
            completed_at=utc_now(),
            result=result,
            error=None,
        )

    def requeued(self, note: str) -> Job:
        """Back to the queue for another try; ``note`` tells the person watching why."""
        return self._changed(
            status=JobStatus.QUEUED, progress=QUEUED.percent, stage=QUEUED_STAGE, message=note, worker=None
        )

    def failed(self, code: str, message: str) -> Job:
        return self._changed(
            status=JobStatus.FAILED,
            stage="failed",
            message=message,
            completed_at=utc_now(),
            error=JobError(code=code, message=message),
        )

    def stems_expired(self) -> Job | None:
        """The stems were removed with the uploaded song (INPUT_RETENTION_DAYS); None if none were there."""
        if self.result is None or not self.result.stems_available:
            return None
        result = self.result.model_copy(update={"stems": Stems.unavailable("expired", STEMS_EXPIRED)})
        return self._changed(result=result)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    @classmethod
    def from_json(cls, data: str | bytes) -> Job:
        return cls.model_validate_json(data)
