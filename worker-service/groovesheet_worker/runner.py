"""The job runner: claim a queued job, run the pipeline, store the outputs, settle the job.

A job always ends ``completed`` or ``failed`` with a reason; a message is acknowledged only once
the outputs and the final metadata are stored, so a worker that dies mid-job leaves the message to
be delivered again. A message for a job stored somewhere else than this worker's store (another
bucket or folder, ``QueueMessage.bucket``) is refused: the job is failed with ``wrong_bucket``.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from groovesheet_shared.errors import GroovesheetError, JobNotFound, JobUnreadable, TranscriptionError
from groovesheet_shared.jobs import OUTPUT_FILES, Job, JobStatus, utc_now
from groovesheet_shared.logging import job_context
from groovesheet_shared.queue import JobQueue, QueueMessage
from groovesheet_shared.storage import JobStore
from groovesheet_worker.config import WorkerSettings
from groovesheet_worker.engraving import EngravingFailed, engrave
from groovesheet_worker.health import WorkerHealth
from groovesheet_worker.transcription import Pipeline, ProgressCallback
from groovesheet_worker.webhooks import WebhookSender

logger = logging.getLogger(__name__)

UNEXPECTED_ERROR = (
    "Something unexpected stopped the transcription. It has been logged for us to fix; "
    "please try uploading the song again."
)
WRONG_BUCKET = (
    "The transcription service is set up wrongly: your song was stored where the worker does not "
    "look. We have logged it; please try again later."
)


# How often the worker removes expired inputs (INPUT_RETENTION_DAYS) from a local store.
INPUT_SWEEP_SECONDS = 3600.0


class WorkerShutdown(BaseException):
    """Raised into the job in hand when the worker must stop (SIGTERM): give the job back."""


class JobCancelled(BaseException):
    """Raised at the next progress checkpoint when the job was deleted (DELETE /api/v1/jobs/{id}).

    A BaseException, like WorkerShutdown, so no ``except Exception`` in the pipeline can swallow it:
    the transcription stops there, nothing is written, and the message is acknowledged.
    """


class JobTimedOut(Exception):
    """Raised into the job in hand when it runs longer than JOB_TIMEOUT_SECONDS."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the block after ``seconds`` (SIGALRM; only possible in the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(_signum: int, _frame: object) -> None:
        raise JobTimedOut()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class JobRunner:
    def __init__(
        self,
        store: JobStore,
        queue: JobQueue,
        pipeline: Pipeline,
        settings: WorkerSettings,
        health: WorkerHealth | None = None,
        webhooks: WebhookSender | None = None,
    ) -> None:
        self.store = store
        self.queue = queue
        self.pipeline = pipeline
        self.settings = settings
        self.health = health or WorkerHealth()
        self.webhooks = webhooks or WebhookSender(settings)
        self.stop = threading.Event()

    # --- the loop
    def run_forever(self) -> None:
        logger.info(
            "worker ready", extra={"worker_id": self.settings.worker_id, "store": self.store.location}
        )
        last_sweep: float | None = None
        last_input_sweep: float | None = None
        while not self.stop.is_set():
            if last_sweep is None or time.monotonic() - last_sweep >= self.settings.queue_sweep_seconds:
                self.sweep_queue()
                last_sweep = time.monotonic()
            if last_input_sweep is None or time.monotonic() - last_input_sweep >= INPUT_SWEEP_SECONDS:
                self.sweep_inputs()
                last_input_sweep = time.monotonic()
            self.health.beat()
            message = self.queue.claim(timeout=self.settings.poll_seconds)
            if message is not None:
                self.handle(message)
        logger.info("worker stopped")

    def sweep_queue(self) -> int:
        """The queue's housekeeping; a failure is logged and tried again at the next sweep."""
        try:
            count = self.queue.requeue_abandoned()
        except (GroovesheetError, OSError):
            logger.exception("queue housekeeping failed; trying again later")
            return 0
        if count:
            logger.warning("put back jobs left by a worker that died", extra={"count": count})
        return count

    def sweep_inputs(self) -> int:
        """Remove the songs of jobs finished more than INPUT_RETENTION_DAYS ago; failures are logged."""
        before = utc_now() - timedelta(days=self.settings.input_retention_days)
        try:
            count = self.store.remove_expired_inputs(before)
        except (GroovesheetError, OSError):
            logger.exception("removing expired inputs failed; trying again later")
            return 0
        if count:
            logger.info("removed the songs of finished jobs past their retention", extra={"count": count})
        return count

    # --- one message
    def handle(self, message: QueueMessage) -> None:
        with job_context(message.job_id):
            try:
                self._handle(message)
            except WorkerShutdown:
                self._give_back(message)
                raise

    def _handle(self, message: QueueMessage) -> None:
        if self._from_another_store(message):
            return
        try:
            job = self.store.get(message.job_id)
        except JobNotFound:
            logger.warning("message for a job that does not exist; dropping it")
            self.queue.ack(message)
            return
        except JobUnreadable as exc:
            # Retrying cannot repair it; the damaged record stays in storage for a person to read.
            logger.error("dropping the message: %s", exc.message, extra={"error_code": exc.code})
            self.queue.ack(message)
            return
        if job.status.is_final:
            logger.info("job already %s; acknowledging the repeat delivery", job.status.value)
            self.queue.ack(message)
            return
        if job.status is JobStatus.PROCESSING:
            logger.warning("job was left processing by another worker; running it again")

        self.health.beat(job.job_id)
        started = time.monotonic()
        try:
            job = self.store.update(job.job_id, lambda j: j.started(self.settings.worker_id))
            diagnostics = self._run(job)
        except WorkerShutdown:
            raise
        except (JobNotFound, JobCancelled):
            self._cancelled(message)
            return
        except JobTimedOut:
            minutes = round(self.settings.job_timeout_seconds / 60)
            self._fail(
                message,
                "job_timeout",
                f"The transcription took longer than {minutes} minutes and was stopped. "
                "Try a shorter song or part of it.",
            )
            return
        except TranscriptionError as exc:
            if exc.retryable and message.delivery_attempt < self.settings.max_attempts:
                self._retry_later(message, exc)
                return
            self._fail(message, exc.code, exc.message)
            return
        except GroovesheetError as exc:  # storage or queue trouble: transient by nature
            if message.delivery_attempt < self.settings.max_attempts:
                self._retry_later(message, exc)
                return
            self._fail(
                message, exc.code, "The transcription kept failing on our side; please try again later."
            )
            return
        except Exception:
            logger.exception("pipeline crashed")
            self._fail(message, "internal_error", UNEXPECTED_ERROR)
            return
        self.queue.ack(message)
        self.health.finished(ok=True)
        logger.info("job completed", extra={"seconds": round(time.monotonic() - started, 1), **diagnostics})
        self._notify(message.job_id)

    def _notify(self, job_id: str) -> None:
        """Hand the settled job to the webhook sender (its own thread); nothing here fails the job."""
        try:
            job = self.store.get(job_id)
        except GroovesheetError as exc:
            logger.warning("no webhook: the settled job could not be read (%s)", exc.message)
            return
        self.webhooks.job_settled(job)

    def _from_another_store(self, message: QueueMessage) -> bool:
        """True (and the message settled) when the job was stored where this worker does not look."""
        if message.bucket is None or message.bucket == self.store.location:
            return False
        logger.error(
            "message for a job in another store: the API and the worker disagree on "
            "GCS_BUCKET_NAME / LOCAL_JOBS_DIR",
            extra={
                "error_code": "wrong_bucket",
                "message_bucket": message.bucket,
                "store": self.store.location,
            },
        )
        try:
            self.store.update(
                message.job_id,
                lambda j: None if j.status.is_final else j.failed("wrong_bucket", WRONG_BUCKET),
            )
        except JobNotFound:
            pass  # the usual case: the job is in the other store, out of this worker's reach
        except GroovesheetError:
            logger.exception("could not record the wrong_bucket failure")
        # Another delivery would reach a worker with the same settings: never retried.
        self.queue.ack(message)
        return True

    def _run(self, job: Job) -> dict[str, object]:
        work_dir = Path(tempfile.mkdtemp(prefix=f"job-{job.job_id}-", dir=self.settings.work_dir))
        try:
            audio_path = self.store.fetch_input(job.job_id, work_dir)
            with time_limit(self.settings.job_timeout_seconds):
                output = self.pipeline(audio_path, job.options, work_dir, self._progress_writer(job.job_id))
            files = {**output.files, **self._engrave(output.files, work_dir)}
            # Outputs first, then the 'completed' state: a reader that sees completed finds them.
            for name, path in files.items():
                self.store.save_output(job.job_id, name, path)
            self.store.update(job.job_id, lambda j: j.completed(output.result))
            return output.extra
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)

    def _engrave(self, files: dict[str, Path], work_dir: Path) -> dict[str, Path]:
        """The PDFs of the sheet; without them the job still completes (the download says so)."""
        musicxml = files.get(OUTPUT_FILES["musicxml"])
        if not self.settings.engrave_pdf or musicxml is None:
            return {}
        started = time.monotonic()
        try:
            pdfs = engrave(
                musicxml, work_dir, self.settings.musescore_bin, self.settings.engrave_timeout_seconds
            )
        except EngravingFailed as exc:
            logger.warning("no PDF for this job: %s", exc, extra={"error_code": "engraving_failed"})
            return {}
        logger.info("PDF engraved", extra={"seconds": round(time.monotonic() - started, 1)})
        return pdfs

    def _progress_writer(self, job_id: str) -> ProgressCallback:
        def progress(percent: int, stage: str, message: str) -> None:
            if self.stop.is_set():
                raise WorkerShutdown()
            try:
                self.store.update(job_id, lambda j: j.progressed(percent, stage, message))
            except JobNotFound:
                raise JobCancelled() from None
            self.health.beat(job_id)
            logger.info("progress %d%% %s", percent, stage, extra={"progress": percent, "stage": stage})

        return progress

    # --- settling
    def _cancelled(self, message: QueueMessage) -> None:
        """The job was deleted while it ran: stop, remove anything written meanwhile, acknowledge."""
        logger.warning("the job was deleted while it ran; stopped without keeping outputs")
        try:
            # An output stored in the moment before the delete would be left behind: sweep the job.
            self.store.delete(message.job_id)
        except GroovesheetError:
            logger.exception("could not remove what the deleted job left behind")
        self.queue.ack(message)
        self.health.finished(ok=False)

    def _fail(self, message: QueueMessage, code: str, text: str) -> None:
        logger.error("job failed: %s", text, extra={"error_code": code})
        try:
            self.store.update(message.job_id, lambda j: j.failed(code, text))
        except GroovesheetError:
            logger.exception("could not record the failure; the message will come back")
            self.queue.nack(message)
            self.health.finished(ok=False)
            return
        self.queue.ack(message)
        self.health.finished(ok=False)
        self._notify(message.job_id)

    def _retry_later(self, message: QueueMessage, exc: GroovesheetError) -> None:
        attempt = message.delivery_attempt
        logger.warning(
            "temporary failure, job goes back to the queue: %s",
            exc.message,
            extra={"error_code": exc.code, "attempt": attempt},
        )
        note = f"A temporary problem interrupted the transcription; retrying (attempt {attempt + 1})."
        self._requeue_job(message, note)
        self.queue.nack(message)
        self.health.finished(ok=False)

    def _give_back(self, message: QueueMessage) -> None:
        try:
            finished = self.store.get(message.job_id).status.is_final
        except GroovesheetError:
            finished = False
        if finished:
            # The signal came after the job was settled but before the ack: nothing to redo.
            self.queue.ack(message)
            return
        logger.warning("shutting down with a job in hand; giving it back to the queue")
        self._requeue_job(message, "The worker restarted; your job will continue shortly.")
        self.queue.nack(message)

    def _requeue_job(self, message: QueueMessage, note: str) -> None:
        try:
            self.store.update(message.job_id, lambda j: None if j.status.is_final else j.requeued(note))
        except GroovesheetError:
            logger.exception("could not mark the job queued again")
