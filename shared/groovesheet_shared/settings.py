"""Settings both services read from the environment, with the names the seeds use."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CommonSettings(BaseSettings):
    """Storage, queue and logging settings; each service's Settings extends this one class."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    # Storage and queue: local folders by default, GCS + Pub/Sub with USE_CLOUD_STORAGE=true.
    use_cloud_storage: bool = False
    local_jobs_dir: Path = Path("shared-jobs")
    local_queue_dir: Path | None = Field(
        default=None, description="Local queue folder; defaults to LOCAL_JOBS_DIR/queue"
    )
    gcs_bucket_name: str = "groovesheet-jobs"
    gcp_project: str | None = None
    worker_topic: str = "groovesheet-worker-tasks"
    worker_subscription: str = "groovesheet-worker-tasks-sub"
    # How long a dead worker's Pub/Sub message waits before redelivery (the stream's ack deadline,
    # renewed while a job runs), and the longest a job may hold its message.
    pubsub_lease_extension_seconds: int = Field(default=60, ge=10, le=600)
    max_lease_seconds: int = Field(default=3600, gt=0)

    # Webhooks: http:// and private, loopback or link-local callback URLs are refused (at upload by the
    # API, at delivery by the worker) unless this is true, for local development only.
    webhook_allow_private: bool = False

    log_level: str = "INFO"
    log_format: str = Field(default="json", description="json (Cloud Logging) or text")

    @property
    def queue_dir(self) -> Path:
        return self.local_queue_dir or self.local_jobs_dir / "queue"
