"""Every error leaves the API as ``{"error": {"code", "message"}}`` with a 4xx/5xx status."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from groovesheet_shared.errors import (
    GroovesheetError,
    InvalidJobId,
    JobNotFound,
    OutputNotFound,
    QueueError,
    StorageError,
)

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An error answered to the client as is: status, stable code, and what to do about it."""

    def __init__(self, status_code: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.headers = headers


_STATUS_BY_ERROR: dict[type[GroovesheetError], int] = {
    InvalidJobId: 404,
    JobNotFound: 404,
    OutputNotFound: 404,
    QueueError: 503,
    StorageError: 503,
}


def error_response(
    status_code: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status_code, headers=headers
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status_code, exc.code, exc.message, exc.headers)

    @app.exception_handler(GroovesheetError)
    async def _domain_error(_: Request, exc: GroovesheetError) -> JSONResponse:
        status = next((s for t, s in _STATUS_BY_ERROR.items() if isinstance(exc, t)), 500)
        if status >= 500:
            logger.error("request failed: %s", exc.message, extra={"error_code": exc.code})
        return error_response(status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err.get('loc', ()) if p not in ('query', 'path', 'body'))}: "
            f"{err.get('msg', 'invalid')}"
            for err in exc.errors()
        )
        return error_response(422, "invalid_request", f"The request is not valid: {problems}.")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = {
            404: "There is nothing here. See /docs for the API.",
            405: "This method is not allowed here. See /docs for the API.",
        }.get(exc.status_code, str(exc.detail))
        return error_response(exc.status_code, code, message, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected error")
        return error_response(
            500, "internal_error", "Something went wrong on our side. Please try again in a minute."
        )
