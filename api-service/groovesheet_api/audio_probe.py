"""Is this upload a song we can transcribe? Decided by its content, never by its name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from groovesheet_api.errors import ApiError

SUPPORTED = "MP3, WAV, FLAC or OGG"


@dataclass(frozen=True)
class AudioFormat:
    name: str
    extension: str
    content_type: str
    libsndfile_format: str
    exact_length: bool  # the header states the length exactly (MP3 lengths may be estimates)


FORMATS = {
    "mp3": AudioFormat("MP3", ".mp3", "audio/mpeg", "MP3", exact_length=False),
    "wav": AudioFormat("WAV", ".wav", "audio/wav", "WAV", exact_length=True),
    "flac": AudioFormat("FLAC", ".flac", "audio/flac", "FLAC", exact_length=True),
    "ogg": AudioFormat("OGG", ".ogg", "audio/ogg", "OGG", exact_length=True),
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
    looks_like = next(
        (what for at, magic, what in _KNOWN_OTHERS if head[at : at + len(magic)] == magic), None
    )
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


# Decoded this many frames at a time: the song is never held in memory whole.
BLOCK_FRAMES = 1 << 16
# More channels than this is not a song mix (and would make each decoded block large).
MAX_CHANNELS = 16
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 4_000, 768_000
# Nothing louder than -80 dBFS anywhere is silence (the worker's pipeline uses the same threshold).
SILENCE_PEAK = 1e-4
# Fewer decoded frames than this share of what the header promises means the file was cut short.
COMPLETE_SHARE = 0.98
# An Ogg page is at most 27 + 255 + 255 * 255 bytes; the last one lies within this many.
_OGG_TAIL_BYTES = 65_536 + 512


def probe_audio(path: Path, max_duration_seconds: float, min_duration_seconds: float = 0.0) -> ProbedAudio:
    """Check that the file decodes from start to end, is long enough, not too long, and not silent.

    Decodes block by block and counts the frames the decoder really returned: a header that
    promises more than the file holds (an upload cut short) is refused, as the worker would fail it.
    """
    with open(path, "rb") as handle:
        head = handle.read(64)
    if not head:
        raise ApiError(400, "empty_file", f"The uploaded file is empty. Choose a song file ({SUPPORTED}).")
    audio_format = sniff_format(head)
    undecodable = _undecodable(audio_format)
    try:
        with soundfile.SoundFile(path) as sound:
            if sound.format != audio_format.libsndfile_format:
                raise undecodable
            rate, channels = int(sound.samplerate), int(sound.channels)
            if not (MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE and 1 <= channels <= MAX_CHANNELS):
                raise undecodable
            declared = _declared_frames(path, audio_format, int(sound.frames))
            if audio_format.exact_length and declared and declared / rate > max_duration_seconds + 1:
                raise _too_long(declared / rate, max_duration_seconds)
            frames, peak = _decode(sound, rate, channels, max_duration_seconds, undecodable)
    except (soundfile.LibsndfileError, RuntimeError):
        raise undecodable from None
    if frames == 0 or (declared and frames < declared * COMPLETE_SHARE):
        raise undecodable
    if audio_format.name == "OGG" and not _ogg_ends_cleanly(path):
        raise undecodable
    seconds = frames / rate
    if seconds < min_duration_seconds:
        raise ApiError(
            422,
            "audio_too_short",
            f"The song is only {seconds:.1f} s long; it takes at least {min_duration_seconds:g} s "
            "(a bar or two) to find a beat. Upload a longer recording.",
        )
    if peak < SILENCE_PEAK:
        raise ApiError(
            422,
            "silent_audio",
            "The file is silent (nothing louder than -80 dB). Check that you chose the right file "
            "and that the recording is not muted, then upload it again.",
        )
    return ProbedAudio(audio_format, seconds, rate, channels)


def _undecodable(audio_format: AudioFormat) -> ApiError:
    return ApiError(
        422,
        "undecodable_audio",
        f"The file starts like {audio_format.name} but cannot be decoded to the end: it is damaged or "
        f"cut short. Export the song again as {SUPPORTED} and upload it again.",
    )


def _decode(
    sound: soundfile.SoundFile, rate: int, channels: int, max_seconds: float, undecodable: ApiError
) -> tuple[int, float]:
    """(frames really decoded, peak level). ``SoundFile.blocks`` would count the header's frames."""
    block = np.empty((BLOCK_FRAMES, channels), dtype=np.float32)
    frames, peak = 0, 0.0
    while True:
        got = sound.read(BLOCK_FRAMES, dtype="float32", always_2d=True, out=block)
        if len(got):
            block_peak = float(np.max(np.abs(got)))
            if not np.isfinite(block_peak):
                raise undecodable
            peak = max(peak, block_peak)
        frames += len(got)
        if frames / rate > max_seconds + 1:
            raise _too_long(frames / rate, max_seconds)
        if len(got) < BLOCK_FRAMES:
            return frames, peak


def _declared_frames(path: Path, audio_format: AudioFormat, header_frames: int) -> int | None:
    """How many frames the file's header promises (WAV data chunk, FLAC STREAMINFO, MP3 Xing...)."""
    if audio_format.name == "WAV":
        # libsndfile shrinks a WAV's length to the bytes present; the data chunk says what was sent.
        return _wav_declared_frames(path)
    return header_frames if header_frames > 0 else None


def _ogg_ends_cleanly(path: Path) -> bool:
    """True when the file ends with a whole Ogg page flagged end-of-stream (a cut file does not)."""
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - _OGG_TAIL_BYTES))
        tail = handle.read()
    at = tail.rfind(b"OggS")
    while at >= 0:
        page = tail[at:]
        if len(page) >= 27:
            segments = page[26]
            if len(page) >= 27 + segments:
                length = 27 + segments + sum(page[27 : 27 + segments])
                if length == len(page):
                    return bool(page[5] & 0x04)
        at = tail.rfind(b"OggS", 0, at)
    return False


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


def _too_long(seconds: float, max_seconds: float) -> ApiError:
    return ApiError(
        413,
        "audio_too_long",
        f"The song is {_minutes(seconds)} long; the limit is {_minutes(max_seconds)}. "
        "Trim it or upload a shorter part.",
    )


def _minutes(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d} min"
