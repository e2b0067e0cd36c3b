"""The API's one settings object, read once from the environment."""

from __future__ import annotations

import logging
import os
from enum import StrEnum
from functools import lru_cache
from typing import Annotated

from pydantic import Field, model_validator
from pydantic_settings import NoDecode

from groovesheet_shared.settings import CommonSettings

logger = logging.getLogger(__name__)

# RFC 7518 3.2: an HS256 key must be at least as long as the hash, 256 bits.
MIN_JWT_SECRET_BYTES = 32


def _usable_cpus() -> int:
    """Cores this process may run on (a container's CPU set), not the host's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 2


class AuthMode(StrEnum):
    NONE = "none"  # local default: every job belongs to "anonymous"
    HS256 = "hs256"  # tokens signed with a shared secret (JWT_SECRET)
    JWKS = "jwks"  # RS256 tokens checked against a JWKS URL (Clerk and other identity providers)


class ApiSettings(CommonSettings):
    port: int = 8080
    auth_mode: AuthMode = AuthMode.NONE
    jwt_secret: str | None = Field(default=None, repr=False)
    jwks_url: str | None = None
    # Both auth modes: when set, a token must carry this issuer / audience. When JWT_AUDIENCE is
    # not set, a token that names an audience is refused (it was made for another service).
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwks_cache_seconds: int = Field(default=3600, gt=0)
    # A token valid for longer than this (exp - iat, or exp - now without iat) is refused.
    jwt_max_lifetime_seconds: int = Field(default=24 * 3600, gt=0)
    # None: "*" when AUTH_MODE=none, no cross-origin access otherwise (set the front end's origin).
    cors_origins: Annotated[list[str] | None, NoDecode] = None

    max_upload_mb: float = Field(default=100, gt=0)
    max_duration_seconds: float = Field(default=900, gt=0)
    # Shorter than a bar of 4/4 at 120 bpm is not a song to transcribe.
    min_duration_seconds: float = Field(default=2.0, ge=0)
    # Uploads decoded at once, each in a low-priority process (groovesheet_api.decoding); more wait
    # their turn. Default: one core fewer than the machine has, so one is always left for the API.
    upload_decode_concurrency: int = Field(default_factory=lambda: max(1, _usable_cpus() - 1), ge=1)
    # Fair use: queued or processing jobs one user may have at once; the next upload gets 429.
    # 0 turns the limit off (load tests against a local API without a worker).
    max_active_jobs_per_user: int = Field(default=3, ge=0)
    # The Retry-After of that 429: about how long a job takes to leave the queue.
    active_jobs_retry_after_seconds: int = Field(default=60, ge=1)

    # Slow or oversized requests (see groovesheet_api.limits and groovesheet_api.server).
    max_header_bytes: int = Field(default=16 * 1024, ge=1024)
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    body_idle_timeout_seconds: float = Field(default=30.0, gt=0)
    body_timeout_seconds: float = Field(default=600.0, gt=0)
    keep_alive_seconds: float = Field(default=5.0, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _split_origins(cls, data: dict) -> dict:
        for key in ("cors_origins", "CORS_ORIGINS"):
            value = data.get(key) if isinstance(data, dict) else None
            if isinstance(value, str):
                data[key] = [o.strip() for o in value.split(",") if o.strip()]
        return data

    @model_validator(mode="after")
    def _auth_is_complete(self) -> ApiSettings:
        if self.auth_mode is AuthMode.HS256:
            if not self.jwt_secret:
                raise ValueError("AUTH_MODE=hs256 needs JWT_SECRET")
            if len(self.jwt_secret.encode()) < MIN_JWT_SECRET_BYTES:
                raise ValueError(
                    f"JWT_SECRET is too short for AUTH_MODE=hs256: use at least {MIN_JWT_SECRET_BYTES} "
                    "random bytes (for example: openssl rand -base64 48)"
                )
        if self.auth_mode is AuthMode.JWKS and not (self.jwks_url and self.jwt_issuer and self.jwt_audience):
            raise ValueError("AUTH_MODE=jwks needs JWKS_URL, JWT_ISSUER and JWT_AUDIENCE")
        if self.min_duration_seconds >= self.max_duration_seconds:
            raise ValueError("MIN_DURATION_SECONDS must be below MAX_DURATION_SECONDS")
        return self

    @property
    def allowed_origins(self) -> list[str]:
        """CORS origins: as configured, else any origin only while nobody signs in."""
        if self.cors_origins is not None:
            return self.cors_origins
        return ["*"] if self.auth_mode is AuthMode.NONE else []

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


@lru_cache
def get_settings() -> ApiSettings:
    return ApiSettings()
