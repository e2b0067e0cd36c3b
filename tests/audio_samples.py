"""Small songs made on the spot for tests: a kick/snare/hi-hat groove in any accepted format."""

from __future__ import annotations

import io

import numpy as np
import soundfile

SR = 44100
SUBTYPES = {"WAV": "PCM_16", "FLAC": "PCM_16", "OGG": "VORBIS", "MP3": "MPEG_LAYER_III"}


def groove(seconds: float = 4.0, bpm: float = 120.0, sr: int = SR, seed: int = 0) -> np.ndarray:
    """A mono rock beat: kick on 1 and 3, snare on 2 and 4, closed hi-hat on every 8th note."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    out = np.zeros(n, dtype=np.float32)
    eighth = 60.0 / bpm / 2
    t = np.arange(int(0.25 * sr)) / sr
    kick = np.sin(2 * np.pi * (50 + 80 * np.exp(-t * 40)) * t) * np.exp(-t * 18)
    snare = (0.6 * rng.standard_normal(t.size) + 0.4 * np.sin(2 * np.pi * 190 * t)) * np.exp(-t * 25)
    hat = np.diff(rng.standard_normal(t.size + 1)) * np.exp(-t * 70) * 0.3
    for i in range(int(seconds / eighth)):
        start = int(i * eighth * sr)
        parts = [hat]
        if i % 4 == 0:
            parts.append(kick)
        if i % 4 == 2:
            parts.append(snare)
        for part in parts:
            end = min(n, start + part.size)
            out[start:end] += part[: end - start]
    return (0.8 * out / max(1e-9, float(np.abs(out).max()))).astype(np.float32)


def encode(audio: np.ndarray, fmt: str = "WAV", sr: int = SR) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, audio, sr, format=fmt, subtype=SUBTYPES[fmt])
    return buffer.getvalue()


def song_bytes(fmt: str = "WAV", seconds: float = 4.0) -> bytes:
    return encode(groove(seconds), fmt)
