"""Tempo: the pulse a drummer counts, tracked through the song, and the sections where it moves.

``read_pulse`` looks for the counted pulse between 40 and 240 bpm. Candidates are the local maxima
of the tracking envelope's autocorrelation (the pulse, its subdivisions and its groupings all show
there) and the strongest ones' relatives (x2, x1/2, x3/2, ...); each is tracked through the song
and read at each phase (on the tracked pulses, or half a pulse or a third later). The best reading's
own relatives, from its tracked tempo, are then read too (tracked, and as an even grid). Two scores, each
weights times the same features: ``phase_score`` picks each tempo's phase (are these pulses the
beats or the "and"s?), ``score`` then picks the tempo level a drummer would write. The features,
from the classified hits:

- the notes fit the reading's grid: 16ths, or 8th-note triplets (a shuffle, a compound meter);
- the hi-hat, ride or kick marks the pulses: few pulses go by without a stroke on them;
- the snare backbeat lands on pulses (at half the tempo it lands on the "and"), on every other
  one (at half the tempo of a kick-snare 8th-note beat it lands on every pulse), and not on only
  every fourth one (double the tempo turns a backbeat into a half-time feel); weighed shares of
  its strokes, so a few unsure extra snares from the hit finder bend them only a little;
- the notes are mostly 8ths and 16ths (or triplets and their halves): not 32nds (too slow a
  reading), not all quarters (too fast);
- how clean the 4/4 bars of the reading are (the downbeat reader's best bar phase score);
- where in the pulse each instrument plays (the pulse profile: the kick on the pulse and the
  "and", ghost notes on the "e" and "a", ...), weighed by a template learnt from GMD performances;
- a broad log-normal prior around the usual tempos breaks near-ties.

The winning reading's pulses follow the drummer's drift (a dynamic-programming tracker held loosely
to the tempo, then smoothed over a few pulses), unless an even grid at its tempo or near it sits
better on the beats (``steadier_grid``: a tracker that slipped onto the "and"s for a stretch, or
whose median tempo a fill pulled a few percent off). ``tempo_sections`` writes the median tempo and a
change where a section moves by more than ``TEMPO_CHANGE_THRESHOLD``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from groovesheet_worker.pipeline import rhythm_constants as C
from groovesheet_worker.pipeline.beat_tracker import autocorrelate, track_beats
from groovesheet_worker.pipeline.downbeat import phase_scores
from groovesheet_worker.pipeline.rhythm_analysis import (
    CRASH,
    KICK,
    SNARE,
    TIME,
    RhythmAnalysis,
    Stroke,
    fractional_index,
)
from groovesheet_worker.pipeline.time_signature import Meter
from groovesheet_worker.pipeline.types import TempoChange

SIXTEENTHS, TRIPLETS = 4, 3
# Roles whose place in the pulse (on it, on its 16ths or triplets) the reading's score weighs.
PROFILE_ROLES: tuple[str, ...] = ("kick", "snare", "ghost", "time", "pedal", "tom")
# A reading outside TEMPO_RANGE (a tracker that wandered off) is never chosen.
OUT_OF_RANGE_PENALTY = 100.0
FOUR_FOUR = Meter(4, 4)
# Ratios of the strongest autocorrelation peaks that are candidates too.
RELATED_RATIOS: tuple[float, ...] = (2.0, 0.5, 1.5, 2 / 3, 4 / 3, 3 / 4)
# Phases (fractions of a pulse) a tracked grid is also read at; 16ths only move by half a pulse.
PHASE_SHIFTS: tuple[float, ...] = (0.0, 0.5, 1 / 3, 2 / 3)
DUPLE_SHIFTS: tuple[float, ...] = (0.0, 0.5)


@dataclass(frozen=True)
class PulseReading:
    """The counted pulse: its tempo, how it divides (4: 16ths, 3: triplets), and its times.

    ``score`` rates the tempo level, ``phase_score`` whether these pulses (not the "and"s) are the beats.
    """

    bpm: float
    subdivision: int
    pulses: np.ndarray
    score: float = 0.0
    evidence: dict[str, float] = field(default_factory=dict)
    phase_score: float = 0.0


def read_pulse(
    analysis: RhythmAnalysis,
    bpm_hint: float | None = None,
    subdivision_hint: int | None = None,
    candidates: list[float] | None = None,
) -> PulseReading:
    """The best reading of the pulse (``bpm_hint`` fixes its tempo, ``subdivision_hint`` its division)."""
    envelope = analysis.tracking_envelope()
    if envelope is None:
        bpm = float(bpm_hint or C.FALLBACK_BPM)
        first = analysis.played_span[0]
        return PulseReading(bpm, subdivision_hint or SIXTEENTHS, even_pulses(first, 60.0 / bpm, 2))
    if bpm_hint is not None:
        return _hinted_reading(analysis, envelope, bpm_hint, subdivision_hint)
    tempi = candidates if candidates is not None else candidate_tempi(envelope, analysis.frame_rate)
    readings = [best_phase_reading(readings_at(analysis, envelope, bpm, subdivision_hint)) for bpm in tempi]
    readings += _relatives_of_the_best(analysis, envelope, readings, subdivision_hint)
    return steadier_grid(analysis, envelope, max(readings, key=lambda r: r.score))


def _relatives_of_the_best(
    analysis: RhythmAnalysis, envelope: np.ndarray, readings: list[PulseReading], subdivision_hint: int | None
) -> list[PulseReading]:
    """The best reading's own tempo levels (x2, x1/2, ...) from its tracked tempo, where no reading is.

    Each is tracked, and laid as an even grid too, and read at the phase that reads best: a tracker
    set going at a tempo the envelope barely shows can wander off it. A double-time reading at 150.2
    bpm was otherwise weighed only against one tracked at 73.4, 2.3 % off the pulse at 75.1, whose
    notes sit off its grid.
    """
    best = max(readings, key=lambda r: r.score)
    tracked = [r.bpm for r in readings]
    fresh = [
        best.bpm * ratio
        for ratio in RELATED_RATIOS
        if all(abs(best.bpm * ratio / bpm - 1.0) > C.RELATIVE_MERGE_RATIO for bpm in tracked)
    ]
    return [
        best_phase_reading(
            readings_at(analysis, envelope, bpm, subdivision_hint)
            + even_grid_readings(analysis, envelope, bpm, subdivision_hint)
        )
        for bpm in fresh
    ]


def steadier_grid(
    analysis: RhythmAnalysis,
    envelope: np.ndarray,
    reading: PulseReading,
    ratios: tuple[float, ...] = C.STEADY_GRID_RATIOS,
) -> PulseReading:
    """The chosen tempo's tracked pulses, or the steadiest even grid near it when that reads better.

    A tracker can slip by half a pulse for a stretch (onto the "and"s of loud 8th-note hi-hats, or
    of hits the finder mislabelled), or drift through a fill and catch up later, its median tempo a
    few percent off; a drummer keeping steady time (to a click, as most records are made) does
    neither. The steadiest even grid near the chosen tempo (``steadiest_grid``) is read at each phase
    like the tracked pulses, and the phase score chooses; a drifting drummer's tracked pulses fit the
    notes better and stay. ``ratios``: the tempos tried, as ratios of the reading's.
    """
    even = steadiest_grid(analysis, envelope, reading.bpm, reading.subdivision, ratios)
    best = best_phase_reading([reading, *even])
    return best if best is reading else replace(best, score=reading.score)


def steadiest_grid(
    analysis: RhythmAnalysis,
    envelope: np.ndarray,
    bpm: float,
    subdivision_hint: int | None,
    ratios: tuple[float, ...] = C.STEADY_GRID_RATIOS,
) -> list[PulseReading]:
    """The even grid, of those at ``bpm`` times each of ``ratios`` (by default up to 4 % either side
    of it: a grid 1 % off is half a beat off after 50 beats), that the strokes sit closest to
    (``grid_error`` at its best phase), laid on the strongest onsets and read at each phase. Only the
    chosen grid is read; the others are only measured."""
    grids = []
    for ratio in ratios:
        anchor = best_phase(envelope, analysis.frame_rate, 60.0 / (bpm * ratio))
        shifted = phases(
            even_grid(analysis, bpm * ratio, anchor), bpm * ratio, analysis, subdivision_hint, False
        )
        grids.append((min(grid_error(pulses, sub, analysis) for pulses, sub, _ in shifted), ratio, anchor))
    _, ratio, anchor = min(grids, key=lambda grid: grid[0])
    return readings_at(analysis, envelope, bpm * ratio, subdivision_hint, anchor)


def grid_error(pulses: np.ndarray, subdivision: int, analysis: RhythmAnalysis) -> float:
    """Weighed mean distance (pulses) of the strokes from the grid's nearest 16th or 8th-note triplet,
    each capped at GRID_ERROR_CAP so a flam or a stray hit counts as one miss."""
    strokes = [s for s in analysis.strokes if pulses[0] <= s.time <= pulses[-1]]
    if len(pulses) < 2 or not strokes:
        return math.inf
    step = TRIPLETS if subdivision == TRIPLETS else SIXTEENTHS
    position = fractional_index(pulses, np.array([s.time for s in strokes])) * step
    distance = np.minimum(np.abs(position - np.round(position)) / step, C.GRID_ERROR_CAP)
    weight = np.array([s.weight for s in strokes])
    return float(np.sum(distance * weight) / np.sum(weight))


def even_grid_readings(
    analysis: RhythmAnalysis, envelope: np.ndarray, bpm: float, subdivision_hint: int | None
) -> list[PulseReading]:
    """An even pulse grid at ``bpm`` laid on the strongest onsets (``best_phase``), read at each phase."""
    anchor = best_phase(envelope, analysis.frame_rate, 60.0 / bpm)
    return readings_at(analysis, envelope, bpm, subdivision_hint, anchor)


def best_phase_reading(readings: list[PulseReading]) -> PulseReading:
    """Of one tracked tempo's readings at each phase, the one whose pulses are the beats."""
    return max(readings, key=lambda r: r.phase_score)


