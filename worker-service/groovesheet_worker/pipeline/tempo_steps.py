"""Tempo steps: a section that jumps to another tempo, read on its own and joined to the rest.

The pulse tracker is held loosely to one tempo (TRACKING_TIGHTNESS), so it follows a drummer's drift
and a section a few percent off, but not a song that jumps by a quarter or more (a bridge at 75
after verses at 100): past the jump its pulses leave the strokes, and every bar there was written
on the wrong grid. ``follow_tempo_steps`` finds where the strokes leave the reading's grid for good
(STEP_WINDOW_PULSES in a row with under STEP_LOST_SHARE of their weight on it, where the song
as a whole sits on it), reads the rest of the song on its own at the tempo nearest the song's
(within STEP_RATIO_RANGE, never its double or half, which would be the same music counted
otherwise), and joins the two where together they sit best on the strokes. The rest is then looked
at again, so a section that comes back to the first tempo is followed too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from groovesheet_worker.pipeline import rhythm_constants as C
from groovesheet_worker.pipeline.pulse_evidence import grid_offsets
from groovesheet_worker.pipeline.pulse_tracking import median_bpm
from groovesheet_worker.pipeline.rhythm_analysis import RhythmAnalysis

# Reads the music from a start time (seconds) at the tempo nearest a bpm: its pulses, or None.
SectionReader = Callable[[RhythmAnalysis, float, float], np.ndarray | None]


def follow_tempo_steps(
    analysis: RhythmAnalysis,
    pulses: np.ndarray,
    subdivision: int,
    read_section: SectionReader,
    depth: int = 0,
) -> np.ndarray:
    """``pulses``, with each section that steps to another tempo re-read and joined in.

    ``read_section(analysis, start, bpm)`` reads the music from ``start`` (seconds) on its own at the
    tempo nearest ``bpm`` within STEP_RATIO_RANGE and returns its pulses, or None when none reads.
    """
    if depth >= C.MAX_TEMPO_STEPS:
        return pulses
    lost = first_lost_pulse(analysis, pulses, subdivision)
    if lost is None:
        return pulses
    start = float(pulses[lost])
    section = read_section(analysis, start, median_bpm(pulses[: lost + 1]))
    if section is None or len(section) < 2:
        return pulses
    joined = join_at_best(analysis, pulses, section, subdivision, lost)
    if joined is None:
        return pulses
    rest_from = int(np.searchsorted(joined, start))
    head, rest = joined[:rest_from], joined[rest_from:]
    followed = follow_tempo_steps(analysis, rest, subdivision, read_section, depth + 1)
    return np.concatenate([head, followed])


def first_lost_pulse(analysis: RhythmAnalysis, pulses: np.ndarray, subdivision: int) -> int | None:
    """Index of the first pulse from which STEP_WINDOW_PULSES pulses in a row hold at least
    STEP_MIN_STROKES strokes and under STEP_LOST_SHARE of their weight on the grid, while the song
    before them sits on it (at least STEP_KEPT_SHARE); None when the strokes never leave it."""
    position, weight, off = grid_offsets(analysis, pulses, subdivision)
    fits = off <= C.GRID_TOLERANCE
    if len(position) == 0:
        return None
    window = C.STEP_WINDOW_PULSES
    pulse_of = np.floor(position).astype(int)
    for first in range(window, len(pulses) - window):
        inside = (pulse_of >= first) & (pulse_of < first + window)
        if inside.sum() < C.STEP_MIN_STROKES:
            continue
        share = weight[inside & fits].sum() / weight[inside].sum()
        if share >= C.STEP_LOST_SHARE:
            continue
        before = pulse_of < first
        kept = weight[before & fits].sum() / max(weight[before].sum(), 1e-9)
        return first if kept >= C.STEP_KEPT_SHARE else None
    return None


def join_at_best(
    analysis: RhythmAnalysis, pulses: np.ndarray, section: np.ndarray, subdivision: int, lost: int
) -> np.ndarray | None:
    """The song's pulses up to a joint and the section's from it, at the joint (among the pulses of
    the lost window and the one before it, where the section's first pulse follows the song's last
    by half a pulse to STEP_MAX_JOINT_SHARE of one) whose pulses put the most stroke weight on the
    grid (``_fit``), the latest of those within STEP_JOINT_TIE of it; None when none beats the
    song's own pulses by STEP_MIN_GAIN."""
    base = _fit(analysis, pulses, subdivision)
    candidates = []
    for joint in range(
        max(1, lost - C.STEP_WINDOW_PULSES), min(len(pulses), lost + C.STEP_WINDOW_PULSES + 1)
    ):
        cut = float(pulses[joint - 1])
        later = section[section > cut + C.STEP_MIN_JOINT_SHARE * (section[1] - section[0])]
        if len(later) < 2:
            continue
        longest = C.STEP_MAX_JOINT_SHARE * max(later[1] - later[0], pulses[joint] - pulses[joint - 1])
        if later[0] - cut > longest:
            continue  # a joint that skips a pulse would move every later bar line
        joined = np.concatenate([pulses[:joint], later])
        candidates.append((_fit(analysis, joined, subdivision), joint, joined))
    if not candidates:
        return None
    best = max(fit for fit, _, _ in candidates)
    if best <= base + C.STEP_MIN_GAIN:
        return None
    # As close as the closest: the latest joint, the song's own tempo kept as long as the strokes allow.
    return max((c for c in candidates if c[0] >= best - C.STEP_JOINT_TIE), key=lambda c: c[1])[2]


def _fit(analysis: RhythmAnalysis, pulses: np.ndarray, subdivision: int) -> float:
    """Share of the song's stroke weight on the pulses' grid (within GRID_TOLERANCE; strokes outside
    the pulses' span count as off it)."""
    _, weight, off = grid_offsets(analysis, pulses, subdivision)
    total = sum(s.weight for s in analysis.strokes)
    return float(weight[off <= C.GRID_TOLERANCE].sum() / total) if total > 0 else 0.0


def section_analysis(analysis: RhythmAnalysis, start: float) -> RhythmAnalysis:
    """The analysis of the music from ``start`` on: later strokes only, the envelope silent before it."""
    envelope = analysis.onset_envelope
    if envelope is not None:
        envelope = envelope.copy()
        envelope[: max(0, int(start * analysis.frame_rate))] = 0.0
    return replace(
        analysis, onset_envelope=envelope, strokes=tuple(s for s in analysis.strokes if s.time >= start)
    )
