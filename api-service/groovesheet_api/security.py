"""Security headers on every response: the web page, the API, the docs and the protocol's refusals."""

from __future__ import annotations

import base64
import hashlib
import re

# On everything: no MIME sniffing, never inside a frame, no referrer leaks, own browsing context.
BASE_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
)
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")

# JSON and files: nothing in them may load or run anything.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# FastAPI's /docs (Swagger UI) and /redoc load their scripts and styles from these CDNs.
DOCS_CSP = (
    "default-src 'none'; "
    "script-src 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "connect-src 'self'; worker-src blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})

_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)


def page_csp(html: str) -> str:
    """CSP for a page whose only script and styles are inline: exactly those blocks may run.

    The hashes are computed from the page itself, so editing the page cannot leave them stale.
    """
    hashes: dict[str, list[str]] = {"script": [], "style": []}
    for kind, body in _INLINE.findall(html):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        hashes[kind].append(f"'sha256-{digest}'")
    scripts = " ".join(hashes["script"]) or "'none'"
    styles = " ".join(hashes["style"]) or "'none'"
    return (
        "default-src 'none'; "
        f"script-src {scripts}; "
        f"style-src {styles}; "
        # data: for the favicon, blob: for the notation preview image; media: the stems' players
        # (streamed from the API, or blob: when a signed-in page fetched them with its token).
        "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )


def add_security_headers(headers: list[tuple[bytes, bytes]], path: str, https: bool) -> None:
    """Add what a response does not set itself (a route may send a stricter or looser CSP)."""
    present = {name.lower() for name, _ in headers}
    for name, value in BASE_HEADERS:
        if name not in present:
            headers.append((name, value))
    if b"content-security-policy" not in present:
        csp = DOCS_CSP if path in DOCS_PATHS else API_CSP
        headers.append((b"content-security-policy", csp.encode()))
    if https and HSTS[0] not in present:
        headers.append(HSTS)
