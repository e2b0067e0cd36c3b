"""The HTTP protocol the API runs on: uvicorn's httptools protocol with the limits it lacks.

Start the API with it (the Dockerfile and the Makefile do)::

    uvicorn groovesheet_api.main:app --http groovesheet_api.server:HardenedHttpProtocol \\
        --no-server-header --no-access-log

What it adds, each a setting (``groovesheet_api.config.ApiSettings``):

- request headers larger than MAX_HEADER_BYTES are refused with 431 as soon as that many bytes
  arrived, before they are buffered (httptools itself has no limit);
- headers that do not arrive within HEADER_TIMEOUT_SECONDS get 408 and the connection is closed
  (uvicorn waits for ever: a slowloris holds a connection with one byte a minute);
- a body the application answered without reading (an early 413, a 404) is drained for at most
  BODY_IDLE_TIMEOUT_SECONDS, then the connection is closed;
- malformed HTTP gets a JSON 400 instead of uvicorn's plain text;
- keep-alive connections are closed after KEEP_ALIVE_SECONDS idle, and no ``Server`` header is sent.

Slow request bodies are timed out in the application (``groovesheet_api.limits``), so that part
also holds under any other ASGI server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from asyncio import TimerHandle
from typing import Any

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from groovesheet_api.config import get_settings
from groovesheet_api.security import BASE_HEADERS

logger = logging.getLogger("groovesheet_api.server")

# Set in every request's scope, so the application can tell it runs on this protocol.
HARDENED_EXTENSION = "groovesheet.hardened_http"
# After a refusal the connection reads and drops input this long before closing, so the client
# (still sending) gets the answer and a clean end instead of a reset that may swallow it.
LINGER_SECONDS = 2.0
# uvicorn's command-line flags for this protocol: the Dockerfile, the Makefile and the tests use them.
UVICORN_FLAGS = (
    "--http",
    "groovesheet_api.server:HardenedHttpProtocol",
    "--no-server-header",
    "--no-access-log",
)


class _HeadersTooLarge(Exception):
    pass


class HardenedHttpProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        settings = get_settings()
        self.max_header_bytes = settings.max_header_bytes
        self.header_timeout = settings.header_timeout_seconds
        self.drain_timeout = settings.body_idle_timeout_seconds
        self.timeout_keep_alive = settings.keep_alive_seconds  # type: ignore[assignment]
        # The Server header says which software to attack; uvicorn's --no-server-header may be forgotten.
        server_state.default_headers[:] = [
            (name, value) for name, value in server_state.default_headers if name.lower() != b"server"
        ]
        self._in_headers = False  # between the first byte of a request and the end of its headers
        self._header_bytes = 0  # exact: request line and complete header lines of this request
        self._raw_header_bytes = 0  # raw bytes fed while this request's headers were incomplete
        self._header_timer: TimerHandle | None = None
        self._drain_timer: TimerHandle | None = None
        self._refused = False

    # --- connection
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            if isinstance(exc.__context__, _HeadersTooLarge):
                self._headers_too_large()
            else:
                self._bad_request()
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError:
            self._bad_request()
            return
        if self._in_headers:
            # httptools buffers a header until its end: count raw bytes so one endless header is
            # stopped at the limit, not after it filled the memory.
            self._raw_header_bytes += len(data)
            if self._raw_header_bytes > self.max_header_bytes:
                self._headers_too_large()

    # --- parser callbacks
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope["extensions"] = {HARDENED_EXTENSION: {}}
        self._in_headers = True
        self._header_bytes = 0
        self._raw_header_bytes = 0
        self._cancel_drain_timer()
        self._arm_header_timer()

    def on_url(self, url: bytes) -> None:
        self._count_header_bytes(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_header_bytes(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_headers = False
        self._cancel_header_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        cycle = self.cycle
        answered_early = cycle is not None and cycle.response_complete and cycle.more_body
        if answered_early and not self.transport.is_closing():
            # Answered before the body was read: take the rest for a while, then hang up.
            self._drain_timer = self.loop.call_later(self.drain_timeout, self._close)

    def _count_header_bytes(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > self.max_header_bytes:
            raise _HeadersTooLarge()

    # --- timers
    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._header_timed_out)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _cancel_drain_timer(self) -> None:
        if self._drain_timer is not None:
            self._drain_timer.cancel()
            self._drain_timer = None

    def _cancel_timers(self) -> None:
        self._cancel_header_timer()
        self._cancel_drain_timer()

    def _header_timed_out(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or self._refused:
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self._arm_header_timer()  # a response is still being made; the next request waits for it
            return
        if not self._in_headers:
            self._close()  # an idle connection that never sent a byte: nothing to answer
            return
        self._refuse(
            408,
            "header_timeout",
            f"The request headers did not arrive within {self.header_timeout:g} seconds. "
            "Check your connection and send the request again.",
        )

    def _close(self) -> None:
        self._drain_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    # --- refusals, written straight to the socket (no request reached the application)
    def _headers_too_large(self) -> None:
        self._refuse(
            431,
            "headers_too_large",
            f"The request headers are larger than {self.max_header_bytes // 1024} KB. Send fewer or "
            "smaller headers (cookies, tokens) and try again.",
        )

    def _bad_request(self) -> None:
        self._refuse(
            400,
            "malformed_http",
            "The request is not valid HTTP/1.1. Send a well-formed request (see /docs).",
        )

    def send_400_response(self, msg: str) -> None:
        self._bad_request()

    def _refuse(self, status: int, code: str, message: str) -> None:
        self._refused = True
        self._cancel_timers()
        request_id = uuid.uuid4().hex
        client = f"{self.client[0]}:{self.client[1]}" if self.client else None
        logger.warning(
            "refused before the application: %s %s",
            status,
            code,
            extra={"status": status, "error_code": code, "request_id": request_id, "client": client},
        )
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            if cycle.response_started or not cycle.more_body:
                # The request before the broken bytes is being answered: that answer goes out
                # first, with Connection: close, and the connection ends there.
                cycle.keep_alive = False
                return
            # The broken bytes are this request's own body (a bad chunk): the application will
            # never get the rest, so it is told the client left, and the refusal answers instead.
            cycle.disconnected = True
            cycle.message_event.set()
        body = json.dumps({"error": {"code": code, "message": message}}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            (b"x-request-id", request_id.encode()),
            *BASE_HEADERS,
            *self.server_state.default_headers,
        ]
        head = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
        if not self.transport.is_closing():
            self.transport.write(STATUS_LINE[status] + head + b"\r\n" + body)
            if self.transport.can_write_eof():
                self.transport.write_eof()
                self.flow.resume_reading()
                self._drain_timer = self.loop.call_later(LINGER_SECONDS, self._close)
            else:
                self.transport.close()
