"""Stream a multipart upload straight to a file on disk, stopping as soon as it is too large.

Starlette's ``request.form()`` spools the whole body before the size can be checked; this parser
writes each chunk as it arrives and never holds more than one chunk of the song in memory.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header

from groovesheet_api.errors import ApiError

MAX_FIELD_BYTES = 4096
MAX_FIELDS = 16
FILE_FIELD = "file"


@dataclass
class ReceivedUpload:
    fields: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    filename: str | None = None
    declared_type: str | None = None
    size_bytes: int = 0
    misplaced_file_field: str | None = None


def _too_large(max_bytes: int) -> ApiError:
    return ApiError(
        413,
        "file_too_large",
        f"The file is larger than the {max_bytes // (1024 * 1024)} MB limit. "
        "Upload a compressed version (MP3 or OGG) or a shorter part of the song.",
    )


class _UploadSink:
    """Callbacks for python-multipart: one part at a time, the file part written to disk."""

    def __init__(self, destination: Path, max_bytes: int) -> None:
        self.destination = destination
        self.max_bytes = max_bytes
        self.result = ReceivedUpload()
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name: str | None = None
        self._value = bytearray()
        self._file: object | None = None
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
        self._name = name.decode("utf-8", "replace") if name is not None else None
        filename = params.get(b"filename")
        if filename is not None and self._name != FILE_FIELD:
            # A file in another field: remember it for a helpful error, do not keep its bytes.
            self.result.misplaced_file_field = self._name
            self._skip = True
        elif self._name == FILE_FIELD and filename is not None:
            if self.result.path is not None:
                raise ApiError(400, "too_many_files", "Upload one song per request, in the field 'file'.")
            self.result.filename = filename.decode("utf-8", "replace")
            self.result.declared_type = self._headers.get(b"content-type", b"").decode("latin-1") or None
            self.result.path = self.destination
            self._file = open(self.destination, "wb")  # noqa: SIM115 - closed in on_part_end/close

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._skip:
            return
        if self._file is not None:
            self.result.size_bytes += end - start
            if self.result.size_bytes > self.max_bytes:
                raise _too_large(self.max_bytes)
            self._file.write(data[start:end])  # type: ignore[attr-defined]
        else:
            self._value += data[start:end]
            if len(self._value) > MAX_FIELD_BYTES:
                raise ApiError(400, "field_too_large", f"The form field '{self._name}' is too long.")

    def on_part_end(self) -> None:
        if self._skip:
            return
        if self._file is not None:
            self._file.close()  # type: ignore[attr-defined]
            self._file = None
        elif self._name is not None:
            if len(self.result.fields) >= MAX_FIELDS:
                raise ApiError(400, "too_many_fields", "The form has too many fields.")
            self.result.fields[self._name] = self._value.decode("utf-8", "replace")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()  # type: ignore[attr-defined]
            self._file = None


async def receive_upload(request: Request, destination: Path, max_bytes: int) -> ReceivedUpload:
    """Parse the multipart body; the song goes to ``destination``. The caller removes it on error."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise ApiError(
            415,
            "not_multipart",
            "Send the song as multipart/form-data with the file in the field 'file' "
            "(curl -F file=@song.mp3 ...).",
        )
    declared_length = request.headers.get("content-length")
    # The form fields and boundaries add a little to the body; allow for them.
    if declared_length and declared_length.isdigit() and int(declared_length) > max_bytes + 64 * 1024:
        raise _too_large(max_bytes)

    sink = _UploadSink(destination, max_bytes)
    callbacks = {
        name: getattr(sink, name)
        for name in (
            "on_part_begin",
            "on_header_field",
            "on_header_value",
            "on_header_end",
            "on_headers_finished",
            "on_part_data",
            "on_part_end",
        )
    }
    parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except ApiError:
        raise
    except Exception as exc:  # the multipart library raises several types for a broken body
        raise ApiError(
            400, "malformed_upload", f"The upload could not be read ({exc}). Try sending it again."
        ) from None
    finally:
        sink.close()
    return sink.result


def remove_quietly(path: Path | None) -> None:
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