def candidate_tempi(envelope: np.ndarray, frame_rate: float) -> list[float]:
    """Local maxima of the envelope's autocorrelation inside TEMPO_RANGE, strongest first."""
    # A little beyond the range, so a pulse right at its ends is still a peak.
    low, high = (
        C.TEMPO_RANGE[0] * (1 - C.CANDIDATE_MERGE_RATIO),
        C.TEMPO_RANGE[1] * (1 + C.CANDIDATE_MERGE_RATIO),
    )
    centred = envelope - envelope.mean()
    max_lag = min(len(centred) - 1, int(60.0 / low * frame_rate) + 2)
    if max_lag < 2:
        return [C.FALLBACK_BPM]
    acf = autocorrelate(centred, max_lag + 1)
    if acf[0] <= 0:
        return [C.FALLBACK_BPM]
    acf = acf / acf[0]
    tempi = np.exp(np.linspace(np.log(low), np.log(high), 400))
    strength = np.interp(60.0 / tempi * frame_rate, np.arange(len(acf)), acf)
    peaks = [
        i
        for i in range(1, len(tempi) - 1)
        if strength[i] >= strength[i - 1] and strength[i] > strength[i + 1]
    ]
    ranked = [float(tempi[i]) for i in sorted(peaks, key=lambda i: -strength[i])]
    # The strongest peaks' relatives too: the pulse may be a level the envelope barely shows.
    related = [bpm * ratio for bpm in ranked[: C.RELATED_CANDIDATE_SOURCES] for ratio in RELATED_RATIOS]
    chosen: list[float] = []
    for bpm in ranked[: C.MAX_TEMPO_CANDIDATES] + related:
        fresh = all(abs(bpm / other - 1.0) > C.CANDIDATE_MERGE_RATIO for other in chosen)
        if fresh and low <= bpm <= high:
            chosen.append(bpm)
    return chosen or [C.FALLBACK_BPM]


