"""Decode an uploaded song (MP3, WAV, FLAC, OGG) to float32 at 44.1 kHz, or say why we can't."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

from groovesheet_shared.errors import TranscriptionError

from .constants import DECODE_BLOCK_FRAMES, SAMPLE_RATE, SILENCE_PEAK


@dataclass(frozen=True)
class Song:
    """Decoded audio: ``stereo`` is (2, samples) float32 at ``sample_rate`` (mono files duplicated)."""

    stereo: np.ndarray
    sample_rate: int = SAMPLE_RATE

    @property
    def mono(self) -> np.ndarray:
        return self.stereo.mean(axis=0, dtype=np.float32)

    @property
    def duration_seconds(self) -> float:
        return self.stereo.shape[1] / self.sample_rate


def _undecodable(path: Path, why: str) -> TranscriptionError:
    return TranscriptionError(
        f"We could not read '{path.name}' as audio ({why}). Upload an MP3, WAV, FLAC or OGG file "
        "that plays in a normal music player.",
        code="undecodable_audio",
        retryable=False,
    )


def _minutes(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def _too_long(seconds: float, max_seconds: float) -> TranscriptionError:
    return TranscriptionError(
        f"The song is {_minutes(seconds)} long; the limit is {_minutes(max_seconds)} (minutes:seconds). "
        "Trim it to the part you want transcribed and upload it again.",
        code="audio_too_long",
        retryable=False,
    )


def load_song(path: Path, max_seconds: float) -> Song:
    """Decode ``path`` block by block to 44.1 kHz float32 stereo.

    Raises TranscriptionError (not retryable) with code ``undecodable_audio``, ``audio_too_long``
    or ``silent_audio``.
    """
    path = Path(path)
    try:
        sound = sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError, TypeError) as exc:
        raise _undecodable(path, "unknown or damaged format") from exc
    with sound:
        rate = int(sound.samplerate)
        if rate <= 0:
            raise _undecodable(path, "no sample rate")
        # Header lengths of MP3s are estimates, so the limit is checked again while reading.
        if sound.frames > 0 and sound.frames / rate > max_seconds:
            raise _too_long(sound.frames / rate, max_seconds)
        max_frames = int(max_seconds * rate) + rate
        blocks: list[np.ndarray] = []
        read = 0
        try:
            for block in sound.blocks(blocksize=DECODE_BLOCK_FRAMES, dtype="float32", always_2d=True):
                # Keep at most two channels: Demucs separates stereo, analysis uses their mean.
                blocks.append(np.ascontiguousarray(block[:, :2].T))
                read += block.shape[0]
                if read > max_frames:
                    raise _too_long(read / rate, max_seconds)
        except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
            raise _undecodable(path, "the file is damaged part-way through") from exc

    if read == 0:
        raise TranscriptionError(
            f"'{path.name}' contains no audio at all. Upload the recording itself.",
            code="silent_audio",
            retryable=False,
        )
    audio = np.concatenate(blocks, axis=1) if len(blocks) > 1 else blocks[0]
    del blocks
    if audio.shape[0] == 1:
        audio = np.repeat(audio, 2, axis=0)
    if not np.all(np.isfinite(audio)):
        raise _undecodable(path, "it contains invalid samples")
    if rate != SAMPLE_RATE:
        audio = to_sample_rate(audio, rate)
    if float(np.max(np.abs(audio))) < SILENCE_PEAK:
        raise TranscriptionError(
            f"'{path.name}' is silent (nothing louder than -80 dB). Check that the right file was "
            "uploaded and that the recording is not muted.",
            code="silent_audio",
            retryable=False,
        )
    return Song(stereo=audio)


def to_sample_rate(audio: np.ndarray, rate: int) -> np.ndarray:
    """``audio`` (samples on the last axis) at ``rate`` resampled to SAMPLE_RATE (soxr, high quality)."""
    resampled = librosa.resample(audio, orig_sr=rate, target_sr=SAMPLE_RATE, res_type="soxr_hq", axis=-1)
    return np.ascontiguousarray(resampled, dtype=np.float32)
