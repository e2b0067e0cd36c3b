"""Job status and downloads, under the paths clients already use."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse

from groovesheet_api.deps import StoreDep, UserDep, load_own_job
from groovesheet_api.errors import ApiError
from groovesheet_api.ranges import ByteRange, etag, requested_range
from groovesheet_api.routes import add_get_and_head
from groovesheet_api.schemas import JobList, JobSummary, JobView, error_responses
from groovesheet_shared.errors import GroovesheetError, InvalidJobId, OutputNotFound
from groovesheet_shared.jobs import STEMS_EXPIRED, Job, JobStatus, parse_job_id
from groovesheet_shared.logging import job_context
from groovesheet_shared.options import DEFAULT_FILENAME
from groovesheet_shared.outputs import DEFAULT_OUTPUT, OUTPUTS, PDF_FILES, STEM_FILES, OutputKind
from groovesheet_shared.storage import JobStore

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["jobs"])
NO_STORE = {"Cache-Control": "no-store"}

# ?format= values: the output table's kinds.
DownloadFormat = StrEnum("DownloadFormat", {kind: kind for kind in OUTPUTS})  # type: ignore[misc]


HISTORY_PAGE_DEFAULT = 20
HISTORY_PAGE_MAX = 100


def encode_cursor(position: tuple[datetime, str]) -> str:
    created_at, job_id = position
    raw = json.dumps({"t": created_at.isoformat(), "j": job_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The position in a cursor this API handed out; 422 invalid_cursor for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        created_at = datetime.fromisoformat(data["t"])
        if created_at.tzinfo is None:
            raise ValueError("naive time")
        return created_at, parse_job_id(data["j"])
    except (binascii.Error, ValueError, TypeError, KeyError, InvalidJobId, UnicodeDecodeError):
        raise ApiError(
            422,
            "invalid_cursor",
            "The cursor is not one this API handed out. Pass the next_cursor of the previous page as it "
            "is, or leave cursor out to start from your newest job.",
        ) from None


async def _history(
    store: StoreDep,
    user: UserDep,
    limit: Annotated[
        int, Query(ge=1, le=HISTORY_PAGE_MAX, description="Jobs per page")
    ] = HISTORY_PAGE_DEFAULT,
    cursor: Annotated[
        str | None, Query(max_length=512, description="next_cursor of the previous page")
    ] = None,
) -> JSONResponse:
    after = decode_cursor(cursor) if cursor else None
    jobs, position = await run_in_threadpool(store.list_owned, user, limit, after)
    page = JobList(
        jobs=[JobSummary.of(job) for job in jobs],
        next_cursor=encode_cursor(position) if position else None,
    )
    return JSONResponse(page.model_dump(mode="json"), headers=NO_STORE)


add_get_and_head(
    router,
    "/jobs",
    _history,
    summary="Your jobs, newest first",
    response_model=JobList,
    response_class=JSONResponse,
    responses=error_responses(401, 422, 503),
)


async def _status(job_id: str, store: StoreDep, user: UserDep) -> JSONResponse:
    job = await run_in_threadpool(load_own_job, job_id, store, user)
    return JSONResponse(JobView.of(job).model_dump(mode="json"), headers=NO_STORE)


def _route_with_aliases(
    paths: tuple[str, ...], endpoint: Callable[..., Any], summary: str, **documentation: Any
) -> None:
    """The first path is documented; the others answer the same for clients that already use them.

    HEAD answers like GET without a body, for uptime checkers.
    """
    for path in paths:
        add_get_and_head(
            router, path, endpoint, summary=summary, include_in_schema=path == paths[0], **documentation
        )


_route_with_aliases(
    ("/status/{job_id}", "/transcribe/{job_id}", "/jobs/{job_id}"),
    _status,
    "Job status",
    response_model=JobView,
    response_class=JSONResponse,
    responses=error_responses(401, 404, 410, 503),
)


def _delete_own_job(job_id: str, store: JobStore, user: str) -> None:
    job = load_own_job(job_id, store, user)
    with job_context(job.job_id):
        store.delete(job.job_id)
        logger.info("job deleted", extra={"status": job.status.value})


@router.delete(
    "/jobs/{job_id}",
    status_code=204,
    summary="Delete a job: its song, outputs and record",
    response_class=Response,
    responses={204: {"description": "Deleted"}, **error_responses(401, 404, 410, 503)},
)
async def delete_job(job_id: str, store: StoreDep, user: UserDep) -> Response:
    """A queued job is never started; a running one stops at its next progress checkpoint."""
    await run_in_threadpool(_delete_own_job, job_id, store, user)
    return Response(status_code=204, headers=NO_STORE)


def download_name(job: Job, kind: str) -> str:
    stem = PurePosixPath(job.filename).stem or DEFAULT_FILENAME
    return OUTPUTS[kind].download_name(stem)


def _content_disposition(filename: str) -> str:
    ascii_name = re.sub(r"[^A-Za-z0-9._ -]", "_", filename)
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


Paper = StrEnum("Paper", {name: name for name in PDF_FILES})  # type: ignore[misc]
# Where Letter is the usual paper (the Accept-Language region decides; everyone else gets A4).
LETTER_REGIONS = frozenset({"US", "CA", "MX", "PH", "CL", "CO", "VE", "PR", "GT", "CR", "PA", "DO", "SV"})


def paper_for(accept_language: str | None) -> str:
    """'letter' when the first language of Accept-Language names a Letter region, else 'a4'."""
    first = (accept_language or "").split(",")[0].split(";")[0].strip()
    region = first.replace("_", "-").split("-")[1].upper() if "-" in first.replace("_", "-") else ""
    return "letter" if region in LETTER_REGIONS else "a4"


async def _download(
    request: Request,
    job_id: str,
    store: StoreDep,
    user: UserDep,
    format: Annotated[
        DownloadFormat,  # type: ignore[valid-type]
        Query(
            description="musicxml (default), midi, json (the events), pdf (the engraved sheet), "
            "drums (the separated drum track, MP3) or no_drums (the song without its drums, MP3). "
            "The stems exist only when the song went through separation (not for drums_only uploads) "
            "and answer HTTP Range requests, so a player can seek."
        ),
    ] = DownloadFormat[DEFAULT_OUTPUT],  # type: ignore[valid-type]
    paper: Annotated[
        Paper | None,  # type: ignore[valid-type]
        Query(description="For format=pdf: a4 or letter (default: from Accept-Language, else a4)"),
    ] = None,
    accept_language: Annotated[str | None, Header(include_in_schema=False)] = None,
    range_header: Annotated[
        str | None,
        Header(
            alias="Range",
            description="For format=drums|no_drums: one byte range, e.g. bytes=0- or bytes=1000-1999 "
            "(206 Partial Content; 416 when it lies outside the file)",
        ),
    ] = None,
    if_range: Annotated[
        str | None,
        Header(alias="If-Range", description="The ETag of the stem a Range continues; another ETag gets all"),
    ] = None,
) -> Response:
    """A completed job's output, as an attachment named after the song.

    - musicxml (default), midi, json (the hits), pdf (engraved on A4 or Letter; 404 pdf_unavailable
      when engraving failed)
    - drums and no_drums: the stems, MP3 at a constant 192 kbit/s, when the song went through
      separation. The separated drum track, and the song without its drums (the mix minus that track)
      to play along with. They answer HTTP Range requests (206 with Content-Range, Accept-Ranges:
      bytes, ETag and If-Range; 416 for a range outside the file), so an audio player can seek. A job
      without them answers 404 stems_unavailable saying why: a drum-only upload (no separation ran),
      an encoding failure (the sheet is still delivered), or removed with the uploaded song after
      INPUT_RETENTION_DAYS.
    """
    job = await run_in_threadpool(load_own_job, job_id, store, user)
    ensure_completed(job)
    output = OUTPUTS[format.value]
    if output.kind in STEM_FILES:
        return await _stem(request, job, output, store, range_header, if_range)
    file_name = output.file_name
    if output.kind == "pdf":
        file_name = PDF_FILES[paper.value if paper is not None else paper_for(accept_language)]
    try:
        data = await run_in_threadpool(store.read_output, job.job_id, file_name)
    except OutputNotFound:
        if output.kind != "pdf":
            raise
        raise ApiError(
            404,
            "pdf_unavailable",
            "This transcription has no PDF (it could not be engraved). Download the MusicXML and print it "
            "from MuseScore, Sibelius or Dorico.",
        ) from None
    return Response(
        data,
        media_type=output.media_type,
        headers={"Content-Disposition": _content_disposition(download_name(job, output.kind)), **NO_STORE},
    )


# A stem is streamed in parts of this size, each one ranged read of the store.
STEM_CHUNK_BYTES = 1024 * 1024
STEMS_BEFORE_THEY_EXISTED = (
    "This transcription was made before Groovesheet made stems. Upload the song again to get the drum "
    "track and the song without drums."
)


def stems_unavailable(job: Job) -> ApiError:
    """The 404 of a stem that is not there, saying why (drum-only upload, encoding failed, expired)."""
    stems = job.result.stems if job.result is not None else None
    if stems is None:
        reason = STEMS_BEFORE_THEY_EXISTED
    elif stems.available:
        reason = STEMS_EXPIRED  # the result had them: only the retention rule removes them
    else:
        reason = stems.reason or "This transcription has no stems."
    return ApiError(404, "stems_unavailable", reason)


async def _stem(
    request: Request,
    job: Job,
    output: OutputKind,
    store: JobStore,
    range_header: str | None,
    if_range: str | None,
) -> Response:
    """A stem, whole (200) or one byte range of it (206), read from the store only as far as asked."""
    if job.result is None or not job.result.stems_available:
        raise stems_unavailable(job)
    try:
        info = await run_in_threadpool(store.output_info, job.job_id, output.file_name)
    except OutputNotFound:
        raise stems_unavailable(job) from None
    part = requested_range(range_header, if_range, info.size, info.version)
    span = part or ByteRange(0, info.size)
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Length": str(span.length),
        "ETag": etag(info.version),
        "Content-Disposition": _content_disposition(download_name(job, output.kind)),
        **NO_STORE,
    }
    if part is not None:
        headers["Content-Range"] = part.content_range(info.size)
    status = 206 if part is not None else 200
    if request.method == "HEAD":
        return Response(status_code=status, media_type=output.media_type, headers=headers)

    async def chunks() -> AsyncIterator[bytes]:
        position = span.start
        while position < span.stop:
            stop = min(position + STEM_CHUNK_BYTES, span.stop)
            try:
                data = await run_in_threadpool(
                    store.read_output_range,
                    job.job_id,
                    output.file_name,
                    position,
                    stop,
                    version=info.version,
                )
            except GroovesheetError as exc:
                # The status line is sent: all that is left is to end the response short.
                logger.error("stem download broke off: %s", exc.message, extra={"error_code": exc.code})
                raise
            if not data:
                return
            yield data
            position += len(data)

    return StreamingResponse(chunks(), status_code=status, media_type=output.media_type, headers=headers)


_route_with_aliases(
    ("/download/{job_id}", "/transcribe/{job_id}/download", "/jobs/{job_id}/download"),
    _download,
    "Download the transcription",
    response_class=Response,
    responses={
        200: {
            "description": "The file, as an attachment",
            "content": {output.media_type: {} for output in OUTPUTS.values()},
        },
        206: {
            "description": "format=drums|no_drums with a Range header: that part of the stem, with "
            "Content-Range (Accept-Ranges: bytes on every stem response)",
            "content": {"audio/mpeg": {}},
        },
        **error_responses(401, 404, 409, 410, 416, 422, 503),
    },
)
