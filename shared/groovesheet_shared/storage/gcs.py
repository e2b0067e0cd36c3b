"""JobStore on a Google Cloud Storage bucket (production; fake-gcs-server in tests).

Objects: ``jobs/{job_id}/input.<ext>``, ``metadata.json``, ``output.musicxml``, ``output.mid``,
``events.json``; ``owners/{sha256(owner)}/index.json`` lists each owner's jobs (history and the
active-job limit without listing the bucket). GCS writes are atomic per object, so readers never see
a partial object. ``metadata.json`` and the index are changed only with a generation precondition: a
writer that read an older generation gets 412 and starts again from the newer state, so no update is
lost.

When ``STORAGE_EMULATOR_HOST`` is set the client library talks to the emulator and uses anonymous
credentials by itself.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import requests
from google.api_core import exceptions as gexc
from google.auth.exceptions import GoogleAuthError
from google.cloud import storage
from google.cloud.storage.exceptions import DataCorruption, InvalidResponse
from google.cloud.storage.retry import DEFAULT_RETRY

from groovesheet_shared.errors import JobNotFound, OutputNotFound, StorageError
from groovesheet_shared.jobs import Job, parse_job_id
from groovesheet_shared.outputs import MEDIA_TYPE_BY_FILE
from groovesheet_shared.storage.base import (
    IndexChange,
    JobChange,
    JobStore,
    OutputInfo,
    OwnerIndex,
    owner_key,
    parse_stored_job,
)

logger = logging.getLogger(__name__)

METADATA = "metadata.json"
# Files above 8 MiB go up as a resumable upload in chunks of this size (a multiple of 256 KiB), so
# a long song is streamed from disk and a broken connection resumes instead of starting over.
UPLOAD_CHUNK_SIZE = 8 * 1024 * 1024
# The upload or its retry may be the one that failed: the caller sees this as a transient error.
_TRANSIENT = (
    gexc.GoogleAPICallError,
    gexc.RetryError,
    requests.RequestException,
    GoogleAuthError,
    InvalidResponse,
    DataCorruption,
)


class GcsJobStore(JobStore):
    def __init__(
        self,
        bucket_name: str,
        project: str | None = None,
        *,
        client: storage.Client | None = None,
        update_deadline: float = 60.0,
    ) -> None:
        if not bucket_name:
            raise StorageError("GCS_BUCKET_NAME is empty: set it to the bucket that holds the jobs.")
        try:
            self._client = client or storage.Client(project=project)
        except GoogleAuthError as exc:
            raise StorageError(
                f"No Google Cloud credentials for bucket {bucket_name}: {exc}. Run "
                "'gcloud auth application-default login', set GOOGLE_APPLICATION_CREDENTIALS, or set "
                "STORAGE_EMULATOR_HOST to use an emulator."
            ) from exc
        self._bucket = self._client.bucket(bucket_name)
        self._update_deadline = update_deadline

    @property
    def location(self) -> str:
        return self._bucket.name

    # --- object names: every job id goes through parse_job_id before it becomes part of one
    def _name(self, job_id: str, file_name: str) -> str:
        return f"jobs/{parse_job_id(job_id)}/{file_name}"

    def _blob(self, job_id: str, file_name: str, content_type: str | None = None) -> storage.Blob:
        blob = self._bucket.blob(self._name(job_id, file_name), chunk_size=UPLOAD_CHUNK_SIZE)
        if content_type:
            blob.content_type = content_type
        return blob

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except _TRANSIENT as exc:
            raise StorageError(f"Could not {action} in bucket {self._bucket.name}: {_describe(exc)}") from exc

    # --- JobStore
    def _create_objects(self, job: Job, input_file: Path) -> None:
        input_name = _safe_name(job.input_name)
        input_blob = self._blob(job.job_id, input_name, job.content_type)
        with self._errors(f"store the input of job {job.job_id}"):
            try:
                # if_generation_match=0: never overwrite, and lets the library retry the upload safely.
                input_blob.upload_from_filename(str(input_file), if_generation_match=0)
            except gexc.PreconditionFailed:
                raise StorageError(f"Job {job.job_id} already exists") from None
        try:
            with self._errors(f"store the metadata of job {job.job_id}"):
                try:
                    self._metadata_blob(job.job_id).upload_from_string(
                        job.to_json(), content_type="application/json", if_generation_match=0
                    )
                except gexc.PreconditionFailed:
                    raise StorageError(f"Job {job.job_id} already exists") from None
        except BaseException:
            # Metadata never points at a missing input; an input without metadata is cleaned up.
            with contextlib.suppress(Exception):
                input_blob.delete()
            raise

    def _metadata_blob(self, job_id: str) -> storage.Blob:
        blob = self._bucket.blob(self._name(job_id, METADATA))
        # Status is polled: no cache in between may serve an old state.
        blob.cache_control = "no-store"
        return blob

    def _read_metadata(self, job_id: str) -> tuple[Job, int]:
        blob = self._metadata_blob(job_id)
        with self._errors(f"read job {job_id}"):
            try:
                data = blob.download_as_bytes()
            except gexc.NotFound:
                raise JobNotFound(
                    f"There is no job {job_id}. Check the job_id, or upload the song again."
                ) from None
        if blob.generation is None:
            raise StorageError(f"GCS did not report the generation of {blob.name}; cannot update it safely")
        return parse_stored_job(data, job_id), int(blob.generation)

    def get(self, job_id: str) -> Job:
        return self._read_metadata(job_id)[0]

    def update(self, job_id: str, change: JobChange) -> Job:
        # ``change`` may run more than once: each lost race re-reads and applies it to the newer job.
        deadline = time.monotonic() + self._update_deadline
        delay = 0.02
        conflicts = 0
        while True:
            current, generation = self._read_metadata(job_id)
            new = change(current)
            if new is None:
                return current
            with self._errors(f"update job {job_id}"):
                try:
                    self._metadata_blob(job_id).upload_from_string(
                        new.to_json(), content_type="application/json", if_generation_match=generation
                    )
                    return new
                except gexc.PreconditionFailed:
                    conflicts += 1
                except gexc.NotFound:
                    raise JobNotFound(f"Job {job_id} was deleted while it was being updated") from None
            if time.monotonic() >= deadline:
                raise StorageError(
                    f"Job {job_id} kept changing under {conflicts} concurrent updates; try again"
                )
            # Jittered backoff so racing writers do not collide again in lockstep.
            time.sleep(random.uniform(0, delay))
            delay = min(delay * 2, 1.0)

    def fetch_input(self, job_id: str, destination: Path) -> Path:
        job = self.get(job_id)
        input_name = _safe_name(job.input_name)
        target = Path(destination) / input_name
        with self._errors(f"download the input of job {job_id}"):
            try:
                # Streams to disk and checks the CRC32C the server reports.
                self._blob(job_id, input_name).download_to_filename(str(target))
            except gexc.NotFound:
                raise StorageError(
                    f"The input of job {job_id} is missing from bucket {self._bucket.name}"
                ) from None
        return target

    def save_output(self, job_id: str, name: str, source: Path) -> None:
        name = _safe_name(name)
        self._require_job(job_id)
        blob = self._blob(job_id, name, MEDIA_TYPE_BY_FILE.get(name, "application/octet-stream"))
        with self._errors(f"store {name} of job {job_id}"):
            # Writing the same file again is harmless, so the unconditional upload may be retried.
            blob.upload_from_filename(str(source), retry=DEFAULT_RETRY)

    def read_output(self, job_id: str, name: str) -> bytes:
        name = _safe_name(name)
        with self._errors(f"read {name} of job {job_id}"):
            try:
                return self._blob(job_id, name).download_as_bytes()
            except gexc.NotFound:
                pass
        self._require_job(job_id)  # JobNotFound when the whole job is gone
        raise OutputNotFound(f"Job {job_id} has no {name}")

    def output_info(self, job_id: str, name: str) -> OutputInfo:
        name = _safe_name(name)
        with self._errors(f"read {name} of job {job_id}"):
            blob = self._bucket.get_blob(self._name(job_id, name))
        if blob is None or blob.size is None or blob.generation is None:
            self._require_job(job_id)
            raise OutputNotFound(f"Job {job_id} has no {name}")
        return OutputInfo(size=int(blob.size), version=str(blob.generation))

    def read_output_range(
        self, job_id: str, name: str, start: int, stop: int, *, version: str | None = None
    ) -> bytes:
        name = _safe_name(name)
        if stop <= start:
            return b""
        object_name = self._name(job_id, name)
        with self._errors(f"read {name} of job {job_id}"):
            # A ranged GET (end is inclusive) of that generation only: never a part of a newer object.
            generation = int(version) if version is not None else None
            blob = self._bucket.blob(object_name, generation=generation)
            try:
                return blob.download_as_bytes(start=start, end=stop - 1)
            except gexc.NotFound:
                pass
            if version is not None and self._bucket.get_blob(object_name) is not None:
                raise StorageError(f"{name} of job {job_id} was replaced while it was being read")
        self._require_job(job_id)
        raise OutputNotFound(f"Job {job_id} has no {name}")

    def remove_expired_inputs(self, finished_before: datetime) -> int:
        """Nothing to do here: the bucket's lifecycle rule deletes ``jobs/*/input.*`` (setup-infra.sh,
        INPUT_RETENTION_DAYS), without anyone listing the bucket."""
        return 0

    # --- the owner index
    def _index_blob(self, owner: str) -> storage.Blob:
        blob = self._bucket.blob(f"owners/{owner_key(owner)}/index.json")
        blob.cache_control = "no-store"
        return blob

    def _read_index_with_generation(self, owner: str) -> tuple[OwnerIndex, int]:
        blob = self._index_blob(owner)
        with self._errors("read the job history"):
            try:
                data = blob.download_as_bytes()
            except gexc.NotFound:
                return OwnerIndex(), 0  # generation 0: "create only if it still does not exist"
        if blob.generation is None:
            raise StorageError(f"GCS did not report the generation of {blob.name}; cannot update it safely")
        return OwnerIndex.model_validate_json(data), int(blob.generation)

    def _read_index(self, owner: str) -> OwnerIndex:
        return self._read_index_with_generation(owner)[0]

    def _change_index(self, owner: str, change: IndexChange) -> OwnerIndex:
        deadline = time.monotonic() + self._update_deadline
        delay = 0.02
        conflicts = 0
        while True:
            current, generation = self._read_index_with_generation(owner)
            new = change(current)
            if new is None:
                return current
            with self._errors("update the job history"):
                try:
                    self._index_blob(owner).upload_from_string(
                        new.model_dump_json(), content_type="application/json", if_generation_match=generation
                    )
                    return new
                except gexc.PreconditionFailed:
                    conflicts += 1
            if time.monotonic() >= deadline:
                raise StorageError(f"The job history kept changing under {conflicts} concurrent updates")
            time.sleep(random.uniform(0, delay))
            delay = min(delay * 2, 1.0)

    def _delete_objects(self, job_id: str) -> None:
        prefix = self._name(job_id, "")
        with self._errors(f"delete job {job_id}"):
            # The metadata first: from then on the job is gone for every reader, and a worker's next
            # conditional update of it fails (JobNotFound) instead of writing it back.
            with contextlib.suppress(gexc.NotFound):
                self._metadata_blob(job_id).delete()
            for blob in self._client.list_blobs(self._bucket, prefix=prefix):
                with contextlib.suppress(gexc.NotFound):  # a concurrent delete got there first
                    blob.delete()

    def _require_job(self, job_id: str) -> None:
        with self._errors(f"read job {job_id}"):
            exists = self._metadata_blob(job_id).exists()
        if not exists:
            raise JobNotFound(f"There is no job {job_id}. Check the job_id, or upload the song again.")


def _safe_name(name: str) -> str:
    if not name or "/" in name or name.startswith(".") or name == METADATA:
        raise ValueError(f"Not an output name: {name!r}")
    return name


def _describe(exc: BaseException) -> str:
    # api_core errors carry the HTTP status and the server's message; keep it to one line.
    text = getattr(exc, "message", None) or str(exc)
    code = getattr(exc, "code", None)
    summary = f"{type(exc).__name__}" + (f" {code}" if isinstance(code, int) else "")
    return f"{summary}: {text}".replace("\n", " ")[:500]
