"""Beat tracking by dynamic programming (Ellis 2007) at a given tempo, and the envelope's autocorrelation.

The same computation as ``librosa.beat.beat_track(onset_envelope=..., bpm=..., tightness=...,
trim=False)`` and ``librosa.autocorrelate`` (librosa 0.11, checked against it beat for beat by
tests/pipeline/test_beat_tracker.py), in numpy. librosa's beat module costs over 3 s to import in a
fresh process (numba compiles its kernels), which a worker's first job and every `make transcribe`
paid while Demucs separated the drums.

The tracker: the onset envelope, divided by its standard deviation, is smoothed by a Gaussian a beat
wide (``local_score``); then each frame's best score is its own plus the best of a predecessor between
half a beat and two beats back, less ``tightness`` times the squared log ratio of that gap to the beat
(``_cumulative_score``); the beats are the back-links from the last strong local maximum.
"""

from __future__ import annotations

import numpy as np


def autocorrelate(signal: np.ndarray, max_size: int) -> np.ndarray:
    """The first ``max_size`` lags of the full autocorrelation of a real 1-D signal."""
    y = np.asarray(signal, dtype=float)
    size = min(int(max_size), len(y))
    if size <= 0:
        return np.zeros(0)
    n_fft = 1 << int(np.ceil(np.log2(max(2 * len(y) - 1, 1))))
    spectrum = np.fft.rfft(y, n=n_fft)
    return np.fft.irfft(spectrum.real**2 + spectrum.imag**2, n=n_fft)[:size]


def track_beats(envelope: np.ndarray, frame_rate: float, bpm: float, tightness: float) -> np.ndarray:
    """Frame indices of the beats of ``envelope`` held to ``bpm`` with ``tightness`` (sorted)."""
    onsets = np.asarray(envelope, dtype=float)
    if bpm <= 0 or tightness <= 0:
        raise ValueError(f"bpm ({bpm}) and tightness ({tightness}) must be positive")
    if len(onsets) == 0 or not onsets.any():
        return np.zeros(0, dtype=int)
    frames_per_beat = int(np.round(frame_rate * 60.0 / bpm))
    score = local_score(onsets / (onsets.std(ddof=1) + np.finfo(float).tiny), frames_per_beat)
    backlink, cumulative = _cumulative_score(score, frames_per_beat, tightness)
    beats = np.zeros(len(score), dtype=bool)
    n = _last_beat(cumulative)
    while n >= 0:
        beats[n] = True
        n = backlink[n]
    # Leading and trailing beats where the smoothed envelope is empty are dropped (librosa's trim=False).
    nonzero = np.flatnonzero(score > 0.0)
    if len(nonzero):
        beats[: nonzero[0]] = False
        beats[nonzero[-1] + 1 :] = False
    return np.flatnonzero(beats)


def local_score(onsets: np.ndarray, frames_per_beat: int) -> np.ndarray:
    """The envelope smoothed by a Gaussian window of +-1 beat (sigma 1/32 beat), same length.

    As librosa computes it, frame 0 of the envelope never contributes (its loop bound stops one short).
    """
    offsets = np.arange(-frames_per_beat, frames_per_beat + 1, dtype=float)
    window = np.exp(-0.5 * (offsets * 32.0 / frames_per_beat) ** 2)
    shifted = np.array(onsets, dtype=float)
    shifted[0] = 0.0
    half = len(window) // 2
    return np.convolve(shifted, window, mode="full")[half : half + len(shifted)]


def _cumulative_score(
    score: np.ndarray, frames_per_beat: int, tightness: float
) -> tuple[np.ndarray, np.ndarray]:
    """Best cumulative score per frame and the predecessor it came from (-1: none).

    Predecessors lie between ``round(fpb / 2)`` and ``2 * fpb`` frames back; frames in a block of
    that shortest gap depend only on frames before the block, so a block is computed at once. Ties go
    to the nearest predecessor, as in librosa's loop.
    """
    n = len(score)
    nearest = int(np.round(frames_per_beat / 2))
    farthest = 2 * frames_per_beat
    gaps = np.arange(nearest, farthest + 1)  # nearest first: argmax keeps the first of equal scores
    penalty = tightness * (np.log(gaps) - np.log(frames_per_beat)) ** 2
    cumulative = np.empty(n)
    backlink = np.full(n, -1, dtype=np.int64)
    step = max(nearest, 1)
    for start in range(0, n, step):
        frames = np.arange(start, min(start + step, n))
        previous = frames[:, None] - gaps[None, :]
        valid = previous >= 0
        candidates = np.where(valid, cumulative[np.maximum(previous, 0)] - penalty[None, :], -np.inf)
        best = np.argmax(candidates, axis=1)
        has = valid.any(axis=1)
        cumulative[frames] = score[frames] + np.where(has, candidates[np.arange(len(frames)), best], 0.0)
        backlink[frames] = np.where(has, frames - gaps[best], -1)
    # Nothing leads into the frames before the first whose score is not negligible.
    strong = np.flatnonzero(score >= 0.01 * score.max())
    backlink[: strong[0] if len(strong) else n] = -1
    return backlink, cumulative


def _last_beat(cumulative: np.ndarray) -> int:
    """The last local maximum of the cumulative score at least half the median local maximum."""
    previous = np.concatenate([cumulative[:1], cumulative[:-1]])
    following = np.concatenate([cumulative[1:], cumulative[-1:]])
    peaks = np.flatnonzero((cumulative > previous) & (cumulative >= following))
    if len(peaks) == 0:
        return len(cumulative) - 1
    threshold = 0.5 * np.median(cumulative[peaks])
    strong = peaks[cumulative[peaks] >= threshold]
    return int(strong[-1]) if len(strong) else len(cumulative) - 1
