"""Storage backends behind one port: a local folder (default) or a GCS bucket."""

from __future__ import annotations

from groovesheet_shared.settings import CommonSettings
from groovesheet_shared.storage.base import JobChange, JobStore, parse_stored_job
from groovesheet_shared.storage.local import LocalJobStore

__all__ = ["JobChange", "JobStore", "LocalJobStore", "create_job_store", "parse_stored_job"]


def create_job_store(settings: CommonSettings) -> JobStore:
    if settings.use_cloud_storage:
        from groovesheet_shared.storage.gcs import GcsJobStore

        return GcsJobStore(bucket_name=settings.gcs_bucket_name, project=settings.gcp_project)
    return LocalJobStore(settings.local_jobs_dir)
