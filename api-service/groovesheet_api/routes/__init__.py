"""One router per resource."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter


def add_get_and_head(
    router: APIRouter,
    path: str,
    endpoint: Callable[..., Any],
    *,
    include_in_schema: bool = True,
    **options: Any,
) -> None:
    """GET, and HEAD answering the same without a body (uptime checkers use HEAD).

    HEAD is left out of /docs: it would repeat the GET operation under the same id.
    """
    router.add_api_route(path, endpoint, methods=["GET"], include_in_schema=include_in_schema, **options)
    router.add_api_route(path, endpoint, methods=["HEAD"], include_in_schema=False, **options)
