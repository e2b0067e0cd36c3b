"""Pulse times: tracked through the song, held loosely to a tempo, or laid evenly.

``track_pulses`` follows a live drummer's drift (a dynamic-programming beat tracker held loosely to
the tempo, the guessed pulses at its ragged ends trimmed, each pulse then moved onto a parabola
fitted to its neighbours, and the pulses continued evenly over the whole music, so each tempo is
read on every stroke); ``best_phase`` lays an even pulse train on the strongest onsets;
``median_bpm`` is the tempo the pulses keep. ``tempo.py`` reads these pulses at each phase and level.
"""

from __future__ import annotations

import math

import numpy as np

from groovesheet_worker.pipeline import rhythm_constants as C
from groovesheet_worker.pipeline.beat_tracker import track_beats
from groovesheet_worker.pipeline.rhythm_analysis import RhythmAnalysis


def track_pulses(envelope: np.ndarray, analysis: RhythmAnalysis, bpm: float) -> np.ndarray:
    """Pulse times held loosely to ``bpm``, ragged ends trimmed, smoothed over a few pulses, and
    continued evenly to cover the music (``cover_span``).

    Without that, a tracker trimmed where a section moved the tempo by more than
    RAGGED_EDGE_TOLERANCE was read on the first section's strokes alone: they all sat on its grid, it
    outscored the tracker that followed the change, and the last section was written at the first
    one's tempo.
    """
    frames = track_beats(envelope, analysis.frame_rate, bpm, C.TRACKING_TIGHTNESS)
    times = np.asarray(frames, dtype=float) / analysis.frame_rate
    times = _trim_ragged_edges(times)
    if len(times) < 4:
        period = 60.0 / bpm
        return even_pulses(best_phase(envelope, analysis.frame_rate, period), period, 2)
    return cover_span(smooth_pulses(times), *analysis.played_span)


def cover_span(pulses: np.ndarray, first: float, last: float) -> np.ndarray:
    """``pulses`` continued evenly, at the tempo of each end, to the pulse at or before ``first``
    and the one at or after ``last``: the pulses the sheet would be written on."""
    head = float(np.median(np.diff(pulses[:5])))
    tail = float(np.median(np.diff(pulses[-5:])))
    before = max(0, math.ceil((pulses[0] - first) / head - 1e-9))
    after = max(0, math.ceil((last - pulses[-1]) / tail - 1e-9))
    return np.concatenate(
        [pulses[0] - head * np.arange(before, 0, -1), pulses, pulses[-1] + tail * np.arange(1, after + 1)]
    )


def _trim_ragged_edges(times: np.ndarray) -> np.ndarray:
    """Drop pulses at either end that are off the tracked tempo (the tracker guesses there)."""
    if len(times) < 4:
        return times
    intervals = np.diff(times)
    steady = np.abs(intervals / np.median(intervals) - 1.0) <= C.RAGGED_EDGE_TOLERANCE
    first = int(np.argmax(steady))
    last = len(steady) - int(np.argmax(steady[::-1]))
    return times[first : last + 1] if last - first >= 2 else times


def smooth_pulses(times: np.ndarray) -> np.ndarray:
    """Each pulse moved onto a parabola fitted to its neighbours (SMOOTHING_PULSES either side).

    A parabola follows a drummer speeding up or slowing down; each stroke's own timing averages out.
    """
    n = len(times)
    if n < 3:
        return np.asarray(times, dtype=float)
    out = np.empty(n)
    index = np.arange(n, dtype=float)
    for i in range(n):
        lo, hi = max(0, i - C.SMOOTHING_PULSES), min(n, i + C.SMOOTHING_PULSES + 1)
        degree = 2 if hi - lo >= 5 else 1
        out[i] = np.polyval(np.polyfit(index[lo:hi] - i, times[lo:hi], degree), 0.0)
    return out


def even_pulses(anchor: float, period: float, count: int) -> np.ndarray:
    return anchor + period * np.arange(count, dtype=float)


def best_phase(envelope: np.ndarray, frame_rate: float, period: float) -> float:
    """Offset (seconds, 0..period) of an even pulse train that sits on the strongest onsets."""
    times = np.arange(len(envelope)) / frame_rate
    offsets = np.arange(0.0, period, 0.002)
    grid = offsets[:, None] + period * np.arange(math.ceil(times[-1] / period) + 1)[None, :]
    inside = grid < times[-1]
    score = np.where(inside, np.interp(grid, times, envelope), 0.0).sum(axis=1)
    return float(offsets[int(np.argmax(score))])


def median_bpm(pulses: np.ndarray) -> float:
    intervals = np.diff(pulses)
    return 60.0 / float(np.median(intervals)) if len(intervals) else C.FALLBACK_BPM
