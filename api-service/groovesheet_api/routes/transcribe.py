"""POST /api/v1/transcribe: store the song and its metadata, then queue the job.

A refused upload leaves nothing stored, a 503 included: if the queue does not take the job, the job
is deleted again (its id was never given to anyone).
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from groovesheet_api.audio_probe import SUPPORTED, ProbedAudio, probe_audio
from groovesheet_api.config import ApiSettings
from groovesheet_api.decoding import Decoder, DecoderCrashed
from groovesheet_api.deps import QueueDep, SettingsDep, StoreDep, UserDep
from groovesheet_api.errors import ApiError
from groovesheet_api.schemas import DOWNLOAD_PATH, STATUS_PATH, JobAccepted, error_responses
from groovesheet_api.upload import ReceivedUpload, receive_upload
from groovesheet_shared.errors import GroovesheetError, QueueError, TooManyActiveJobs
from groovesheet_shared.jobs import Job, JobOptions, new_job_id
from groovesheet_shared.logging import job_context
from groovesheet_shared.options import BPM_MAX, BPM_MIN, TIME_SIGNATURES, TITLE_MAX_CHARS, clean_filename
from groovesheet_shared.queue import JobQueue
from groovesheet_shared.storage import JobStore
from groovesheet_shared.webhooks import CALLBACK_URL_MAX_CHARS, CallbackUrlRefused, resolve_callback

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["transcription"])

UPLOAD_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": f"The song: {SUPPORTED}",
                        },
                        "title": {"type": "string", "maxLength": TITLE_MAX_CHARS},
                        "bpm": {
                            "type": "number",
                            "minimum": BPM_MIN,
                            "maximum": BPM_MAX,
                            "description": "The counted pulse's tempo; left out, it is read from the music",
                        },
                        "time_signature": {
                            "type": "string",
                            "enum": list(TIME_SIGNATURES),
                            "description": "Left out, it is read from the music (not assumed to be 4/4)",
                        },
                        "drums_only": {"type": "boolean", "description": "Skip drum separation"},
                        "callback_url": {
                            "type": "string",
                            "format": "uri",
                            "maxLength": CALLBACK_URL_MAX_CHARS,
                            "description": "https URL on a public address; the final status is POSTed "
                            "there, signed (X-Groovesheet-Signature)",
                        },
                    },
                }
            }
        },
    }
}


@router.post(
    "/transcribe",
    status_code=202,
    summary="Upload a song",
    response_model=JobAccepted,
    openapi_extra=UPLOAD_DOC,
    responses=error_responses(400, 401, 408, 413, 415, 422, 429, 431, 503),
)
async def transcribe(
    request: Request, settings: SettingsDep, store: StoreDep, queue: QueueDep, user: UserDep
) -> JSONResponse:
    io: anyio.CapacityLimiter = request.app.state.upload_io
    # Checked before the upload is received and decoded, and again atomically when the job is stored.
    limit = settings.max_active_jobs_per_user or None
    if limit is not None:
        with _fair_use(settings):
            active = await anyio.to_thread.run_sync(store.count_active, user, limiter=io)
            if active >= limit:
                raise TooManyActiveJobs(active, limit)
    staging = await anyio.to_thread.run_sync(_staging_folder, limiter=io)
    try:
        received = await receive_upload(request, staging / "upload", settings.max_upload_bytes, io)
        if received.path is None:
            sent_as = (
                f" (it was sent as '{received.misplaced_file_field}')"
                if received.misplaced_file_field
                else ""
            )
            raise ApiError(
                422, "missing_file", f"Attach the song in the form field 'file'{sent_as}: {SUPPORTED}."
            )
        options = _options(received)
        callback_url = await _callback_url(received.fields.get("callback_url"), settings, io)
        probed = await _probe(request, received.path, settings)
        job = Job(
            job_id=new_job_id(),
            filename=clean_filename(received.filename),
            content_type=probed.format.content_type,
            size_bytes=received.size_bytes,
            input_name=f"input{probed.format.extension}",
            owner=user,
            options=options,
            callback_url=callback_url,
        )
        with job_context(job.job_id), _fair_use(settings):
            await anyio.to_thread.run_sync(
                partial(store.create, max_active=limit),
                job,
                received.path,
                limiter=io,
            )
            logger.info(
                "job stored",
                extra={"format": probed.format.name, "duration_seconds": round(probed.duration_seconds, 1)},
            )
            await _publish_or_withdraw(job, store, queue, io)
    finally:
        await anyio.to_thread.run_sync(shutil.rmtree, staging, True, limiter=io)
    accepted = JobAccepted(
        job_id=job.job_id,
        status=job.status,
        status_url=STATUS_PATH.format(job_id=job.job_id),
        download_url=DOWNLOAD_PATH.format(job_id=job.job_id),
    )
    return JSONResponse(
        accepted.model_dump(mode="json"), status_code=202, headers={"Location": accepted.status_url}
    )


@contextlib.contextmanager
def _fair_use(settings: ApiSettings) -> Iterator[None]:
    """TooManyActiveJobs becomes 429 with Retry-After; the message says how many jobs are running."""
    try:
        yield
    except TooManyActiveJobs as exc:
        logger.info("upload refused: too many active jobs", extra={"active_jobs": exc.active})
        raise ApiError(
            429,
            exc.code,
            exc.message,
            headers={"Retry-After": str(settings.active_jobs_retry_after_seconds)},
        ) from None


def _staging_folder() -> Path:
    try:
        return Path(tempfile.mkdtemp(prefix="groovesheet-upload-"))
    except OSError as exc:
        logger.error("cannot create an upload staging folder: %s", exc)
        raise ApiError(
            503,
            "storage_unavailable",
            "We could not take the upload right now (no room to receive it). Please try again in a minute.",
        ) from None


def _options(received: ReceivedUpload) -> JobOptions:
    fields = received.fields
    return JobOptions.from_fields(
        title=fields.get("title"),
        bpm=fields.get("bpm"),
        time_signature=fields.get("time_signature"),
        drums_only=fields.get("drums_only"),
        filename=received.filename,
    )


async def _callback_url(value: str | None, settings: ApiSettings, io: anyio.CapacityLimiter) -> str | None:
    """A callback URL that is https and resolves to public addresses only, or 422 invalid_callback_url."""
    if not value:
        return None
    try:
        await anyio.to_thread.run_sync(
            partial(resolve_callback, value, allow_private=settings.webhook_allow_private), limiter=io
        )
    except CallbackUrlRefused as exc:
        raise ApiError(
            422, exc.code, f"{exc.message} Send an https URL on a public server, or leave callback_url out."
        ) from None
    return value


async def _probe(request: Request, path: Path, settings: ApiSettings) -> ProbedAudio:
    """Decode the upload off the event loop, a bounded number at once (groovesheet_api.decoding)."""
    decoder: Decoder = request.app.state.decoder
    try:
        return await decoder.run(
            probe_audio, path, settings.max_duration_seconds, settings.min_duration_seconds
        )
    except DecoderCrashed:
        logger.error("the decoder crashed on this upload")
        raise ApiError(
            422,
            "undecodable_audio",
            f"The file could not be decoded: it is damaged. Export the song again as {SUPPORTED} "
            "and upload it again.",
        ) from None


async def _publish_or_withdraw(job: Job, store: JobStore, queue: JobQueue, io: anyio.CapacityLimiter) -> None:
    try:
        await anyio.to_thread.run_sync(queue.publish, job.job_id, store.location, limiter=io)
    except QueueError as exc:
        logger.error("could not queue the job; withdrawing it: %s", exc.message)
        await anyio.to_thread.run_sync(_withdraw, job, store, limiter=io)
        raise ApiError(
            503,
            "queue_unavailable",
            "We could not start the transcription right now, and nothing was kept. "
            "Please upload the song again in a minute.",
        ) from None
    logger.info("job queued")


def _withdraw(job: Job, store: JobStore) -> None:
    """Remove a job nobody will ever hear of; if that fails too, at least never leave it 'queued'."""
    try:
        store.delete(job.job_id)
        return
    except GroovesheetError as exc:
        logger.error("could not delete the unqueued job: %s", exc.message)
    try:
        store.update(
            job.job_id,
            lambda j: j.failed("queue_unavailable", "The job could not be queued. Upload the song again."),
        )
    except GroovesheetError as exc:
        logger.error("could not mark the unqueued job failed either: %s", exc.message)