def readings_at(
    analysis: RhythmAnalysis,
    envelope: np.ndarray,
    bpm: float,
    subdivision_hint: int | None = None,
    even_from: float | None = None,
) -> list[PulseReading]:
    """The tracked pulses at ``bpm`` (an even grid from ``even_from`` when given), read at each phase.

    The tracker sits on the strongest onsets, which with even 8th-note hi-hats can be the "and"s as
    well as the beats; the grid moved by half a pulse (a third or two in triplets) is read too.
    """
    tracked = (
        track_pulses(envelope, analysis, bpm) if even_from is None else even_grid(analysis, bpm, even_from)
    )
    readings = []
    for pulses, subdivision, evidence in phases(tracked, bpm, analysis, subdivision_hint):
        tracked_bpm = median_bpm(pulses)
        if evidence:  # {} is "no strokes near these pulses": the reading is scored by its prior alone
            evidence["four_four_bar_fit"] = four_four_bar_fit(pulses, analysis)
        features = reading_features(evidence, subdivision, tracked_bpm)
        score = weighed(features, C.READING_WEIGHTS | C.PULSE_PROFILE_WEIGHTS) - _range_penalty(tracked_bpm)
        phase_score = weighed(features, C.PHASE_WEIGHTS | C.PHASE_PROFILE_WEIGHTS)
        readings.append(PulseReading(tracked_bpm, subdivision, pulses, score, evidence, phase_score))
    return readings


