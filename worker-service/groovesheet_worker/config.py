"""The worker's one settings object, read once from the environment."""

from __future__ import annotations

import os
import socket
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field

from groovesheet_shared.settings import CommonSettings


class WorkerSettings(CommonSettings):
    # Models: loaded once per process from local files, never from the network at run time.
    # Which model hears the hits: "hitnet" (Groovesheet's own, 12 classes + velocity, committed in
    # groovesheet_worker/hitnet/weights) or "annoteator" (the AnNOTEator reference, 6 classes).
    hit_model: Literal["hitnet", "annoteator"] = "hitnet"
    hitnet_model_path: Path = Path(__file__).resolve().parent / "hitnet" / "weights" / "hitnet.pt"
    annoteator_model_path: Path = Path("models/annoteator/complete_network.h5")
    demucs_model: str = "htdemucs"
    demucs_model_dir: Path = Path("models/demucs/htdemucs")
    demucs_device: str = "cpu"
    demucs_num_workers: int = Field(default=1, ge=0)
    demucs_shifts: int = Field(default=1, ge=0)
    # The reference path's segment overlap (SEPARATION_BACKEND=torch; htdemucs' default).
    demucs_overlap: float = Field(default=0.25, ge=0.0, lt=1.0)
    # "bf16": htdemucs under bfloat16 autocast with overlap SEPARATION_FAST_OVERLAP, about twice as
    # fast with the same hits (README "Speed"); "torch": float32 with DEMUCS_OVERLAP, the reference.
    # Overlap 0.1 was faster still but lost 0.012 of F on the raw-sum mdb-dev mixes (3 shifts); 0.2 0.004.
    separation_backend: Literal["torch", "bf16"] = "bf16"
    separation_fast_overlap: float = Field(default=0.2, ge=0.0, lt=1.0)
    omp_num_threads: int | None = Field(default=None, ge=1)
    # During a job, freed memory stays in the process for reuse instead of going back to the kernel
    # and being faulted in again for the next large buffer (pipeline/memory.py); it is returned after
    # each job. false keeps glibc's defaults.
    reuse_freed_memory: bool = True

    max_duration_seconds: float = Field(default=900, gt=0)

    # Health endpoint for Cloud Run, and the job loop.
    port: int = 8080
    worker_id: str = Field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    poll_seconds: float = Field(default=2.0, gt=0)
    # How often the worker runs the queue's housekeeping (JobQueue.requeue_abandoned).
    queue_sweep_seconds: float = Field(default=30.0, gt=0)
    # Transient failures are retried this many deliveries (the dead-letter policy uses the same number).
    max_attempts: int = Field(default=5, ge=1)
    # A job still running after this long is failed, so it never stays 'processing' for ever
    # (below Cloud Run's 3600 s request timeout and the Pub/Sub maximum lease).
    job_timeout_seconds: float = Field(default=3300, gt=0)
    work_dir: Path | None = None
    # The uploaded song of a finished job is removed this many days after it finished (outputs stay).
    # Locally the worker does it, hourly; on GCS the bucket's lifecycle rule (setup-infra.sh).
    input_retention_days: float = Field(default=7, gt=0)

    # The printable PDF (groovesheet_worker.engraving): MuseScore 3 engraves the sheet on A4 and Letter.
    engrave_pdf: bool = True
    musescore_bin: str = "mscore3"
    engrave_timeout_seconds: float = Field(default=120.0, gt=0)

    # The stems (groovesheet_worker.pipeline.stems): the drum track and the song without it, as MP3
    # encoded by ffmpeg, when separation ran. A failure leaves the job completed without them.
    stems: bool = True
    ffmpeg_bin: str = "ffmpeg"
    stems_timeout_seconds: float = Field(default=300.0, gt=0)

    # Webhooks (groovesheet_worker.webhooks): the HMAC-SHA256 key of X-Groovesheet-Signature; without
    # it no webhook is sent (and that is logged). Up to WEBHOOK_MAX_ATTEMPTS tries, the n-th retry
    # WEBHOOK_FIRST_RETRY_SECONDS * 3**(n-1) after the one before: 15, 45, 135, 405 s (10 minutes).
    webhook_secret: str | None = Field(default=None, repr=False)
    webhook_max_attempts: int = Field(default=5, ge=1)
    webhook_first_retry_seconds: float = Field(default=15.0, gt=0)


@lru_cache
def get_settings() -> WorkerSettings:
    return WorkerSettings()
