"""Dependencies injected into routes: settings, storage, queue and the current user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from groovesheet_api.auth import Authenticator
from groovesheet_api.config import ApiSettings
from groovesheet_shared.errors import JobNotFound
from groovesheet_shared.jobs import Job, parse_job_id
from groovesheet_shared.queue import JobQueue
from groovesheet_shared.storage import JobStore


def get_settings(request: Request) -> ApiSettings:
    return request.app.state.settings


def get_store(request: Request) -> JobStore:
    return request.app.state.store


def get_queue(request: Request) -> JobQueue:
    return request.app.state.queue


# Declares "Authorization: Bearer" in the OpenAPI schema (the Authorize button at /docs); the
# header itself is checked by the Authenticator.
_bearer = HTTPBearer(auto_error=False, description="A sign-in token, when AUTH_MODE is not none")


def current_user(
    request: Request, _documented: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None
) -> str:
    authenticator: Authenticator = request.app.state.authenticator
    # Every Authorization header, not just the first: two of them are refused, never picked from.
    return authenticator.user_for(request.headers.getlist("authorization"))


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
StoreDep = Annotated[JobStore, Depends(get_store)]
QueueDep = Annotated[JobQueue, Depends(get_queue)]
UserDep = Annotated[str, Depends(current_user)]


def load_own_job(job_id: str, store: JobStore, user: str) -> Job:
    """The job, if it exists and belongs to ``user``; another user's job is 'not found'."""
    job = store.get(parse_job_id(job_id))
    if job.owner != user:
        raise JobNotFound(f"There is no job {job_id}. Check the job_id, or upload the song again.")
    return job
