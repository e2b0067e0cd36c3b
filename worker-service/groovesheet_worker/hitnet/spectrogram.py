"""The worker's one view of a drum track: a log-magnitude spectrogram on a logarithmic frequency axis,
100 frames/s. HitNet hears it, and its spectral flux is the onset envelope the tempo, meter and
downbeat readers track (``pipeline.rhythm_analysis``), so a song's spectrogram is computed once.

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
# log(1 + x) is not level-invariant, so audio is brought to the loudness the training pieces have:
# the median "active RMS" (RMS over the 100 ms blocks within 40 dB of the loudest) of the rendered
# training set is -32.5 dBFS (p10 -41.7, p90 -25.0; `python -m training.levels`). Real recordings are
# often much louder (MDB Drums: -16 to -19 dBFS), outside what the network ever heard.
TARGET_ACTIVE_RMS_DBFS = -32.5
LEVEL_BLOCK = 4_410
LEVEL_FLOOR_DB = -40.0


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


def active_rms_dbfs(mono: np.ndarray) -> float:
    """RMS in dBFS over the 100 ms blocks within LEVEL_FLOOR_DB of the loudest block (-inf if silent)."""
    audio = np.asarray(mono, dtype=np.float64)
    n = len(audio) // LEVEL_BLOCK * LEVEL_BLOCK
    if n == 0:
        audio, n = np.pad(audio, (0, LEVEL_BLOCK - len(audio))), LEVEL_BLOCK
    energy = (audio[:n].reshape(-1, LEVEL_BLOCK) ** 2).mean(axis=1)
    if energy.max() <= 0:
        return float("-inf")
    active = energy[energy >= energy.max() * 10 ** (LEVEL_FLOOR_DB / 10)]
    return float(10 * np.log10(active.mean()))


def normalise_level(mono: np.ndarray) -> np.ndarray:
    """``mono`` scaled to TARGET_ACTIVE_RMS_DBFS (silence is returned as it is)."""
    level = active_rms_dbfs(mono)
    if not np.isfinite(level):
        return np.asarray(mono, dtype=np.float32)
    return (np.asarray(mono, dtype=np.float32) * 10 ** ((TARGET_ACTIVE_RMS_DBFS - level) / 20)).astype(
        np.float32
    )


def log_spectrogram(mono: np.ndarray, lead_in_frames: int = 0) -> np.ndarray:
    """(frames, bands) float32 input for ``network.HitNet``; frame ``lead_in_frames + i`` is centred on
    sample i * HOP, after ``lead_in_frames`` frames of silence (the audio is padded with zeros there)."""
    audio = np.asarray(mono, dtype=np.float32)
    total = lead_in_frames + n_frames(len(audio))
    padded = np.pad(audio, (N_FFT // 2 + lead_in_frames * HOP, N_FFT // 2 + HOP))
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


def drum_track_spectrogram(mono: np.ndarray, lead_in_frames: int = 0) -> np.ndarray:
    """The spectrogram of a 44.1 kHz mono drum track as HitNet and the readers see it: the track
    brought to the training loudness (``normalise_level``), then ``log_spectrogram``.

    With ``lead_in_frames``, that many frames of silence come first, as if the track began later:
    frame ``lead_in_frames + i`` is then the track's frame i, and the frames just before it already
    hear the start of a stroke on the track's first sample, as they would in a longer recording.
    """
    return log_spectrogram(normalise_level(mono), lead_in_frames)


def spectral_flux(spectrogram: np.ndarray, range_db: float = 80.0) -> np.ndarray:
    """Onset strength per frame: the mean over bands of how much each rose, in dB, since the frame
    before (frame 0 has nothing to rise from: 0). Levels more than ``range_db`` below the loudest are
    floored there, so the flux of soft strokes counts as much as a loud one's, as in a dB spectrogram,
    while noise far below does not. Aligned with the spectrogram's frames."""
    spec = np.asarray(spectrogram, dtype=np.float32)
    if len(spec) == 0:
        return np.zeros(0, dtype=np.float32)
    level_db = 20.0 * np.log10(np.maximum(np.expm1(spec), 1e-10))
    level_db = np.maximum(level_db, level_db.max() - range_db)
    rise = np.maximum(np.diff(level_db, axis=0), 0.0).mean(axis=1)
    return np.concatenate([np.zeros(1, dtype=np.float32), rise.astype(np.float32)])
