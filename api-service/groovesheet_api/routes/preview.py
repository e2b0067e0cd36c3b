"""The notation preview: the job's MusicXML drawn as SVG by verovio, for the web page."""

from __future__ import annotations

import logging
import re
import tempfile
import threading
from pathlib import Path

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from groovesheet_api.deps import StoreDep, UserDep, load_own_job
from groovesheet_api.errors import ApiError
from groovesheet_api.routes.jobs import ensure_completed
from groovesheet_api.schemas import error_responses
from groovesheet_shared.errors import OutputNotFound
from groovesheet_shared.jobs import OUTPUT_FILES
from groovesheet_shared.storage import JobStore

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["jobs"])

PREVIEW_NAME = "preview.svg"
MAX_PAGES = 40  # a 15-minute song fits well within this; more would be a huge image
PAGE_GAP = 20  # SVG units between stacked pages (only very long songs have more than one)
# Page width in verovio units at scale 40: about four bars of eighth notes per line, which stays
# readable when the image is scaled to a laptop screen and scrolls sideways on a phone.
VEROVIO_OPTIONS = {
    "pageWidth": 2200,
    "pageHeight": 60000,  # verovio's maximum: one tall page for songs up to several hundred bars
    "scale": 40,
    "adjustPageHeight": True,
    "breaks": "auto",
    "footer": "none",
    "svgViewBox": True,
    "svgRemoveXlink": True,
}
_VIEWBOX = re.compile(r'<svg[^>]*\bviewBox="0 0 ([\d.]+) ([\d.]+)"')
_render_lock = threading.Lock()  # one verovio render at a time: cheap, and keeps the C++ side simple


class PreviewError(Exception):
    """Verovio could not read or draw the MusicXML."""


def render_svg(musicxml: bytes) -> str:
    """All pages of the score as one SVG, stacked top to bottom."""
    import verovio  # imported here so the API starts even if the wheel is broken

    with _render_lock:
        # verovio keeps its default resource path per thread (set on import, in the importing
        # thread), so a toolkit made in a worker thread must be pointed at the fonts itself.
        toolkit = verovio.toolkit(False)
        toolkit.setResourcePath(str(Path(verovio.__file__).parent / "data"))
        toolkit.setOptions(VEROVIO_OPTIONS)
        if not toolkit.loadData(musicxml.decode("utf-8", errors="replace")):
            raise PreviewError(
                f"verovio could not read the MusicXML {toolkit.getLog().strip()[:300]}".strip()
            )
        pages = min(toolkit.getPageCount(), MAX_PAGES)
        if pages < 1:
            raise PreviewError("verovio found nothing to draw")
        svgs = [toolkit.renderToSVG(page) for page in range(1, pages + 1)]
    return stack_pages(svgs)


def stack_pages(svgs: list[str]) -> str:
    if len(svgs) == 1:
        return svgs[0]
    width, y, parts = 0.0, 0.0, []
    for svg in svgs:
        match = _VIEWBOX.search(svg)
        if not match:
            raise PreviewError("verovio drew a page without a viewBox")
        page_width, page_height = float(match.group(1)), float(match.group(2))
        body = svg[match.start() :].replace(
            "<svg", f'<svg x="0" y="{y:g}" width="{page_width:g}" height="{page_height:g}"', 1
        )
        parts.append(body)
        width = max(width, page_width)
        y += page_height + PAGE_GAP
    height = y - PAGE_GAP
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:g} {height:g}">'
        + "".join(parts)
        + "</svg>"
    )


def _cache(store: JobStore, job_id: str, svg: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / PREVIEW_NAME
        path.write_bytes(svg)
        try:
            store.save_output(job_id, PREVIEW_NAME, path)
        except Exception as exc:  # the preview still answers; the next request draws it again
            logger.warning("could not cache the preview of %s: %s", job_id, exc)


def preview_bytes(store: JobStore, job_id: str) -> bytes:
    """The cached preview, or a fresh render that is then cached next to the outputs."""
    try:
        return store.read_output(job_id, PREVIEW_NAME)
    except OutputNotFound:
        pass
    musicxml = store.read_output(job_id, OUTPUT_FILES["musicxml"])
    try:
        svg = render_svg(musicxml).encode()
    except Exception as exc:
        logger.error("preview of %s failed: %s", job_id, exc, extra={"error_code": "preview_failed"})
        raise ApiError(
            500,
            "preview_failed",
            "The notation preview could not be drawn for this job. "
            "The MusicXML, MIDI and JSON downloads still work.",
        ) from exc
    _cache(store, job_id, svg)
    return svg


@router.get(
    "/jobs/{job_id}/preview.svg",
    summary="Notation preview (SVG)",
    response_class=Response,
    responses={
        200: {"description": "The notation", "content": {"image/svg+xml": {}}},
        **error_responses(401, 404, 409, 410, 500, 503),
    },
)
async def preview(job_id: str, store: StoreDep, user: UserDep) -> Response:
    job = await run_in_threadpool(load_own_job, job_id, store, user)
    ensure_completed(job)
    svg = await run_in_threadpool(preview_bytes, store, job.job_id)
    return Response(
        svg,
        media_type="image/svg+xml",
        headers={
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
            # Opened directly, the SVG is a document: it may style itself but never run anything.
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
        },
    )
