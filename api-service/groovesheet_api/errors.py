"""Every error leaves the API as ``{"error": {"code", "message"}}`` with a 4xx/5xx status.

A 4xx message says what was wrong with the request and what to send instead; a 5xx message never
shows internal details (paths, bucket names): those go to the log, under the request id.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from groovesheet_shared.errors import (
    GroovesheetError,
    InvalidJobId,
    InvalidJobOptions,
    JobNotFound,
    JobUnreadable,
    OutputNotFound,
    QueueError,
    StorageError,
)

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An error answered to the client as is: status, stable code, and what to do about it."""

    def __init__(
        self, status_code: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.headers = headers

    def __reduce__(self) -> tuple[type[ApiError], tuple[int, str, str, dict[str, str] | None]]:
        # Raised in a decoding process, it crosses back to the API pickled.
        return (type(self), (self.status_code, self.code, self.message, self.headers))


_STATUS_BY_ERROR: dict[type[GroovesheetError], int] = {
    InvalidJobId: 404,
    JobNotFound: 404,
    OutputNotFound: 404,
    InvalidJobOptions: 422,
    JobUnreadable: 410,
    QueueError: 503,
    StorageError: 503,
}
# What a client is told for a server-side problem; the details are logged.
_PUBLIC_5XX: dict[type[GroovesheetError], str] = {
    QueueError: "We could not reach the job queue right now. Please try again in a minute.",
    StorageError: "We could not reach the job storage right now. Please try again in a minute.",
}
INTERNAL_ERROR = "Something went wrong on our side. Please try again in a minute."
_HTTP_ERRORS: dict[int, tuple[str, str]] = {
    404: ("not_found", "There is nothing here. See /docs for the API."),
    405: ("method_not_allowed", "This method is not allowed here. See /docs for the API."),
}


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


def error_response(
    status_code: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status_code, headers=headers)


def status_for(exc: GroovesheetError) -> int:
    return next((s for t, s in _STATUS_BY_ERROR.items() if isinstance(exc, t)), 500)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status_code, exc.code, exc.message, exc.headers)

    @app.exception_handler(GroovesheetError)
    async def _domain_error(_: Request, exc: GroovesheetError) -> JSONResponse:
        status = status_for(exc)
        if status >= 500:
            logger.error("request failed: %s", exc.message, extra={"error_code": exc.code})
            public = next((m for t, m in _PUBLIC_5XX.items() if isinstance(exc, t)), INTERNAL_ERROR)
            return error_response(status, exc.code, public)
        if isinstance(exc, JobUnreadable):
            logger.error("%s", exc.message, extra={"error_code": exc.code})
        return error_response(status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err.get('loc', ()) if p not in ('query', 'path', 'body'))}: "
            f"{err.get('msg', 'invalid')}"
            for err in exc.errors()
        )
        return error_response(
            422, "invalid_request", f"The request is not valid: {problems}. See /docs for what to send."
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and (location := slash_redirect(request)):
            return RedirectResponse(location, status_code=307)
        code, message = _HTTP_ERRORS.get(exc.status_code, ("http_error", str(exc.detail)))
        return error_response(exc.status_code, code, message, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected error")
        return error_response(500, "internal_error", INTERNAL_ERROR)


def slash_redirect(request: Request) -> str | None:
    """Where a GET with one slash too many or too few belongs, as a path on this host.

    Starlette's own redirect builds an absolute URL from the Host header, so a forged Host sent the
    client elsewhere. This Location is relative and always starts with exactly one slash.
    """
    if request.method not in ("GET", "HEAD"):
        return None
    path: str = request.scope.get("path", "")
    raw = request.scope.get("raw_path", path.encode()).decode("latin-1")
    if path.endswith("/") and path.strip("/"):
        other, other_raw = path.rstrip("/"), raw.rstrip("/")
    elif not path.endswith("/"):
        other, other_raw = path + "/", raw + "/"
    else:
        return None
    scope = {**request.scope, "path": other}
    if not any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
        return None
    location = "/" + other_raw.lstrip("/")
    query = request.scope.get("query_string", b"").decode("latin-1")
    return f"{location}?{query}" if query else location
