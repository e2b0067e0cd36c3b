"""Who is asking: the ``sub`` of a verified JWT, or "anonymous" when AUTH_MODE=none."""

from __future__ import annotations

import logging

import jwt
from jwt import PyJWKClient

from groovesheet_api.config import ApiSettings, AuthMode
from groovesheet_api.errors import ApiError

logger = logging.getLogger(__name__)

ANONYMOUS = "anonymous"
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers=_CHALLENGE)


class Authenticator:
    def __init__(self, settings: ApiSettings) -> None:
        self.mode = settings.auth_mode
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience
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

    def user_for(self, authorization: str | None) -> str:
        if self.mode is AuthMode.NONE:
            return ANONYMOUS
        if not authorization:
            raise _unauthorized("Sign in first: send 'Authorization: Bearer <token>'.")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("Send the token as 'Authorization: Bearer <token>'.")
        claims = self._verify(token.strip())
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise _unauthorized("The token has no subject ('sub'). Sign in again.")
        return subject

    def _verify(self, token: str) -> dict:
        required = ["exp", "sub"]
        options = {"require": [*required, *(["iss"] if self.issuer else []), *(["aud"] if self.audience else [])]}
        try:
            if self.mode is AuthMode.HS256:
                key: object = self._secret
                algorithms = ["HS256"]
            else:
                assert self._jwks is not None
                key = self._jwks.get_signing_key_from_jwt(token).key
                algorithms = ["RS256"]
            return jwt.decode(
                token,
                key,  # type: ignore[arg-type]
                algorithms=algorithms,
                audience=self.audience,
                issuer=self.issuer,
                options=options,  # type: ignore[arg-type]
                leeway=30,
            )
        except jwt.ExpiredSignatureError:
            raise _unauthorized("Your session has expired. Sign in again.") from None
        except jwt.PyJWKClientConnectionError:
            logger.error("could not fetch the JWKS to verify a token")
            raise ApiError(
                503, "auth_unavailable", "We could not check your sign-in right now. Try again in a minute."
            ) from None
        except (jwt.InvalidTokenError, jwt.PyJWKClientError) as exc:
            logger.info("token rejected: %s", exc.__class__.__name__)
            raise _unauthorized("The sign-in token is not valid. Sign in again.") from None
