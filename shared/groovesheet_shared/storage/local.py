"""JobStore on a local folder: the embedded default (``./shared-jobs``)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from groovesheet_shared.errors import JobNotFound, JobUnreadable, OutputNotFound, StorageError
from groovesheet_shared.jobs import Job, parse_job_id
from groovesheet_shared.outputs import STEM_FILES
from groovesheet_shared.storage.base import (
    IndexChange,
    JobChange,
    JobStore,
    OutputInfo,
    OwnerIndex,
    owner_key,
    parse_stored_job,
)

METADATA = "metadata.json"
_LOCK = ".lock"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write then rename, so a reader never sees a half-written file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_copy(source: Path, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class LocalJobStore(JobStore):
    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.jobs_dir = self.root / "jobs"
        self.owners_dir = self.root / "owners"
        with self._io("create the jobs folder"):
            self.jobs_dir.mkdir(parents=True, exist_ok=True)
            self.owners_dir.mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def _io(self, action: str) -> Iterator[None]:
        """A full disk or a folder the service may not write is a storage problem, not a bug."""
        try:
            yield
        except OSError as exc:
            raise StorageError(
                f"Could not {action} in {self.root}: {exc.strerror or exc}. "
                "Check that the folder exists, has free space and is writable by the service."
            ) from exc

    @property
    def location(self) -> str:
        return str(self.root)

    def job_dir(self, job_id: str) -> Path:
        # parse_job_id only lets a canonical UUID through: no '/', no '..'.
        return self.jobs_dir / parse_job_id(job_id)

    def _existing_job_dir(self, job_id: str) -> Path:
        directory = self.job_dir(job_id)
        if not (directory / METADATA).is_file():
            raise JobNotFound(f"There is no job {job_id}. Check the job_id, or upload the song again.")
        return directory

    @contextlib.contextmanager
    def _locked(self, directory: Path) -> Iterator[None]:
        with open(directory / _LOCK, "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _create_objects(self, job: Job, input_file: Path) -> None:
        directory = self.job_dir(job.job_id)
        with self._io(f"create the folder of job {job.job_id}"):
            try:
                directory.mkdir(parents=True, exist_ok=False)
            except FileExistsError:
                raise StorageError(f"Job {job.job_id} already exists") from None
        try:
            with self._io(f"store job {job.job_id}"):
                atomic_copy(Path(input_file), directory / job.input_name)
                atomic_write_bytes(directory / METADATA, job.to_json().encode())
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise

    def get(self, job_id: str) -> Job:
        directory = self._existing_job_dir(job_id)
        with self._io(f"read job {job_id}"):
            data = (directory / METADATA).read_bytes()
        return parse_stored_job(data, job_id)

    def update(self, job_id: str, change: JobChange) -> Job:
        directory = self._existing_job_dir(job_id)
        with self._deleted_meanwhile(job_id), self._io(f"update job {job_id}"), self._locked(directory):
            current = parse_stored_job((directory / METADATA).read_bytes(), job_id)
            new = change(current)
            if new is None:
                return current
            atomic_write_bytes(directory / METADATA, new.to_json().encode())
            return new

    @contextlib.contextmanager
    def _deleted_meanwhile(self, job_id: str) -> Iterator[None]:
        """A job folder that vanished under a write was deleted: that is JobNotFound, not a disk problem."""
        try:
            yield
        except StorageError as exc:
            if isinstance(exc.__cause__, FileNotFoundError) and not self.job_dir(job_id).exists():
                raise JobNotFound(f"Job {job_id} was deleted while it was being written") from None
            raise

    def fetch_input(self, job_id: str, destination: Path) -> Path:
        job = self.get(job_id)
        target = Path(destination) / job.input_name
        with self._io(f"copy the input of job {job_id}"):
            try:
                shutil.copyfile(self.job_dir(job_id) / job.input_name, target)
            except FileNotFoundError:
                raise StorageError(f"The uploaded song of job {job_id} is missing from storage") from None
        return target

    def save_output(self, job_id: str, name: str, source: Path) -> None:
        directory = self._existing_job_dir(job_id)
        with self._deleted_meanwhile(job_id), self._io(f"store {name} of job {job_id}"):
            atomic_copy(Path(source), directory / _safe_name(name))

    def read_output(self, job_id: str, name: str) -> bytes:
        path = self._existing_job_dir(job_id) / _safe_name(name)
        with self._io(f"read {name} of job {job_id}"):
            try:
                return path.read_bytes()
            except FileNotFoundError:
                raise OutputNotFound(f"Job {job_id} has no {name}") from None

    def output_info(self, job_id: str, name: str) -> OutputInfo:
        path = self._existing_job_dir(job_id) / _safe_name(name)
        with self._io(f"read {name} of job {job_id}"):
            try:
                return _info(path.stat())
            except FileNotFoundError:
                raise OutputNotFound(f"Job {job_id} has no {name}") from None

    def read_output_range(
        self, job_id: str, name: str, start: int, stop: int, *, version: str | None = None
    ) -> bytes:
        path = self._existing_job_dir(job_id) / _safe_name(name)
        with self._io(f"read {name} of job {job_id}"):
            try:
                handle = open(path, "rb")  # noqa: SIM115 - closed below
            except FileNotFoundError:
                raise OutputNotFound(f"Job {job_id} has no {name}") from None
            with handle:
                # Outputs are replaced by rename, never written in place: the open file is one version.
                if version is not None and _info(os.fstat(handle.fileno())).version != version:
                    raise StorageError(f"{name} of job {job_id} was replaced while it was being read")
                handle.seek(start)
                return handle.read(max(0, stop - start))

    def _delete_objects(self, job_id: str) -> None:
        """Under the job's lock, rename the folder away in one step, then remove it.

        A writer holding the lock finishes first; one that comes later finds no folder (JobNotFound),
        so a deleted job is never brought back by a late write.
        """
        directory = self.job_dir(job_id)
        tombstone = self.jobs_dir / f".deleted-{directory.name}-{os.getpid()}-{time.monotonic_ns()}"
        with self._io(f"delete job {job_id}"):
            try:
                with self._locked(directory):
                    os.rename(directory, tombstone)
            except FileNotFoundError:
                return  # already gone
        shutil.rmtree(tombstone, ignore_errors=True)

    def remove_expired_inputs(self, finished_before: datetime) -> int:
        removed = 0
        for directory in self.jobs_dir.iterdir():
            if directory.name.startswith(".") or not (directory / METADATA).is_file():
                continue
            try:
                job = parse_stored_job((directory / METADATA).read_bytes(), directory.name)
            except (JobUnreadable, OSError):
                continue  # damaged or deleted meanwhile: left alone
            if not job.status.is_final or job.completed_at is None or job.completed_at >= finished_before:
                continue
            song = directory / job.input_name
            if song.exists():
                with self._io(f"remove the input of job {job.job_id}"):
                    song.unlink(missing_ok=True)  # a concurrent delete may be faster
                removed += 1
            self._expire_stems(job)
        return removed

    def _expire_stems(self, job: Job) -> None:
        """The stems go with the song (they add up to it); the record then says why they are gone."""
        stems = [self.job_dir(job.job_id) / name for name in STEM_FILES.values()]
        if not any(path.exists() for path in stems) and not (job.result and job.result.stems_available):
            return
        with self._io(f"remove the stems of job {job.job_id}"):
            for path in stems:
                path.unlink(missing_ok=True)
        with contextlib.suppress(JobNotFound):  # deleted meanwhile
            self.update(job.job_id, lambda j: j.stems_expired())

    # --- the owner index: owners/{sha256(owner)}.json, changed under owners/{sha256(owner)}.lock
    def _index_path(self, owner: str) -> Path:
        return self.owners_dir / f"{owner_key(owner)}.json"

    def _read_index(self, owner: str) -> OwnerIndex:
        path = self._index_path(owner)
        with self._io("read the job history"):
            try:
                return OwnerIndex.model_validate_json(path.read_bytes())
            except FileNotFoundError:
                return OwnerIndex()

    def _change_index(self, owner: str, change: IndexChange) -> OwnerIndex:
        path = self._index_path(owner)
        with self._io("update the job history"), open(path.with_suffix(".lock"), "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                try:
                    current = OwnerIndex.model_validate_json(path.read_bytes())
                except FileNotFoundError:
                    current = OwnerIndex()
                new = change(current)
                if new is None:
                    return current
                atomic_write_bytes(path, new.model_dump_json().encode())
                return new
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _info(stat: os.stat_result) -> OutputInfo:
    return OutputInfo(size=stat.st_size, version=f"{stat.st_ino:x}-{stat.st_mtime_ns:x}-{stat.st_size:x}")


def _safe_name(name: str) -> str:
    if not name or "/" in name or name.startswith(".") or name == METADATA:
        raise ValueError(f"Not an output name: {name!r}")
    return name
