"""Response bodies, as documented at /docs: what clients get back from each endpoint."""

from __future__ import annotations

from datetime import datetime
from pathlib import PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, Field

from groovesheet_api.config import AuthMode
from groovesheet_shared.jobs import Job, JobError, JobOptions, JobResult, JobStatus
from groovesheet_shared.outputs import OUTPUTS, STEM_FILES

STATUS_PATH = "/api/v1/status/{job_id}"
DOWNLOAD_PATH = "/api/v1/download/{job_id}"
PREVIEW_PATH = "/api/v1/jobs/{job_id}/preview.svg"


def downloads_of(job: Job) -> dict[str, str] | None:
    """format -> URL of a completed job: every output, the stems only when it has them."""
    if job.status is not JobStatus.COMPLETED:
        return None
    download = DOWNLOAD_PATH.format(job_id=job.job_id)
    stems = job.result is not None and job.result.stems_available
    return {kind: f"{download}?format={kind}" for kind in OUTPUTS if stems or kind not in STEM_FILES}


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable, machine-readable reason, e.g. invalid_bpm")
    message: str = Field(description="What is wrong and what to do about it, for a person")


class ErrorResponse(BaseModel):
    error: ErrorDetail


class JobAccepted(BaseModel):
    """The answer to an upload: where to poll, and where the result will be."""

    job_id: str
    status: JobStatus
    status_url: str
    download_url: str


class JobView(BaseModel):
    """A job as its owner sees it (GET /api/v1/status/{job_id})."""

    job_id: str
    status: JobStatus
    progress: int = Field(ge=0, le=100, description="0 queued, 30 started ... 100 completed")
    stage: str
    message: str
    filename: str
    content_type: str
    size_bytes: int
    owner: str | None
    options: JobOptions
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    attempts: int
    result: JobResult | None = Field(description="Set when completed")
    error: JobError | None = Field(description="Set when failed")
    status_url: str
    download_url: str | None = Field(description="Set when completed (MusicXML)")
    downloads: dict[str, str] | None = Field(
        description="Set when completed: format -> URL. drums and no_drums (the stems, MP3) only when "
        "the job has them; result.stems says why not"
    )
    preview_url: str | None = Field(description="Set when completed: the notation as SVG")

    @classmethod
    def of(cls, job: Job) -> JobView:
        body: dict[str, Any] = job.model_dump(exclude={"worker", "input_name"})
        completed = job.status is JobStatus.COMPLETED
        download = DOWNLOAD_PATH.format(job_id=job.job_id)
        return cls(
            **body,
            status_url=STATUS_PATH.format(job_id=job.job_id),
            download_url=download if completed else None,
            downloads=downloads_of(job),
            preview_url=PREVIEW_PATH.format(job_id=job.job_id) if completed else None,
        )


class JobSummary(BaseModel):
    """One line of the caller's history (GET /api/v1/jobs)."""

    job_id: str
    title: str = Field(description="The title the uploader typed, else the file name without extension")
    filename: str
    status: JobStatus
    progress: int = Field(ge=0, le=100)
    stage: str
    created_at: datetime
    completed_at: datetime | None
    result: JobResult | None = Field(description="Set when completed: notes, tempo, time signature ...")
    error: JobError | None = Field(description="Set when failed")
    status_url: str
    downloads: dict[str, str] | None = Field(
        description="Set when completed: format -> URL (drums and no_drums only when the job has stems)"
    )

    @classmethod
    def of(cls, job: Job) -> JobSummary:
        return cls(
            job_id=job.job_id,
            title=job.options.title or PurePosixPath(job.filename).stem or job.filename,
            filename=job.filename,
            status=job.status,
            progress=job.progress,
            stage=job.stage,
            created_at=job.created_at,
            completed_at=job.completed_at,
            result=job.result,
            error=job.error,
            status_url=STATUS_PATH.format(job_id=job.job_id),
            downloads=downloads_of(job),
        )


class JobList(BaseModel):
    """A page of the caller's jobs, newest first."""

    jobs: list[JobSummary]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last page")


class Health(BaseModel):
    status: Literal["ok"]
    storage: Literal["local", "gcs"]
    auth: AuthMode


_DESCRIPTIONS = {
    400: "The request is malformed (see the error code)",
    401: "Missing or invalid sign-in token",
    404: "No such job for you; for a download also: this job has no such output (pdf_unavailable, "
    "stems_unavailable, with the reason)",
    408: "The request was too slow to arrive",
    409: "The job is not completed",
    410: "The job's stored record is damaged",
    413: "The file or the song is too large",
    415: "Not multipart, or not an audio format we take",
    416: "The Range lies outside the stem (Content-Range: bytes */size says how long it is)",
    422: "A field or the audio is not acceptable (see the error code)",
    429: "Too many of your jobs are queued or running; see Retry-After",
    431: "Request headers too large",
    500: "Unexpected error on our side",
    503: "Storage, queue or sign-in check unavailable; try again",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the given error statuses, all with the ErrorResponse body."""
    return {status: {"model": ErrorResponse, "description": _DESCRIPTIONS[status]} for status in statuses}
