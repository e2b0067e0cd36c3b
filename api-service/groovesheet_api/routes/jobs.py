"""Job status and downloads, under the paths clients already use."""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from groovesheet_api.deps import StoreDep, UserDep, load_own_job
from groovesheet_api.errors import ApiError
from groovesheet_api.routes.views import job_view
from groovesheet_shared.jobs import (
    OUTPUT_FILES,
    OUTPUT_MEDIA_TYPES,
    OUTPUT_SUFFIXES,
    Job,
    JobStatus,
)

router = APIRouter(prefix="/api/v1", tags=["jobs"])
NO_STORE = {"Cache-Control": "no-store"}


class DownloadFormat(StrEnum):
    musicxml = "musicxml"
    midi = "midi"
    json = "json"


async def _status(job_id: str, request: Request, store: StoreDep, user: UserDep) -> JSONResponse:
    job = await run_in_threadpool(load_own_job, job_id, store, user)
    return JSONResponse(job_view(job, request), headers=NO_STORE)


def _route_with_aliases(paths: tuple[str, ...], endpoint: Callable[..., Any], summary: str) -> None:
    """The first path is documented; the others answer the same for clients that already use them."""
    for path in paths:
        router.add_api_route(
            path,
            endpoint,
            methods=["GET"],
            summary=summary,
            include_in_schema=path == paths[0],
            response_class=JSONResponse if endpoint is _status else Response,
        )


_route_with_aliases(("/status/{job_id}", "/transcribe/{job_id}", "/jobs/{job_id}"), _status, "Job status")


def download_name(job: Job, kind: DownloadFormat) -> str:
    stem = Path(job.filename).stem or "song"
    return f"{stem}_transcription{OUTPUT_SUFFIXES[kind.value]}"


def _content_disposition(filename: str) -> str:
    ascii_name = re.sub(r'[^A-Za-z0-9._ -]', "_", filename)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def ensure_completed(job: Job) -> None:
    if job.status is JobStatus.FAILED:
        reason = job.error.message if job.error else job.message
        raise ApiError(409, "job_failed", f"This job failed, so there is nothing to download: {reason}")
    if job.status is not JobStatus.COMPLETED:
        raise ApiError(
            409,
            "job_not_ready",
            f"The transcription is not finished yet ({job.status.value}, {job.progress}%). "
            "Poll the status URL and download when it says completed.",
        )


async def _download(
    job_id: str,
    store: StoreDep,
    user: UserDep,
    format: DownloadFormat = DownloadFormat.musicxml,
) -> Response:
    job = await run_in_threadpool(load_own_job, job_id, store, user)
    ensure_completed(job)
    data = await run_in_threadpool(store.read_output, job.job_id, OUTPUT_FILES[format.value])
    return Response(
        data,
        media_type=OUTPUT_MEDIA_TYPES[format.value],
        headers={"Content-Disposition": _content_disposition(download_name(job, format)), **NO_STORE},
    )


_route_with_aliases(
    ("/download/{job_id}", "/transcribe/{job_id}/download", "/jobs/{job_id}/download"),
    _download,
    "Download the transcription",
)