def even_grid(analysis: RhythmAnalysis, bpm: float, anchor: float) -> np.ndarray:
    """Even pulses at ``bpm`` through ``anchor``, from the last one before the music to past its end."""
    first, last = analysis.played_span
    period = 60.0 / bpm
    start = anchor + math.floor((first - anchor) / period) * period
    return even_pulses(start, period, max(2, math.ceil((last - start) / period) + 2))


def phases(
    tracked: np.ndarray,
    bpm: float,
    analysis: RhythmAnalysis,
    subdivision_hint: int | None,
    with_evidence: bool = True,
) -> list[tuple[np.ndarray, int, dict[str, float]]]:
    """``tracked`` and the grid moved by half a pulse (and by a third or two in triplets): each one's
    pulses, subdivision (the hint, else what its evidence says) and evidence. ``with_evidence=False``
    skips the evidence where the hint already gives the subdivision (its evidence is then {})."""
    period = float(np.median(np.diff(tracked))) if len(tracked) > 1 else 60.0 / bpm
    out = []
    for shift in PHASE_SHIFTS:
        pulses = tracked + shift * period
        evidence = pulse_evidence(pulses, analysis) if with_evidence or subdivision_hint is None else {}
        subdivision = subdivision_hint or _subdivision(evidence)
        if subdivision == SIXTEENTHS and shift not in DUPLE_SHIFTS:
            continue
        out.append((pulses, subdivision, evidence))
    return out


def four_four_bar_fit(pulses: np.ndarray, analysis: RhythmAnalysis) -> float:
    """How well the strokes make 4/4 bars of these pulses: the best bar phase's downbeat score.

    At the right tempo a groove's bars are clean (kick on 1, snare on 2 and 4, the learnt bar
    profile); at double or half the tempo, or three halves of it, they are not.
    """
    strokes = [s for s in analysis.strokes if pulses[0] <= s.time <= pulses[-1]]
    if len(pulses) < 2 or not strokes:
        return 0.0
    return max(phase_scores(pulses, strokes, FOUR_FOUR).values())


def _hinted_reading(
    analysis: RhythmAnalysis, envelope: np.ndarray, bpm: float, subdivision_hint: int | None
) -> PulseReading:
    """The uploader's tempo: the pulses tracked at it when the tracker agrees with it, or an even grid
    within a typed tempo's rounding of it (HINTED_GRID_RATIOS) when that sits better on the beats (a
    tracker can drift through a fill), on the phase that reads best; its ``bpm`` is the uploader's."""
    tracked = best_phase_reading(readings_at(analysis, envelope, bpm, subdivision_hint))
    if len(tracked.pulses) >= 4 and abs(tracked.bpm / bpm - 1.0) <= C.HINT_TRACKING_AGREEMENT:
        reading = steadier_grid(analysis, envelope, replace(tracked, bpm=bpm), C.HINTED_GRID_RATIOS)
    else:
        reading = best_phase_reading(
            steadiest_grid(analysis, envelope, bpm, subdivision_hint, C.HINTED_GRID_RATIOS)
        )
    return replace(reading, bpm=bpm)


def track_pulses(envelope: np.ndarray, analysis: RhythmAnalysis, bpm: float) -> np.ndarray:
    """Pulse times held loosely to ``bpm``, ragged ends trimmed, smoothed over a few pulses."""
    frames = track_beats(envelope, analysis.frame_rate, bpm, C.TRACKING_TIGHTNESS)
    times = np.asarray(frames, dtype=float) / analysis.frame_rate
    times = _trim_ragged_edges(times)
    if len(times) < 4:
        period = 60.0 / bpm
        return even_pulses(best_phase(envelope, analysis.frame_rate, period), period, 2)
    return smooth_pulses(times)


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
    best, best_score = 0.0, -math.inf
    for phase in np.arange(0.0, period, 0.002):
        grid = np.arange(phase, times[-1], period)
        score = float(np.interp(grid, times, envelope).sum())
        if score > best_score:
            best, best_score = float(phase), score
    return best


