"""Who is asking: the ``sub`` of a verified JWT, or "anonymous" when AUTH_MODE=none.

Decisions (README, Configuration):
- exactly one ``Authorization`` header: two are refused (400), never picked from;
- ``JWT_ISSUER`` / ``JWT_AUDIENCE`` apply in both modes; without ``JWT_AUDIENCE`` a token that names
  an audience is refused, because it was issued for some other service;
- a token must have ``exp`` and ``sub``, and may not be valid for longer than
  ``JWT_MAX_LIFETIME_SECONDS`` (``exp - iat``, or ``exp - now`` when it has no ``iat``);
- an HS256 secret shorter than 32 bytes stops the API at start-up (config.py).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import jwt
from jwt import PyJWKClient

from groovesheet_api.config import ApiSettings, AuthMode
from groovesheet_api.errors import ApiError

logger = logging.getLogger(__name__)

ANONYMOUS = "anonymous"
_CHALLENGE = {"WWW-Authenticate": "Bearer"}
LEEWAY_SECONDS = 30


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers=_CHALLENGE)


class Authenticator:
    def __init__(self, settings: ApiSettings) -> None:
        self.mode = settings.auth_mode
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience
        self.max_lifetime = settings.jwt_max_lifetime_seconds
        self._secret = settings.jwt_secret
        self._jwks: PyJWKClient | None = None
        if self.mode is AuthMode.JWKS:
            # Keys are cached, so a token check does not fetch the JWKS on every request.
            self._jwks = PyJWKClient(
                settings.jwks_url or "",
                cache_keys=True,
                lifespan=settings.jwks_cache_seconds,
                timeout=10,
            )

    def user_for(self, authorizations: list[str]) -> str:
        """The user behind the request's Authorization header(s)."""
        if self.mode is AuthMode.NONE:
            return ANONYMOUS
        if len(authorizations) > 1:
            raise ApiError(
                400,
                "invalid_authorization",
                "The request has more than one Authorization header. Send exactly one: "
                "'Authorization: Bearer <token>'.",
                headers={"WWW-Authenticate": 'Bearer error="invalid_request"'},
            )
        authorization = authorizations[0] if authorizations else ""
        if not authorization:
            raise _unauthorized("Sign in first: send 'Authorization: Bearer <token>'.")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("Send the token as 'Authorization: Bearer <token>'.")
        claims = self._verify(token.strip())
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise _unauthorized("The token has no subject ('sub'). Sign in again.")
        self._check_lifetime(claims)
        return subject

    def _verify(self, token: str) -> dict[str, Any]:
        required = ["exp", "sub", *(["iss"] if self.issuer else []), *(["aud"] if self.audience else [])]
        try:
            if self.mode is AuthMode.HS256:
                key: Any = self._secret
                algorithms = ["HS256"]
            else:
                assert self._jwks is not None
                key = self._jwks.get_signing_key_from_jwt(token).key
                algorithms = ["RS256"]
            return jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self.audience,
                issuer=self.issuer,
                options={"require": required},  # type: ignore[typeddict-item]
                leeway=LEEWAY_SECONDS,
            )
        except jwt.ExpiredSignatureError:
            raise _unauthorized("Your session has expired. Sign in again.") from None
        except jwt.InvalidAudienceError:
            expected = f"'{self.audience}'" if self.audience else "none (JWT_AUDIENCE is not set)"
            raise _unauthorized(
                f"The token was issued for another audience; this server accepts {expected}. "
                "Sign in to this application again."
            ) from None
        except jwt.PyJWKClientConnectionError:
            logger.error("could not fetch the JWKS to verify a token")
            raise ApiError(
                503, "auth_unavailable", "We could not check your sign-in right now. Try again in a minute."
            ) from None
        except (jwt.InvalidTokenError, jwt.PyJWKClientError) as exc:
            logger.info("token rejected: %s", exc.__class__.__name__)
            raise _unauthorized("The sign-in token is not valid. Sign in again.") from None

    def _check_lifetime(self, claims: dict[str, Any]) -> None:
        expires = claims["exp"]
        issued = claims.get("iat")
        start = issued if isinstance(issued, int | float) else time.time()
        if expires - start > self.max_lifetime + LEEWAY_SECONDS:
            logger.info("token rejected: valid for %d s", int(expires - start))
            raise _unauthorized(
                f"The token is valid for too long (more than {self.max_lifetime} s). "
                "Sign in again to get a short-lived token."
            )
