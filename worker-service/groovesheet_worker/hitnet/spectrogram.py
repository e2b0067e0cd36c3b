"""The model's input: a log-magnitude spectrogram on a logarithmic frequency axis, 100 frames/s.

STFT with a 2048-sample Hann window and a 441-sample hop at 44.1 kHz (10 ms frames, centred), its
magnitudes summed by triangular filters spaced 12 per octave from 30 Hz to 17 kHz (filters that would
fall inside one FFT bin are merged, as madmom's logarithmic filterbank does), then log(1 + x).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

SAMPLE_RATE = 44_100
N_FFT = 2048
HOP = 441
FRAME_RATE = SAMPLE_RATE / HOP  # 100 frames per second
FMIN_HZ = 30.0
FMAX_HZ = 17_000.0
BANDS_PER_OCTAVE = 12
# Frames per STFT block: long songs are transformed in pieces so memory stays flat.
BLOCK_FRAMES = 6_000


@lru_cache(maxsize=1)
def filterbank() -> np.ndarray:
    """(n_fft // 2 + 1, n_bands) triangular log-frequency filters, each summing to 1."""
    bin_hz = SAMPLE_RATE / N_FFT
    n_octaves = np.log2(FMAX_HZ / FMIN_HZ)
    centres_hz = FMIN_HZ * 2.0 ** (np.arange(int(n_octaves * BANDS_PER_OCTAVE) + 1) / BANDS_PER_OCTAVE)
    bins = np.unique(np.round(centres_hz / bin_hz).astype(int))
    n_bins = N_FFT // 2 + 1
    fb = np.zeros((n_bins, len(bins) - 2), dtype=np.float32)
    for i in range(len(bins) - 2):
        lo, mid, hi = bins[i], bins[i + 1], bins[i + 2]
        fb[lo : mid + 1, i] = np.linspace(0.0, 1.0, mid - lo + 1)
        fb[mid : hi + 1, i] = np.linspace(1.0, 0.0, hi - mid + 1)
        fb[mid, i] = 1.0
        fb[:, i] /= fb[:, i].sum()
    return fb


def n_bands() -> int:
    return int(filterbank().shape[1])


def n_frames(n_samples: int) -> int:
    return 1 + n_samples // HOP


def log_spectrogram(mono: np.ndarray) -> np.ndarray:
    """(frames, bands) float32 input for ``network.HitNet``; frame i is centred on sample i * HOP."""
    audio = np.asarray(mono, dtype=np.float32)
    total = n_frames(len(audio))
    padded = np.pad(audio, (N_FFT // 2, N_FFT // 2 + HOP))
    window = np.hanning(N_FFT + 1)[:-1].astype(np.float32)
    fb = filterbank()
    out = np.empty((total, fb.shape[1]), dtype=np.float32)
    for start in range(0, total, BLOCK_FRAMES):
        count = min(BLOCK_FRAMES, total - start)
        frames = np.lib.stride_tricks.sliding_window_view(
            padded[start * HOP : (start + count - 1) * HOP + N_FFT], N_FFT
        )[::HOP]
        mag = np.abs(np.fft.rfft(frames * window, axis=1)).astype(np.float32)
        out[start : start + count] = np.log1p(mag @ fb)
    return out
