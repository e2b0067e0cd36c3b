"""GET /health for load balancers and Cloud Run."""

from __future__ import annotations

from fastapi import APIRouter

from groovesheet_api.deps import SettingsDep

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness")
def health(settings: SettingsDep) -> dict[str, str]:
    return {
        "status": "ok",
        "storage": "gcs" if settings.use_cloud_storage else "local",
        "auth": settings.auth_mode.value,
    }
