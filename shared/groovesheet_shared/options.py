"""What an uploader may ask for: the one definition of valid job options.

The API (form fields), the CLI (flags) and the worker (``metadata.json``) all go through
``JobOptions``: an option outside these rules can not be stored, queued or transcribed.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath

from pydantic import BaseModel, ConfigDict, field_validator

from groovesheet_shared.errors import InvalidJobOptions

BPM_MIN = 30.0
BPM_MAX = 300.0
TIME_SIGNATURES: tuple[str, ...] = ("2/4", "3/4", "4/4", "5/4", "6/8", "7/8", "12/8")
TITLE_MAX_CHARS = 200
DEFAULT_TITLE = "Drums"
FILENAME_MAX_CHARS = 255
DEFAULT_FILENAME = "song"

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})
# Line breaks and tabs in a typed title become spaces; other control characters are refused.
_WHITESPACE = re.compile(r"[ \t\n\r\v\f]+")


def is_forbidden_char(char: str) -> bool:
    """Characters no title may hold: controls, surrogates and Unicode noncharacters.

    XML 1.0 (so MusicXML) cannot carry most of them at all, and none of them means anything on a
    sheet of music.
    """
    point = ord(char)
    return (
        unicodedata.category(char) in ("Cc", "Cs") or 0xFDD0 <= point <= 0xFDEF or (point & 0xFFFE) == 0xFFFE
    )


def _collapse_whitespace(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def _printable(text: str) -> str:
    return "".join(char for char in _collapse_whitespace(text) if not is_forbidden_char(char))


def check_title(value: str) -> str | None:
    """A title the uploader typed: tabs and line breaks become spaces, anything else unusual is refused.

    Returns None for an empty title (the file name is used instead).
    """
    text = _collapse_whitespace(value)
    for position, char in enumerate(text, start=1):
        if is_forbidden_char(char):
            raise InvalidJobOptions(
                f"The title contains the invisible character U+{ord(char):04X} (character {position}), "
                "which sheet music cannot hold. Remove it, or leave the title out to use the file name.",
                code="invalid_title",
            )
    if len(text) > TITLE_MAX_CHARS:
        raise InvalidJobOptions(
            f"The title is {len(text)} characters long. Shorten it to {TITLE_MAX_CHARS} characters "
            "or fewer, or leave it out to use the file name.",
            code="invalid_title",
        )
    return text or None


def clean_filename(filename: str | None) -> str:
    """The uploaded file's own name, without folders, unusual characters or excess length."""
    name = (filename or "").replace("\\", "/")
    name = _printable(PurePosixPath(name).name if name.strip("/") else "")
    return name[:FILENAME_MAX_CHARS].strip() or DEFAULT_FILENAME


def title_from_filename(filename: str | None) -> str:
    """The title used when none was sent: the file name without its extension, made writable.

    Never refused: the uploader did not choose it, so it is cleaned and shortened instead.
    """
    name = clean_filename(filename) if filename else ""
    base, dot, _extension = name.rpartition(".")
    stem = base if dot else name  # ".mp3" has no stem at all
    return stem[:TITLE_MAX_CHARS].strip() or DEFAULT_TITLE


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 24 else text[:21] + "..."


def parse_bpm(value: str | float | None) -> float | None:
    """Beats per minute from a form field or flag; None or empty means 'detect the tempo'."""
    if value is None:
        return None
    problem = InvalidJobOptions(
        f"bpm must be a number from {BPM_MIN:g} to {BPM_MAX:g} (got {_shown(value)}). "
        "Send the tempo in beats per minute, or leave bpm out to detect it.",
        code="invalid_bpm",
    )
    if isinstance(value, bool):
        raise problem
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            number = float(value.strip())
        except ValueError:
            raise problem from None
    else:
        number = float(value)
    if not BPM_MIN <= number <= BPM_MAX:  # also refuses nan and inf
        raise problem
    return number


def parse_time_signature(value: str | None) -> str | None:
    """One of TIME_SIGNATURES; None or empty gives None: the worker reads the meter from the music."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text not in TIME_SIGNATURES:
        raise InvalidJobOptions(
            f"time_signature must be one of {', '.join(TIME_SIGNATURES)} (got {_shown(value)}). "
            "Pick one of those, or leave it out to have it read from the music.",
            code="invalid_time_signature",
        )
    return text


def parse_drums_only(value: str | bool | None) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    text = value.strip().lower()
    if text not in _TRUE | _FALSE:
        raise InvalidJobOptions(
            f"drums_only must be true or false (got {_shown(value)}). Send true for a drum-only "
            "recording, or leave it out.",
            code="invalid_drums_only",
        )
    return text in _TRUE


class JobOptions(BaseModel):
    """What the uploader asked for; None means 'estimate it'.

    Building one directly validates bpm and time signature and makes the title writable; use
    ``from_fields`` for input from a person, which refuses a bad title instead of cleaning it.
    """

    model_config = ConfigDict(frozen=True)

    title: str | None = None
    bpm: float | None = None
    time_signature: str | None = None
    drums_only: bool = False

    @field_validator("title")
    @classmethod
    def _writable_title(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return _printable(value)[:TITLE_MAX_CHARS].strip() or None

    @field_validator("bpm")
    @classmethod
    def _bpm_in_range(cls, value: float | None) -> float | None:
        return parse_bpm(value)

    @field_validator("time_signature")
    @classmethod
    def _known_time_signature(cls, value: str | None) -> str | None:
        return parse_time_signature(value)

    @classmethod
    def from_fields(
        cls,
        *,
        title: str | None = None,
        bpm: str | float | None = None,
        time_signature: str | None = None,
        drums_only: str | bool | None = None,
        filename: str | None = None,
    ) -> JobOptions:
        """Options from what a person sent (form fields, command-line flags).

        Raises InvalidJobOptions whose ``code`` names the field (``invalid_title``, ``invalid_bpm``,
        ``invalid_time_signature``, ``invalid_drums_only``) and whose message says what to send.
        Without a title, the title comes from ``filename``.
        """
        chosen_title = check_title(title) if title is not None else None
        if chosen_title is None and filename is not None:
            chosen_title = title_from_filename(filename)
        return cls(
            title=chosen_title,
            bpm=parse_bpm(bpm),
            time_signature=parse_time_signature(time_signature),
            drums_only=parse_drums_only(drums_only),
        )
