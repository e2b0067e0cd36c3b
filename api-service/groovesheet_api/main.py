"""The FastAPI application: ``uvicorn groovesheet_api.main:app`` (see groovesheet_api.server)."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

from groovesheet_api.auth import Authenticator
from groovesheet_api.config import ApiSettings, get_settings
from groovesheet_api.decoding import Decoder
from groovesheet_api.errors import install_error_handlers
from groovesheet_api.middleware import RequestContextMiddleware
from groovesheet_api.routes import health, jobs, preview, transcribe, web
from groovesheet_shared.logging import capture_native_stderr, configure_logging
from groovesheet_shared.queue import create_job_queue
from groovesheet_shared.storage import create_job_store

logger = logging.getLogger("groovesheet_api")
# Threads for the disk and storage work of uploads (staging, store, queue), apart from the
# default pool that answers status polls.
UPLOAD_IO_THREADS = 8


class GroovesheetApi(FastAPI):
    """FastAPI with RequestContextMiddleware outside everything, Starlette's error layer included."""

    def build_middleware_stack(self) -> ASGIApp:
        return RequestContextMiddleware(super().build_middleware_stack(), self.state.settings)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    app.state.decoder.close()


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging("groovesheet-api", settings.log_level, settings.log_format)
    app = GroovesheetApi(
        lifespan=_lifespan,
        title="Groovesheet API",
        version="1.0.0",
        description="Upload a song, get drum sheet music (MusicXML) back.",
        # Starlette's slash redirect builds its Location from the Host header; ours does not.
        redirect_slashes=False,
    )
    app.state.settings = settings
    app.state.store = create_job_store(settings)
    app.state.queue = create_job_queue(settings)
    app.state.authenticator = Authenticator(settings)
    # Uploads are decoded a few at a time in low-priority processes, and their disk work has threads
    # of its own: status polls never wait behind an upload for a core or for a thread.
    app.state.decoder = Decoder(settings.upload_decode_concurrency)
    app.state.upload_io = anyio.CapacityLimiter(UPLOAD_IO_THREADS)
    install_error_handlers(app)
    origins = settings.allowed_origins
    if "*" in origins and settings.auth_mode.value != "none":
        logger.warning("CORS_ORIGINS=* with sign-in enabled: any web site may call this API")
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_methods=["GET", "HEAD", "POST", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
        expose_headers=["X-Request-ID", "Content-Disposition"],
    )
    for module in (health, transcribe, jobs, preview, web):
        app.include_router(module.router)
    return app


def __getattr__(name: str) -> FastAPI:
    # `uvicorn groovesheet_api.main:app` builds the app on first use, so importing this module
    # (tests, tools) does not read the environment or touch storage.
    if name == "app":
        # Logging first, from the environment, so even settings that stop the start-up (a short
        # JWT_SECRET) are reported as JSON; create_app configures it again from the settings.
        log_format = os.environ.get("LOG_FORMAT", "json").lower()
        configure_logging("groovesheet-api", os.environ.get("LOG_LEVEL", "INFO"), log_format)
        if log_format == "json":
            # Decoder warnings written to stderr from C become JSON log lines too.
            capture_native_stderr()
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(name)
