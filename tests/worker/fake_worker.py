"""A worker process with the real runner and queue, and the fake pipeline (for process tests)."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from groovesheet_shared.logging import configure_logging
from groovesheet_shared.queue import create_job_queue
from groovesheet_shared.storage import create_job_store
from groovesheet_worker.config import WorkerSettings
from groovesheet_worker.main import install_signal_handlers
from groovesheet_worker.runner import JobRunner, WorkerShutdown
from tests.worker.fake_pipeline import FakePipeline


def main() -> int:
    settings = WorkerSettings(poll_seconds=0.2)
    configure_logging("fake-worker", "INFO", "json")
    pipeline = FakePipeline(float(os.environ.get("FAKE_STAGE_SECONDS", "0")), Path(os.environ["FAKE_LOG"]))
    runner = JobRunner(
        create_job_store(settings), create_job_queue(settings, consumer=True), pipeline, settings
    )
    install_signal_handlers(runner)
    with contextlib.suppress(WorkerShutdown):
        runner.run_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
