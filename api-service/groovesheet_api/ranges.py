"""HTTP Range requests (RFC 9110, section 14) for stored outputs: one byte range per request.

A browser's <audio> asks for ``bytes=N-`` where the listener seeks to, so a stem must be served in
parts without reading the rest (JobStore.read_output_range: a file seek locally, a ranged GET on GCS).

- No Range, a unit other than ``bytes``, an ``If-Range`` that is not the current ETag, or several
  ranges at once (which no player sends): the whole file, 200.
- One satisfiable range (``a-b``, ``a-``, ``-n``; an end past the file is cut to its last byte): 206
  with ``Content-Range: bytes a-b/size``.
- A range starting past the end, ``-0``, any range of an empty file, or a malformed ``bytes=`` value:
  416 with ``Content-Range: bytes */size`` and a JSON error saying which ranges there are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from groovesheet_api.errors import ApiError

_SPEC = re.compile(r"^(\d*)-(\d*)$")


@dataclass(frozen=True)
class ByteRange:
    start: int
    stop: int  # exclusive

    @property
    def length(self) -> int:
        return self.stop - self.start

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.stop - 1}/{size}"


def etag(version: str) -> str:
    return f'"{version}"'


def not_satisfiable(size: int, why: str) -> ApiError:
    last = f"bytes=0-{size - 1}" if size else "none: the file is empty"
    return ApiError(
        416,
        "range_not_satisfiable",
        f"{why} The file is {size} bytes long; the ranges it has are {last}, or any part of that "
        "(for example bytes=0-, or bytes=-1000 for the last 1000 bytes).",
        headers={"Content-Range": f"bytes */{size}", "Accept-Ranges": "bytes"},
    )


def requested_range(header: str | None, if_range: str | None, size: int, version: str) -> ByteRange | None:
    """The one range to answer with 206, or None for the whole file (200); ApiError 416 if unsatisfiable."""
    if header is None or not header.strip():
        return None
    unit, equals, value = header.partition("=")
    if not equals or unit.strip().lower() != "bytes":
        return None  # a unit we do not know is ignored, as RFC 9110 requires
    if if_range is not None and if_range.strip() != etag(version):
        return None  # the client's copy is of another version (or dated): send the whole new one
    specs = [spec.strip() for spec in value.split(",")]
    if len(specs) > 1 and all(_SPEC.match(spec) for spec in specs):
        return None  # several ranges: the whole file instead of a multipart body
    match = _SPEC.match(specs[0]) if len(specs) == 1 else None
    if match is None or match.group(0) == "-":
        raise not_satisfiable(size, f"The Range header '{header.strip()[:80]}' is not a byte range.")
    first, last = match.groups()
    if first == "":
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise not_satisfiable(size, f"The range '{specs[0]}' asks for no bytes.")
        return ByteRange(max(0, size - suffix), size)
    start = int(first)
    if last != "" and int(last) < start:
        raise not_satisfiable(size, f"The range '{specs[0]}' ends before it starts.")
    if start >= size:
        raise not_satisfiable(size, f"The range '{specs[0]}' starts past the end of the file.")
    stop = size if last == "" else min(int(last) + 1, size)
    return ByteRange(start, stop)
