"""POST /api/v1/transcribe: store the song and its metadata, then queue the job."""

from __future__ import annotations

import logging
import re
import tempfile
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from groovesheet_api.audio_probe import SUPPORTED, probe_audio
from groovesheet_api.deps import QueueDep, SettingsDep, StoreDep, UserDep
from groovesheet_api.errors import ApiError
from groovesheet_api.routes.views import DOWNLOAD_PATH, STATUS_PATH
from groovesheet_api.upload import receive_upload
from groovesheet_shared.errors import QueueError
from groovesheet_shared.jobs import Job, JobOptions, new_job_id
from groovesheet_shared.logging import job_context

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["transcription"])

TIME_SIGNATURES = ("2/4", "3/4", "4/4", "5/4", "6/8", "7/8", "12/8")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

UPLOAD_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": f"The song: {SUPPORTED}"},
                        "title": {"type": "string", "maxLength": 200},
                        "bpm": {"type": "number", "minimum": 30, "maximum": 300},
                        "time_signature": {"type": "string", "enum": list(TIME_SIGNATURES)},
                        "drums_only": {"type": "boolean", "description": "Skip drum separation"},
                    },
                }
            }
        },
    }
}


def parse_options(fields: dict[str, str], filename: str) -> JobOptions:
    title = _CONTROL.sub("", fields.get("title", "")).strip() or Path(filename).stem or "Drums"
    if len(title) > 200:
        raise ApiError(422, "invalid_title", "The title is too long: keep it under 200 characters.")
    bpm: float | None = None
    if fields.get("bpm", "").strip():
        try:
            bpm = float(fields["bpm"])
        except ValueError:
            bpm = None
        if bpm is None or not 30 <= bpm <= 300:
            raise ApiError(
                422, "invalid_bpm", "bpm must be a number from 30 to 300, or left out to detect the tempo."
            )
    time_signature = fields.get("time_signature", "").strip() or None
    if time_signature is not None and time_signature not in TIME_SIGNATURES:
        raise ApiError(
            422,
            "invalid_time_signature",
            f"time_signature must be one of {', '.join(TIME_SIGNATURES)}, or left out for 4/4.",
        )
    drums_only_text = fields.get("drums_only", "").strip().lower()
    if drums_only_text not in _TRUE | _FALSE:
        raise ApiError(422, "invalid_drums_only", "drums_only must be true or false.")
    return JobOptions(
        title=title, bpm=bpm, time_signature=time_signature, drums_only=drums_only_text in _TRUE
    )


@router.post("/transcribe", status_code=202, openapi_extra=UPLOAD_DOC, summary="Upload a song")
async def transcribe(
    request: Request, settings: SettingsDep, store: StoreDep, queue: QueueDep, user: UserDep
) -> JSONResponse:
    with tempfile.TemporaryDirectory(prefix="groovesheet-upload-") as staging:
        received = await receive_upload(request, Path(staging) / "upload", settings.max_upload_bytes)
        if received.path is None:
            sent_as = f" (it was sent as '{received.misplaced_file_field}')" if received.misplaced_file_field else ""
            raise ApiError(
                422, "missing_file", f"Attach the song in the form field 'file'{sent_as}: {SUPPORTED}."
            )
        filename = Path(received.filename or "song").name or "song"
        options = parse_options(received.fields, filename)
        probed = await run_in_threadpool(probe_audio, received.path, settings.max_duration_seconds)
        job = Job(
            job_id=new_job_id(),
            filename=filename,
            content_type=probed.format.content_type,
            size_bytes=received.size_bytes,
            input_name=f"input{probed.format.extension}",
            owner=user,
            options=options,
        )
        with job_context(job.job_id):
            await run_in_threadpool(store.create, job, received.path)
            logger.info(
                "job stored",
                extra={"format": probed.format.name, "duration_seconds": round(probed.duration_seconds, 1)},
            )
            await _publish_or_fail(job, store, queue)
    return JSONResponse(
        {
            "job_id": job.job_id,
            "status": job.status.value,
            "status_url": STATUS_PATH.format(job_id=job.job_id),
            "download_url": DOWNLOAD_PATH.format(job_id=job.job_id),
        },
        status_code=202,
        headers={"Location": STATUS_PATH.format(job_id=job.job_id)},
    )


async def _publish_or_fail(job: Job, store: StoreDep, queue: QueueDep) -> None:
    try:
        await run_in_threadpool(queue.publish, job.job_id, store.location)
    except QueueError as exc:
        logger.error("could not queue the job: %s", exc.message)
        # Never leave an orphan that stays 'queued' forever.
        await run_in_threadpool(
            store.update,
            job.job_id,
            lambda j: j.failed("queue_unavailable", "The job could not be queued. Upload the song again."),
        )
        raise ApiError(
            503,
            "queue_unavailable",
            "We could not start the transcription right now. Please upload the song again in a minute.",
        ) from None
    logger.info("job queued")
