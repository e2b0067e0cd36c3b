"""Is this upload a song we can transcribe? Decided by its content, never by its name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import soundfile

from groovesheet_api.errors import ApiError

SUPPORTED = "MP3, WAV, FLAC or OGG"


@dataclass(frozen=True)
class AudioFormat:
    name: str
    extension: str
    content_type: str
    libsndfile_format: str


FORMATS = {
    "mp3": AudioFormat("MP3", ".mp3", "audio/mpeg", "MP3"),
    "wav": AudioFormat("WAV", ".wav", "audio/wav", "WAV"),
    "flac": AudioFormat("FLAC", ".flac", "audio/flac", "FLAC"),
    "ogg": AudioFormat("OGG", ".ogg", "audio/ogg", "OGG"),
}

# Formats people often try, named so the error can say what they uploaded.
_KNOWN_OTHERS: tuple[tuple[int, bytes, str], ...] = (
    (4, b"ftyp", "an MP4/M4A/AAC file"),
    (0, b"FORM", "an AIFF file"),
    (0, b"%PDF", "a PDF document"),
    (0, b"PK\x03\x04", "a ZIP archive"),
    (0, b"\x89PNG", "a PNG image"),
    (0, b"\xff\xd8\xff", "a JPEG image"),
    (0, b"0&\xb2u", "a WMA file"),
    (0, b"MThd", "a MIDI file"),
    (0, b"\x1aE\xdf\xa3", "a WebM/Matroska file"),
)


@dataclass(frozen=True)
class ProbedAudio:
    format: AudioFormat
    duration_seconds: float
    sample_rate: int
    channels: int


def _mp3_frame_header(data: bytes, offset: int) -> bool:
    if offset + 4 > len(data):
        return False
    b1, b2, b3 = data[offset + 1], data[offset + 2], data[offset + 3]
    sync = data[offset] == 0xFF and (b1 & 0xE0) == 0xE0
    version_ok = (b1 >> 3) & 0b11 != 0b01
    layer_ok = (b1 >> 1) & 0b11 != 0b00
    bitrate_ok = (b2 >> 4) not in (0b0000, 0b1111)
    rate_ok = (b2 >> 2) & 0b11 != 0b11
    return sync and version_ok and layer_ok and bitrate_ok and rate_ok and b3 is not None


def sniff_format(head: bytes) -> AudioFormat:
    """Recognise the container from the first bytes, or raise a 415 that says what it looks like."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return FORMATS["wav"]
    if head[:4] == b"fLaC":
        return FORMATS["flac"]
    if head[:4] == b"OggS":
        return FORMATS["ogg"]
    if head[:3] == b"ID3" or _mp3_frame_header(head, 0):
        return FORMATS["mp3"]
    looks_like = next((what for at, magic, what in _KNOWN_OTHERS if head[at : at + len(magic)] == magic), None)
    if looks_like is None and head and _is_text(head):
        looks_like = "a text file"
    what = f"looks like {looks_like}" if looks_like else "is not an audio format we know"
    raise ApiError(
        415,
        "unsupported_format",
        f"The uploaded file {what}. Upload the song as {SUPPORTED} (any audio program or ffmpeg can convert it).",
    )


def _is_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def probe_audio(path: Path, max_duration_seconds: float) -> ProbedAudio:
    """Check that the file decodes from start to end and is not too long; stream, never load it whole."""
    with open(path, "rb") as handle:
        head = handle.read(64)
    if not head:
        raise ApiError(400, "empty_file", f"The uploaded file is empty. Choose a song file ({SUPPORTED}).")
    audio_format = sniff_format(head)
    limit = _minutes(max_duration_seconds)
    undecodable = ApiError(
        422,
        "undecodable_audio",
        f"The file starts like {audio_format.name} but cannot be decoded: it may be damaged or cut short. "
        f"Export the song again as {SUPPORTED} and upload it again.",
    )
    try:
        with soundfile.SoundFile(path) as sound:
            if sound.format != audio_format.libsndfile_format:
                raise undecodable
            rate, channels = sound.samplerate, sound.channels
            if rate <= 0 or channels <= 0:
                raise undecodable
            if sound.frames > 0 and sound.frames / rate > max_duration_seconds + 1:
                raise _too_long(sound.frames / rate, limit)
            frames = 0
            for block in sound.blocks(blocksize=1 << 16, dtype="float32", always_2d=True):
                frames += len(block)
                if frames / rate > max_duration_seconds + 1:
                    raise _too_long(frames / rate, limit)
    except soundfile.LibsndfileError:
        raise undecodable from None
    except RuntimeError:
        raise undecodable from None
    if frames == 0:
        raise undecodable
    # A header that promises more audio than the file holds means the upload was cut short.
    declared = _declared_frames(path, audio_format)
    if declared is not None and frames < declared * 0.98:
        raise undecodable
    return ProbedAudio(audio_format, frames / rate, rate, channels)


def _declared_frames(path: Path, audio_format: AudioFormat) -> int | None:
    """How many frames the file's header promises (WAV data chunk, FLAC STREAMINFO)."""
    if audio_format.name == "FLAC":
        info = soundfile.info(str(path))
        return int(info.frames) if info.frames > 0 else None
    if audio_format.name == "WAV":
        return _wav_declared_frames(path)
    return None


def _wav_declared_frames(path: Path) -> int | None:
    block_align = 0
    with open(path, "rb") as handle:
        handle.seek(12)
        while True:
            header = handle.read(8)
            if len(header) < 8:
                return None
            chunk_id, size = header[:4], int.from_bytes(header[4:], "little")
            if chunk_id == b"fmt ":
                fmt = handle.read(size)
                block_align = int.from_bytes(fmt[12:14], "little") if len(fmt) >= 14 else 0
                handle.seek(size % 2, 1)
            elif chunk_id == b"data":
                # 0 and 0xFFFFFFFF mean "unknown length" (streamed WAV): nothing to compare.
                if not block_align or size in (0, 0xFFFFFFFF):
                    return None
                return size // block_align
            else:
                handle.seek(size + size % 2, 1)


def _too_long(seconds: float, limit: str) -> ApiError:
    return ApiError(
        413,
        "audio_too_long",
        f"The song is {_minutes(seconds)} long; the limit is {limit}. Trim it or upload a shorter part.",
    )


def _minutes(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d} min"