def median_bpm(pulses: np.ndarray) -> float:
    intervals = np.diff(pulses)
    return 60.0 / float(np.median(intervals)) if len(intervals) else C.FALLBACK_BPM


def pulse_evidence(pulses: np.ndarray, analysis: RhythmAnalysis) -> dict[str, float]:
    """How the strokes sit on a pulse grid: the terms ``reading_score`` weighs (0..1 each)."""
    strokes = analysis.strokes
    backbeat_strokes = set(analysis.backbeat_strokes())
    if len(pulses) < 2 or not strokes:
        return {}
    period = float(np.median(np.diff(pulses)))
    tolerance = max(C.GRID_TOLERANCE, C.GRID_TOLERANCE_SECONDS / period)
    inside = [s for s in strokes if pulses[0] - period / 2 <= s.time <= pulses[-1] + period / 2]
    if not inside:
        return {}
    position = fractional_index(pulses, np.array([s.time for s in inside]))
    weight = np.array([s.weight for s in inside])
    role = np.array([s.role for s in inside])

    def off(step: int) -> np.ndarray:
        return np.abs(position * step - np.round(position * step)) / step

    on_pulse = off(1) <= tolerance
    evidence = {
        "time_on_pulse": _share(weight[role == TIME], on_pulse[role == TIME], default=0.5),
        "fit_16ths": _share(weight, off(4) <= tolerance),
        "fit_triplets": _share(weight, off(3) <= tolerance),
        "kick_on_pulse": _share(weight[role == KICK], on_pulse[role == KICK], default=0.5),
        "presence": _presence(position[role != CRASH], tolerance),
    }
    backbeat = np.array([s in backbeat_strokes for s in inside])
    if backbeat.sum() >= C.MIN_BACKBEAT_STROKES:
        evidence["backbeat_on_pulse"] = _share(weight[backbeat], on_pulse[backbeat])
        landed = backbeat & on_pulse
        if landed.sum() >= C.MIN_BACKBEAT_STROKES:
            evidence |= _backbeat_spacing(np.round(position[landed]).astype(int), weight[landed])
    evidence |= _pulse_profile(position, weight, _profile_roles(inside), tolerance)
    gaps = _note_gaps(position, np.array([s.time for s in inside]))
    if len(gaps):
        evidence["fine_notes_16ths"] = float(np.mean(gaps < C.FINE_GAP))
        evidence["fine_notes_triplets"] = float(np.mean(gaps < C.FINE_GAP_TRIPLETS))
        evidence["coarse_notes"] = float(np.mean(gaps >= C.COARSE_GAP))
    return evidence


def _backbeat_spacing(pulse: np.ndarray, weight: np.ndarray) -> dict[str, float]:
    """How the backbeat's weight spreads over the pulses it lands on (each 0..1).

    - ``backbeat_gap_2``: every other pulse: all its weight on the odd pulses or on the even ones,
      and spread over both of that parity's pulses in every four and over the pulses counted in
      threes (every sixth pulse, a 6/8 backbeat counted in eighths, is not every other one);
    - ``backbeat_gap_4_or_more``: on one parity, but every fourth pulse only (double the tempo
      turns a backbeat into a half-time feel);
    - ``backbeat_gap_1``: every pulse (half the tempo of a kick-snare 8th-note beat): of the pulses
      that carry a typical backbeat pulse's weight (BACKBEAT_PULSE_SHARE), the share whose next
      pulse carries it too.

    Weighed shares rather than gaps between landings, so a few unsure extra snares (a hi-hat
    misheard) move each a little instead of breaking every gap they fall in.
    """
    total = float(weight.sum())
    if total <= 0:
        return {}
    by_four = np.bincount(pulse % 4, weights=weight, minlength=4)
    by_two = by_four[:2] + by_four[2:]
    alternates = float(abs(by_two[0] - by_two[1]) / total)
    same = by_four[[int(np.argmax(by_two)), int(np.argmax(by_two)) + 2]]
    fourth = float(abs(same[0] - same[1]) / same.sum()) if same.sum() > 0 else 0.0
    by_three = np.bincount(pulse % 3, weights=weight, minlength=3)
    threes = float((by_three.max() / total - 1 / 3) * 1.5)
    per_pulse = np.bincount(pulse - pulse.min(), weights=weight)
    typical = float(np.median(per_pulse[per_pulse > 0]))
    carries = per_pulse >= C.BACKBEAT_PULSE_SHARE * typical
    return {
        "backbeat_gap_2": alternates * (1.0 - fourth) * (1.0 - threes),
        "backbeat_gap_4_or_more": alternates * fourth,
        "backbeat_gap_1": float(np.sum(carries[:-1] & carries[1:]) / max(1, np.sum(carries[:-1]))),
    }


