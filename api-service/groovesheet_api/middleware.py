"""The outermost layer of the API: request ids, limits, security headers, access log, last resort.

It wraps everything else (Starlette's own error middleware included), so even a 500 carries
``X-Request-ID`` and the security headers, and no exception ever reaches the server to be printed
as a plain-text traceback.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from groovesheet_api.config import ApiSettings
from groovesheet_api.errors import INTERNAL_ERROR, ApiError, error_response
from groovesheet_api.limits import TimedReceive, header_bytes, headers_too_large
from groovesheet_api.security import add_security_headers
from groovesheet_api.server import HARDENED_EXTENSION
from groovesheet_shared.logging import request_id_var

logger = logging.getLogger("groovesheet_api.access")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, settings: ApiSettings) -> None:
        self.app = app
        self.settings = settings
        self._warned_protocol = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _first_header(scope, b"x-request-id")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        https = scope.get("scheme") == "https" or _first_header(scope, b"x-forwarded-proto") == "https"
        response_started = False
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal response_started, status
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                add_security_headers(headers, scope.get("path", ""), https)
                message = {**message, "headers": headers}
            await send(message)

        try:
            self._warn_if_unprotected(scope)
            if header_bytes(scope) > self.settings.max_header_bytes:
                await _send_error(
                    headers_too_large(self.settings.max_header_bytes), scope, receive, send_with_headers
                )
                return
            if scope.get("method") in _BODY_METHODS:
                receive = TimedReceive(
                    receive, self.settings.body_idle_timeout_seconds, self.settings.body_timeout_seconds
                )
            await self.app(scope, receive, send_with_headers)
        except Exception:
            # Starlette's error middleware has logged it and answered 500 (JSON) when it could.
            if not response_started:
                logger.exception("unexpected error outside the application")
                await error_response(500, "internal_error", INTERNAL_ERROR)(scope, receive, send_with_headers)
        finally:
            logger.info(
                "%s %s %s",
                scope.get("method"),
                scope.get("path"),
                status,
                extra={
                    "http_method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            request_id_var.reset(token)

    def _warn_if_unprotected(self, scope: Scope) -> None:
        if self._warned_protocol or HARDENED_EXTENSION in (scope.get("extensions") or {}):
            return
        self._warned_protocol = True
        logger.warning(
            "served without groovesheet_api.server:HardenedHttpProtocol: header size and header "
            "timeout limits are checked only after the headers arrived. Start uvicorn with "
            "--http groovesheet_api.server:HardenedHttpProtocol"
        )


def _first_header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


async def _send_error(error: ApiError, scope: Scope, receive: Receive, send: Send) -> None:
    response = error_response(error.status_code, error.code, error.message, error.headers)
    await response(scope, receive, send)
