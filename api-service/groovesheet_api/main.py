"""The FastAPI application: ``uvicorn groovesheet_api.main:app``."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from groovesheet_api.auth import Authenticator
from groovesheet_api.config import ApiSettings, get_settings
from groovesheet_api.errors import install_error_handlers
from groovesheet_api.middleware import RequestIdMiddleware
from groovesheet_api.routes import health, jobs, preview, transcribe, web
from groovesheet_shared.logging import configure_logging
from groovesheet_shared.queue import create_job_queue
from groovesheet_shared.storage import create_job_store


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging("groovesheet-api", settings.log_level, settings.log_format)
    app = FastAPI(
        title="Groovesheet API",
        version="1.0.0",
        description="Upload a song, get drum sheet music (MusicXML) back.",
    )
    app.state.settings = settings
    app.state.store = create_job_store(settings)
    app.state.queue = create_job_queue(settings)
    app.state.authenticator = Authenticator(settings)
    install_error_handlers(app)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
        expose_headers=["X-Request-ID", "Content-Disposition"],
    )
    app.add_middleware(RequestIdMiddleware)
    for module in (health, transcribe, jobs, preview, web):
        app.include_router(module.router)
    return app


def __getattr__(name: str) -> FastAPI:
    # `uvicorn groovesheet_api.main:app` builds the app on first use, so importing this module
    # (tests, tools) does not read the environment or touch storage.
    if name == "app":
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(name)