def _profile_roles(strokes: list[Stroke]) -> np.ndarray:
    """Each stroke's role for the pulse profile: ghost snares apart from the main ones."""
    return np.array(["ghost" if s.role == SNARE and s.is_ghost else s.role for s in strokes])


def _pulse_profile(
    position: np.ndarray, weight: np.ndarray, roles: np.ndarray, tolerance: float
) -> dict[str, float]:
    """Where in the pulse each role plays: its share of weight on each 16th (``kick@0/4`` is the kick
    on the pulse) and on each 8th-note triplet (``snare@2/3``)."""
    profile: dict[str, float] = {}
    for division in (SIXTEENTHS, TRIPLETS):
        steps = position * division
        on_grid = np.abs(steps - np.round(steps)) <= tolerance * division
        slot = np.round(steps).astype(int) % division
        for role in PROFILE_ROLES:
            mine = roles == role
            total = float(weight[mine].sum())
            for k in range(division):
                chosen = mine & on_grid & (slot == k)
                profile[f"{role}@{k}/{division}"] = float(weight[chosen].sum() / total) if total else 0.0
    return profile


def _share(weight: np.ndarray, chosen: np.ndarray, default: float = 0.0) -> float:
    total = float(weight.sum())
    return float(weight[chosen].sum() / total) if total > 0 else default


def _presence(position: np.ndarray, tolerance: float) -> float:
    """Share of the pulses, from the first stroke to the last, that have a stroke on them."""
    if not len(position):
        return 0.0
    first, last = math.ceil(position.min() - tolerance), math.floor(position.max() + tolerance)
    if last < first:
        return 0.0
    nearest = np.round(position)
    hit = {int(k) for k, p in zip(nearest, position, strict=True) if abs(p - k) <= tolerance}
    return len(hit & set(range(first, last + 1))) / (last - first + 1)


