"""Make rendered drums sound like many rooms, mixes and files: gain, EQ, room, compression, noise, MP3.

Every step is drawn from the piece's own random generator, so a piece is the same every time it is
built from the same seed. ``augment`` applies a random chain; each step is also usable on its own.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

from .kit import SAMPLE_RATE


def biquad_peak(freq: float, gain_db: float, q: float) -> tuple[np.ndarray, np.ndarray]:
    """RBJ cookbook peaking EQ."""
    a = 10 ** (gain_db / 40)
    w = 2 * np.pi * freq / SAMPLE_RATE
    alpha = np.sin(w) / (2 * q)
    b = np.array([1 + alpha * a, -2 * np.cos(w), 1 - alpha * a])
    den = np.array([1 + alpha / a, -2 * np.cos(w), 1 - alpha / a])
    return b / den[0], den / den[0]


def biquad_shelf(freq: float, gain_db: float, high: bool) -> tuple[np.ndarray, np.ndarray]:
    """RBJ cookbook shelving EQ (slope 1)."""
    a = 10 ** (gain_db / 40)
    w = 2 * np.pi * freq / SAMPLE_RATE
    cos, alpha = np.cos(w), np.sin(w) / 2 * np.sqrt(2)
    sign = -1 if high else 1
    b = a * np.array(
        [
            (a + 1) - sign * (a - 1) * cos + 2 * np.sqrt(a) * alpha,
            2 * sign * ((a - 1) - sign * (a + 1) * cos),
            (a + 1) - sign * (a - 1) * cos - 2 * np.sqrt(a) * alpha,
        ]
    )
    den = np.array(
        [
            (a + 1) + sign * (a - 1) * cos + 2 * np.sqrt(a) * alpha,
            -2 * sign * ((a - 1) + sign * (a + 1) * cos),
            (a + 1) + sign * (a - 1) * cos - 2 * np.sqrt(a) * alpha,
        ]
    )
    return b / den[0], den / den[0]


def random_eq(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = signal.lfilter(*biquad_shelf(rng.uniform(60, 250), rng.uniform(-8, 8), high=False), audio)
    out = signal.lfilter(*biquad_shelf(rng.uniform(3000, 10000), rng.uniform(-10, 6), high=True), out)
    for _ in range(int(rng.integers(0, 3))):
        out = signal.lfilter(
            *biquad_peak(rng.uniform(150, 8000), rng.uniform(-8, 8), rng.uniform(0.5, 3)), out
        )
    return out.astype(np.float32)


def room_impulse(rng: np.random.Generator, rt60: float) -> np.ndarray:
    """A generated room: a few early reflections, then exponentially decaying, darkening noise."""
    n = int(min(rt60 * 1.2, 2.0) * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    b, a = signal.butter(1, rng.uniform(2000, 9000) / (SAMPLE_RATE / 2))
    tail = signal.lfilter(b, a, tail)
    ir = np.zeros(n)
    ir[0] = 1.0
    for _ in range(int(rng.integers(3, 9))):
        k = int(rng.uniform(0.002, 0.04) * SAMPLE_RATE)
        ir[k] += rng.uniform(-0.6, 0.6)
    predelay = int(rng.uniform(0.005, 0.03) * SAMPLE_RATE)
    ir[predelay:] += tail[: n - predelay] * 0.3
    return (ir / np.sqrt(np.sum(ir**2))).astype(np.float32)


def add_room(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    ir = room_impulse(rng, rng.uniform(0.15, 1.2))
    wet = signal.fftconvolve(audio, ir)[: len(audio)]
    mix = rng.uniform(0.1, 0.6)
    return ((1 - mix) * audio + mix * wet).astype(np.float32)


def compress(
    audio: np.ndarray, threshold_db: float, ratio: float, attack_ms: float, release_ms: float
) -> np.ndarray:
    """A feed-forward compressor on a peak envelope (one-pole attack/release), with make-up gain."""
    env = np.abs(audio).astype(np.float64)
    a_att = np.exp(-1 / (attack_ms * 1e-3 * SAMPLE_RATE))
    a_rel = np.exp(-1 / (release_ms * 1e-3 * SAMPLE_RATE))
    # Attack then release, done with two linear filters on the rectified signal (fast, close enough).
    smoothed = signal.lfilter([1 - a_att], [1, -a_att], env)
    smoothed = np.maximum(smoothed, signal.lfilter([1 - a_rel], [1, -a_rel], smoothed))
    level_db = 20 * np.log10(np.maximum(smoothed, 1e-6))
    over = np.maximum(level_db - threshold_db, 0.0)
    gain_db = -over * (1 - 1 / ratio)
    out = audio * 10 ** (gain_db / 20)
    peak_in, peak_out = np.abs(audio).max() + 1e-9, np.abs(out).max() + 1e-9
    return (out * (peak_in / peak_out)).astype(np.float32)


def add_noise(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    level = np.sqrt(np.mean(audio**2)) + 1e-9
    noise = rng.standard_normal(len(audio)).astype(np.float32)
    if rng.random() < 0.5:  # pinkish
        noise = signal.lfilter([1.0], [1.0, -0.97], noise).astype(np.float32)
        noise /= np.std(noise) + 1e-9
    return audio + noise * level * 10 ** (rng.uniform(-50, -25) / 20)


def mp3_roundtrip(audio: np.ndarray, kbps: int) -> np.ndarray:
    """Encode to MP3 at ``kbps`` and decode again with ffmpeg (the encoder's delay removed)."""
    with tempfile.TemporaryDirectory() as tmp:
        wav, mp3, back = Path(tmp) / "a.wav", Path(tmp) / "a.mp3", Path(tmp) / "b.wav"
        sf.write(wav, np.clip(audio, -1, 1), SAMPLE_RATE, subtype="FLOAT")
        quiet = ["-hide_banner", "-loglevel", "error", "-y"]
        subprocess.run(["ffmpeg", *quiet, "-i", str(wav), "-b:a", f"{kbps}k", str(mp3)], check=True)
        subprocess.run(["ffmpeg", *quiet, "-i", str(mp3), "-ar", str(SAMPLE_RATE), str(back)], check=True)
        out, _ = sf.read(back, dtype="float32", always_2d=True)
    out = out.mean(axis=1)
    if len(out) < len(audio):
        out = np.pad(out, (0, len(audio) - len(out)))
    return out[: len(audio)]


def augment(audio: np.ndarray, rng: np.random.Generator, allow_mp3: bool = True) -> np.ndarray:
    """A random chain; the result peaks between -20 and -0.5 dBFS."""
    out = np.asarray(audio, dtype=np.float32)
    if rng.random() < 0.7:
        out = random_eq(out, rng)
    if rng.random() < 0.6:
        out = add_room(out, rng)
    if rng.random() < 0.5:
        out = compress(
            out, rng.uniform(-30, -10), rng.uniform(2, 8), rng.uniform(0.5, 10), rng.uniform(40, 250)
        )
    if rng.random() < 0.3:
        out = add_noise(out, rng)
    peak = np.abs(out).max() + 1e-9
    out = out / peak * 10 ** (rng.uniform(-20, -0.5) / 20)
    if allow_mp3 and rng.random() < 0.2:
        out = mp3_roundtrip(out, int(rng.choice([96, 128, 160, 192])))
    return out.astype(np.float32)
