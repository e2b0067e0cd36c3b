"""How a job is shown to its owner."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from groovesheet_shared.jobs import OUTPUT_FILES, Job, JobStatus

STATUS_PATH = "/api/v1/status/{job_id}"
DOWNLOAD_PATH = "/api/v1/download/{job_id}"


def job_view(job: Job, request: Request) -> dict[str, Any]:
    body = job.model_dump(mode="json", exclude={"worker", "input_name"})
    body["status_url"] = STATUS_PATH.format(job_id=job.job_id)
    body["download_url"] = None
    if job.status is JobStatus.COMPLETED:
        download = DOWNLOAD_PATH.format(job_id=job.job_id)
        body["download_url"] = download
        body["downloads"] = {kind: f"{download}?format={kind}" for kind in OUTPUT_FILES}
        body["preview_url"] = f"/api/v1/jobs/{job.job_id}/preview.svg"
    return body
