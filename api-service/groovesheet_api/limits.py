"""Request limits enforced inside the application, so they hold under any ASGI server.

- a body that stops arriving for BODY_IDLE_TIMEOUT_SECONDS, or is still arriving after
  BODY_TIMEOUT_SECONDS, is answered 408 and the connection closed;
- headers larger than MAX_HEADER_BYTES are answered 431 (the HTTP protocol in
  ``groovesheet_api.server`` already stops them while they arrive; this is the fallback).
"""

from __future__ import annotations

import time

import anyio
from starlette.types import Message, Receive, Scope

from groovesheet_api.errors import ApiError

# Answered with the 408, so the server closes the connection instead of reading on.
CLOSE = {"Connection": "close"}


def header_bytes(scope: Scope) -> int:
    """Bytes of the request line and headers, as received."""
    line = len(scope.get("raw_path", b"")) + len(scope.get("query_string", b"")) + 16
    return line + sum(len(name) + len(value) + 4 for name, value in scope.get("headers", []))


def headers_too_large(max_bytes: int) -> ApiError:
    return ApiError(
        431,
        "headers_too_large",
        f"The request headers are larger than {max_bytes // 1024} KB. Send fewer or smaller headers "
        "(cookies, tokens) and try again.",
        headers=CLOSE,
    )


class TimedReceive:
    """``receive`` with an idle timeout between body chunks and a deadline for the whole body.

    Raises ApiError 408 inside whoever reads the body; once the body is complete, waiting for the
    client to disconnect is not timed.
    """

    def __init__(self, receive: Receive, idle_seconds: float, total_seconds: float) -> None:
        self._receive = receive
        self.idle_seconds = idle_seconds
        self.total_seconds = total_seconds
        self._deadline = time.monotonic() + total_seconds
        self._body_done = False

    async def __call__(self) -> Message:
        if self._body_done:
            return await self._receive()
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise self._too_slow()
        wait = min(self.idle_seconds, remaining)
        with anyio.move_on_after(wait) as waited:
            message = await self._receive()
        if waited.cancelled_caught:
            raise self._stalled() if wait == self.idle_seconds else self._too_slow()
        if message["type"] != "http.request" or not message.get("more_body", False):
            self._body_done = True
        return message

    def _stalled(self) -> ApiError:
        return ApiError(
            408,
            "request_timeout",
            f"The upload stalled: nothing arrived for {self.idle_seconds:g} seconds. Check your "
            "connection and upload the song again.",
            headers=CLOSE,
        )

    def _too_slow(self) -> ApiError:
        return ApiError(
            408,
            "request_timeout",
            f"The upload took longer than {self.total_seconds:g} seconds. Use a faster connection or a "
            "smaller file (MP3 or OGG), and upload it again.",
            headers=CLOSE,
        )
