"""Frame activations -> hits: per-class peak picking, as ADTOF does it.

A frame is a hit of a class when its activation is the largest within PEAK_WINDOW frames around it,
reaches the class's threshold, and comes at least MIN_GAP_FRAMES after the previous hit of that
class. The time is refined by a parabola through the peak and its neighbours (sub-frame).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .spectrogram import FRAME_RATE

# Frames before / after a peak it must dominate (20 ms before, 10 ms after at 100 frames/s).
PEAK_WINDOW = (2, 1)
# Two hits of one class closer than this are one (a flam is two different frames apart at most).
MIN_GAP_FRAMES = 3


@dataclass(frozen=True)
class Peak:
    time: float
    cls: int
    activation: float
    velocity: float


def pick_peaks(activations: np.ndarray, velocities: np.ndarray, thresholds: Sequence[float]) -> list[Peak]:
    """``activations`` and ``velocities`` (frames, classes) in 0..1 -> peaks sorted by time."""
    act = np.asarray(activations, dtype=np.float32)
    n, k = act.shape
    before, after = PEAK_WINDOW
    padded = np.pad(act, ((before, after), (0, 0)), constant_values=-1.0)
    windows = np.lib.stride_tricks.sliding_window_view(padded, before + after + 1, axis=0)
    is_max = act >= windows.max(axis=-1)
    out: list[Peak] = []
    for c in range(k):
        frames = np.flatnonzero(is_max[:, c] & (act[:, c] >= thresholds[c]))
        last = -MIN_GAP_FRAMES
        for f in frames:
            if f - last < MIN_GAP_FRAMES:
                continue
            last = f
            offset = 0.0
            if 0 < f < n - 1:
                y0, y1, y2 = act[f - 1, c], act[f, c], act[f + 1, c]
                denom = y0 - 2 * y1 + y2
                if denom < 0:
                    offset = float(np.clip(0.5 * (y0 - y2) / denom, -0.5, 0.5))
            out.append(Peak((f + offset) / FRAME_RATE, c, float(act[f, c]), float(velocities[f, c])))
    out.sort(key=lambda p: (p.time, p.cls))
    return out
