"""Stream a multipart upload straight to a file on disk, stopping as soon as it is too large.

Starlette's ``request.form()`` spools the whole body before the size can be checked; this parser
writes the song out as it arrives, never holding more than about FLUSH_BYTES of it in memory. The
parsing (a few ms for 5 MB) runs on the event loop; the disk writes, which can block when the disk
is busy, run in threads (the upload's I/O limiter). A body is accepted only when it is complete: the
file part and the closing boundary must both arrive.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from groovesheet_api.errors import ApiError

logger = logging.getLogger(__name__)

FILE_FIELD = "file"
OPTION_FIELDS = ("title", "bpm", "time_signature", "drums_only", "callback_url")
MAX_FIELD_BYTES = 4096
# RFC 2046 5.1.1: a boundary is 1 to 70 characters.
MAX_BOUNDARY_CHARS = 70
# Part headers: a Content-Disposition and a Content-Type, with room for a long file name.
MAX_PART_HEADER_BYTES = 8192
MAX_PART_HEADERS = 8
# The song is written to disk in pieces of about this size.
FLUSH_BYTES = 1 << 20
_EXPECTED = f"'{FILE_FIELD}' and optionally {', '.join(repr(f) for f in OPTION_FIELDS)}"


@dataclass
class ReceivedUpload:
    fields: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    filename: str | None = None
    size_bytes: int = 0
    misplaced_file_field: str | None = None


def _too_large(max_bytes: int) -> ApiError:
    return ApiError(
        413,
        "file_too_large",
        f"The file is larger than the {max_bytes / (1024 * 1024):g} MB limit. "
        "Upload a compressed version (MP3 or OGG) or a shorter part of the song.",
    )


def _incomplete() -> ApiError:
    return ApiError(
        400,
        "incomplete_upload",
        "The upload ended before the whole file arrived (the form's closing boundary is missing). "
        "Check your connection and upload the song again.",
    )


def _storage_unavailable() -> ApiError:
    return ApiError(
        503,
        "storage_unavailable",
        "We could not take the upload right now (no room to receive it). Please try again in a minute.",
    )


class _UploadSink:
    """Callbacks for python-multipart: one part at a time, the file part written to disk."""

    def __init__(self, destination: Path, max_bytes: int) -> None:
        self.destination = destination
        self.max_bytes = max_bytes
        self.result = ReceivedUpload()
        self.pending = bytearray()  # song bytes parsed but not yet written
        self.file_complete = False
        self.body_complete = False
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name: str | None = None
        self._value = bytearray()
        self._in_file = False
        self._skip = False

    def on_part_begin(self) -> None:
        self._headers, self._name, self._value, self._skip = {}, None, bytearray(), False

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_name.strip().lower()] = self._header_value.strip()
        self._header_name, self._header_value = b"", b""

    def on_headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = params.get(b"name")
        self._name = name.decode("utf-8", "replace") if name else None
        filename = params.get(b"filename")
        if self._name is None:
            raise ApiError(
                400,
                "malformed_upload",
                "A part of the form has no name. Send the song as a form field named 'file' "
                "(curl -F file=@song.mp3 ...).",
            )
        if filename is not None and self._name != FILE_FIELD:
            # A file in another field: remember it for a helpful error, do not keep its bytes.
            self.result.misplaced_file_field = self._name
            self._skip = True
        elif self._name == FILE_FIELD:
            if filename is None:
                raise ApiError(
                    422,
                    "missing_file",
                    "The field 'file' holds text, not a file. Attach the song itself "
                    "(curl -F file=@song.mp3, with the @).",
                )
            if self.result.path is not None:
                raise ApiError(400, "too_many_files", "Upload one song per request, in the field 'file'.")
            self.result.filename = filename.decode("utf-8", "replace")
            self.result.path = self.destination
            self._in_file = True
        elif self._name not in OPTION_FIELDS:
            raise ApiError(
                422,
                "unknown_field",
                f"The form field {self._name[:40]!r} is not one we know. Send {_EXPECTED} (see /docs).",
            )
        elif self._name in self.result.fields:
            raise ApiError(
                422, "duplicate_field", f"The form field '{self._name}' was sent twice. Send it once."
            )

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._skip:
            return
        if self._in_file:
            self.result.size_bytes += end - start
            if self.result.size_bytes > self.max_bytes:
                raise _too_large(self.max_bytes)
            self.pending += data[start:end]
        else:
            self._value += data[start:end]
            if len(self._value) > MAX_FIELD_BYTES:
                raise ApiError(
                    400,
                    "field_too_large",
                    f"The form field '{self._name}' is longer than {MAX_FIELD_BYTES} bytes. Shorten it.",
                )

    def on_part_end(self) -> None:
        if self._skip:
            return
        if self._in_file:
            self._in_file = False
            self.file_complete = True
        elif self._name is not None:
            self.result.fields[self._name] = self._value.decode("utf-8", "replace")

    def on_end(self) -> None:
        self.body_complete = True

    def take_pending(self) -> bytes:
        data = bytes(self.pending)
        self.pending.clear()
        return data


_CALLBACKS = (
    "on_part_begin",
    "on_header_field",
    "on_header_value",
    "on_header_end",
    "on_headers_finished",
    "on_part_data",
    "on_part_end",
    "on_end",
)


def _boundary(request: Request) -> bytes:
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise ApiError(
            415,
            "not_multipart",
            "Send the song as multipart/form-data with the file in the field 'file' "
            "(curl -F file=@song.mp3 ...).",
        )
    if len(boundary) > MAX_BOUNDARY_CHARS:
        raise ApiError(
            400,
            "invalid_boundary",
            f"The multipart boundary is {len(boundary)} characters long; the limit is "
            f"{MAX_BOUNDARY_CHARS} (RFC 2046). Let your HTTP client choose the boundary.",
        )
    return boundary


async def receive_upload(
    request: Request, destination: Path, max_bytes: int, io_limiter: anyio.CapacityLimiter
) -> ReceivedUpload:
    """Parse the multipart body; the song goes to ``destination``. The caller removes it on error."""
    boundary = _boundary(request)
    declared_length = request.headers.get("content-length")
    # The form fields and boundaries add a little to the body; allow for them.
    if declared_length and declared_length.isdigit() and int(declared_length) > max_bytes + 64 * 1024:
        raise _too_large(max_bytes)

    sink = _UploadSink(destination, max_bytes)
    handle = None

    async def flush() -> None:
        nonlocal handle
        if not sink.pending:
            return
        if handle is None:
            handle = await anyio.to_thread.run_sync(open, destination, "wb", limiter=io_limiter)
        await anyio.to_thread.run_sync(handle.write, sink.take_pending(), limiter=io_limiter)

    try:
        parser = MultipartParser(
            boundary,
            {name: getattr(sink, name) for name in _CALLBACKS},  # type: ignore[arg-type]
            max_header_count=MAX_PART_HEADERS,
            max_header_size=MAX_PART_HEADER_BYTES,
        )
        async for chunk in request.stream():
            parser.write(chunk)
            if len(sink.pending) >= FLUSH_BYTES:
                await flush()
        parser.finalize()
        await flush()
    except ApiError:
        raise
    except ClientDisconnect:
        logger.info("the client went away during the upload")
        raise _incomplete() from None
    except OSError as exc:  # writing the staged file: a full or read-only disk is ours to fix
        logger.error("could not stage the upload: %s", exc)
        raise _storage_unavailable() from None
    except Exception as exc:  # the multipart library raises several types for a broken body
        raise ApiError(
            400,
            "malformed_upload",
            f"The upload could not be read as multipart/form-data ({str(exc)[:200]}). "
            "Send it again with curl -F file=@song.mp3 or a browser form.",
        ) from None
    finally:
        if handle is not None:
            await anyio.to_thread.run_sync(handle.close, limiter=io_limiter)
    if sink.file_complete and handle is None:
        # An empty file part: stored as an empty file, which the probe refuses as empty_file.
        await anyio.to_thread.run_sync(destination.touch, limiter=io_limiter)
    if sink.result.path is not None and not (sink.file_complete and sink.body_complete):
        raise _incomplete()
    if not sink.body_complete and sink.result.path is None:
        raise _incomplete() if sink.result.fields else _empty_form()
    return sink.result


def _empty_form() -> ApiError:
    return ApiError(
        400,
        "malformed_upload",
        "The request body is not a complete multipart form. Send the song with curl -F file=@song.mp3 "
        "or a browser form.",
    )