def _note_gaps(position: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Gaps (pulses) between successive notes, strokes closer than SAME_NOTE_SECONDS being one note."""
    order = np.argsort(times)
    times, position = times[order], position[order]
    keep = np.concatenate([[True], np.diff(times) > C.SAME_NOTE_SECONDS])
    return np.diff(position[keep])


def _subdivision(evidence: dict[str, float]) -> int:
    triplets, sixteenths = evidence.get("fit_triplets", 0.0), evidence.get("fit_16ths", 0.0)
    return TRIPLETS if triplets > sixteenths + C.TRIPLET_MARGIN else SIXTEENTHS


def reading_features(evidence: dict[str, float], subdivision: int, bpm: float) -> dict[str, float]:
    """The terms of a reading's score, each oriented so that higher means more like a drummer's reading."""
    if not evidence:
        return {"prior": tempo_prior(bpm, subdivision)}
    fine = evidence.get("fine_notes_triplets" if subdivision == TRIPLETS else "fine_notes_16ths", 0.0)
    return {
        "grid_fit": evidence["fit_triplets"] if subdivision == TRIPLETS else evidence["fit_16ths"],
        "pulse_presence": evidence["presence"],
        "kick_on_pulse": evidence["kick_on_pulse"],
        "time_on_pulse": evidence["time_on_pulse"],
        "backbeat_on_pulse": evidence.get("backbeat_on_pulse", 0.5),
        "backbeat_every_pulse": evidence.get("backbeat_gap_1", 0.0),
        "backbeat_every_other_pulse": evidence.get("backbeat_gap_2", 0.0),
        "backbeat_every_fourth_pulse": evidence.get("backbeat_gap_4_or_more", 0.0),
        "not_finer_than_16ths": -fine,
        "not_all_quarters": -evidence.get("coarse_notes", 0.0),
        "four_four_bar_fit": evidence.get("four_four_bar_fit", 0.0),
        "triplets": float(subdivision == TRIPLETS),
        "prior": tempo_prior(bpm, subdivision),
    } | {name: evidence.get(name, 0.0) for name in profile_features(subdivision)}


def profile_features(subdivision: int) -> list[str]:
    """The pulse-profile features a reading in ``subdivision`` is scored with."""
    return [f"{role}@{k}/{subdivision}" for role in PROFILE_ROLES for k in range(subdivision)]


def reading_score(evidence: dict[str, float], subdivision: int, bpm: float) -> float:
    """How a drummer would rate this tempo level (higher is better): READING_WEIGHTS times the features."""
    features = reading_features(evidence, subdivision, bpm)
    return weighed(features, C.READING_WEIGHTS | C.PULSE_PROFILE_WEIGHTS) - _range_penalty(bpm)


def weighed(features: dict[str, float], weights: dict[str, float]) -> float:
    return sum(weights.get(name, 0.0) * value for name, value in features.items())


def _range_penalty(bpm: float) -> float:
    low, high = C.TEMPO_RANGE
    inside = low * (1 - C.CANDIDATE_MERGE_RATIO) <= bpm <= high * (1 + C.CANDIDATE_MERGE_RATIO)
    return 0.0 if inside else OUT_OF_RANGE_PENALTY


def tempo_prior(bpm: float, subdivision: int) -> float:
    """Log-normal log-prior of a counted pulse; a slow pulse divided in three is a compound meter's."""
    compound = subdivision == TRIPLETS and bpm < C.COMPOUND_MAX_PULSE_BPM
    centre = C.COMPOUND_PRIOR_CENTRE_BPM if compound else C.PRIOR_CENTRE_BPM
    return -0.5 * (math.log2(bpm / centre) / C.PRIOR_OCTAVES) ** 2


def tempo_sections(
    beats: np.ndarray,
    downbeat: int,
    beats_per_bar: int,
    beats_per_pulse: int,
    played: tuple[float, float],
    main_bpm: float | None = None,
) -> tuple[float, tuple[TempoChange, ...]]:
    """The written tempo (``main_bpm``, else the median over the played bars) and its changes.

    Bars are measured from their own beats. A run of at least MIN_SECTION_BARS bars more than
    TEMPO_CHANGE_THRESHOLD away from the tempo in force starts a section; a section is written at
    its median tempo, or at the main tempo when it is that close to it.
    """
    bar_tempi = _bar_tempi(beats, downbeat, beats_per_bar, beats_per_pulse, played)
    if not bar_tempi:
        return float(main_bpm or median_bpm(beats) / beats_per_pulse), ()
    bars = sorted(bar_tempi)
    values = np.array([bar_tempi[b] for b in bars])
    main = float(main_bpm if main_bpm is not None else np.median(values))
    smooth = np.array([np.median(values[max(0, i - 1) : i + 2]) for i in range(len(values))])

    starts = [0]
    current = float(np.median(values[: C.MIN_SECTION_BARS]))
    i = 0
    while i < len(values):
        run = 0
        while i + run < len(values) and abs(smooth[i + run] / current - 1.0) > C.TEMPO_CHANGE_THRESHOLD:
            run += 1
        if run >= C.MIN_SECTION_BARS:
            starts.append(i)
            current = float(np.median(values[i : i + run]))
            i += run
        else:
            i += 1
    changes: list[TempoChange] = []
    written_before = main
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(values)
        tempo = float(np.median(values[start:end]))
        written = main if abs(tempo / main - 1.0) <= C.TEMPO_CHANGE_THRESHOLD else round(tempo, 1)
        if written != written_before:
            changes.append(TempoChange(bar=bars[start], bpm=written))
            written_before = written
    return main, tuple(changes)


def _bar_tempi(
    beats: np.ndarray, downbeat: int, beats_per_bar: int, beats_per_pulse: int, played: tuple[float, float]
) -> dict[int, float]:
    """Counted tempo of every bar (1-based) that lies within the played music."""
    out: dict[int, float] = {}
    first, last = played
    bar = 1
    start = downbeat
    while start + beats_per_bar < len(beats):
        times = beats[start : start + beats_per_bar + 1]
        if times[0] >= first - 1e-6 and times[-1] <= last + (times[-1] - times[-2]):
            out[bar] = 60.0 / float(np.median(np.diff(times))) / beats_per_pulse
        start += beats_per_bar
        bar += 1
    return out
