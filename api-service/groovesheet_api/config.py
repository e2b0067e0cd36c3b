"""The API's one settings object, read once from the environment."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from typing import Annotated

from pydantic import Field, model_validator
from pydantic_settings import NoDecode

from groovesheet_shared.settings import CommonSettings


class AuthMode(StrEnum):
    NONE = "none"  # local default: every job belongs to "anonymous"
    HS256 = "hs256"  # tokens signed with a shared secret (JWT_SECRET)
    JWKS = "jwks"  # RS256 tokens checked against a JWKS URL (Clerk and other identity providers)


class ApiSettings(CommonSettings):
    port: int = 8080
    auth_mode: AuthMode = AuthMode.NONE
    jwt_secret: str | None = Field(default=None, repr=False)
    jwks_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwks_cache_seconds: int = Field(default=3600, gt=0)
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["*"])

    max_upload_mb: float = Field(default=100, gt=0)
    max_duration_seconds: float = Field(default=900, gt=0)

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
        if self.auth_mode is AuthMode.HS256 and not self.jwt_secret:
            raise ValueError("AUTH_MODE=hs256 needs JWT_SECRET")
        if self.auth_mode is AuthMode.JWKS and not (
            self.jwks_url and self.jwt_issuer and self.jwt_audience
        ):
            raise ValueError("AUTH_MODE=jwks needs JWKS_URL, JWT_ISSUER and JWT_AUDIENCE")
        return self

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


@lru_cache
def get_settings() -> ApiSettings:
    return ApiSettings()
