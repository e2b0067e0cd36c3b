"""Worker entry point: ``python -m groovesheet_worker.main``.

Loads the models once, serves GET /health on $PORT, then takes jobs one at a time until SIGTERM
or SIGINT; a job in hand at that moment goes back to the queue.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from types import FrameType

from groovesheet_shared.logging import capture_native_stderr, configure_logging
from groovesheet_shared.queue import create_job_queue
from groovesheet_shared.storage import create_job_store
from groovesheet_worker.config import WorkerSettings, get_settings
from groovesheet_worker.health import WorkerHealth, serve_health
from groovesheet_worker.runner import JobRunner, WorkerShutdown
from groovesheet_worker.transcription import Pipeline

logger = logging.getLogger("groovesheet_worker")


def load_pipeline(settings: WorkerSettings) -> Pipeline:
    if settings.omp_num_threads:
        os.environ.setdefault("OMP_NUM_THREADS", str(settings.omp_num_threads))
    # TensorFlow's C++ start-up chatter is not JSON and would break Cloud Logging's parsing.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from groovesheet_worker.pipeline.transcriber import Transcriber

    return Transcriber(settings)


def install_signal_handlers(runner: JobRunner) -> None:
    main_thread = threading.main_thread()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logger.info("received %s: stopping", signal.Signals(signum).name)
        runner.stop.set()
        # A job in hand is interrupted at once: Cloud Run gives about 10 s after SIGTERM.
        if runner.health.current_job and threading.current_thread() is main_thread:
            raise WorkerShutdown()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)


def main() -> int:
    settings = get_settings()
    configure_logging("groovesheet-worker", settings.log_level, settings.log_format)
    if settings.log_format == "json":
        # Decoders and TensorFlow write to stderr from C; those lines become JSON records too.
        capture_native_stderr()
    health = WorkerHealth()
    server = serve_health(health, settings.port)
    try:
        pipeline = load_pipeline(settings)
        health.models_loaded = True
        runner = JobRunner(
            create_job_store(settings), create_job_queue(settings, consumer=True), pipeline, settings, health
        )
        install_signal_handlers(runner)
        try:
            runner.run_forever()
        except WorkerShutdown:
            logger.info("job handed back; exiting")
        finally:
            runner.queue.close()
    except Exception:
        logger.exception("worker could not start")
        return 1
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
