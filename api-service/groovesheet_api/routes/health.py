"""GET /health for load balancers and Cloud Run (HEAD too, for uptime checkers)."""

from __future__ import annotations

from fastapi import APIRouter

from groovesheet_api.deps import SettingsDep
from groovesheet_api.routes import add_get_and_head
from groovesheet_api.schemas import Health

router = APIRouter(tags=["health"])


def health(settings: SettingsDep) -> Health:
    return Health(
        status="ok",
        storage="gcs" if settings.use_cloud_storage else "local",
        auth=settings.auth_mode,
    )


add_get_and_head(router, "/health", health, summary="Liveness", response_model=Health)
