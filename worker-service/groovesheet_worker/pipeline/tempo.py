"""Tempo: the pulse a drummer counts, tracked through the song, and the sections where it moves.

``read_pulse`` looks for the counted pulse between 40 and 240 bpm. Candidates are the local maxima
of the tracking envelope's autocorrelation (the pulse, its subdivisions and its groupings all show
there) and the strongest ones' relatives (x2, x1/2, x3/2, ...); each is tracked through the song
and read at each phase (on the tracked pulses, or half a pulse or a third later); the few best
(STEADY_LEVEL_CANDIDATES) compete with the steadiest even grid near them (``steadier_level``), so the
levels are compared on the pulses each would write, not on a tracker that drifted at one level and
not at another. The best reading's
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

A fast winner whose notes are nearly all quarters, with the kick on every other pulse, gives way to
its half, where they are 8ths and the kick is on every beat (``eighth_note_level``: a polka is not a
backbeat at 240); one whose kick and backbeat land together on every third pulse gives way to its
third, divided in triplets (``compound_level``: a 12/8 ballad whose cymbal plays only the 8ths).

The winning reading's pulses follow the drummer's drift (a dynamic-programming tracker held loosely
to the tempo, then smoothed over a few pulses), unless an even grid at its tempo or near it sits
better on the beats (``steadier_grid``: a tracker that slipped onto the "and"s for a stretch, or
whose median tempo a fill pulled a few percent off); an even grid is laid on the strongest onsets,
or a 16th after them when that puts more of the strokes on its 8th notes (``on_the_eighths``: kicks
on the "a" before the beats can make the strongest onsets a 16th early). A section that jumps to
another tempo (a quarter or more, beyond what the tracker follows) is read on its own and joined in
(``tempo_steps.py``).
``tempo_sections`` writes the median tempo and a change where a section moves by more than
``TEMPO_CHANGE_THRESHOLD``. The features are
``pulse_evidence.py``'s, the tracked pulses ``pulse_tracking.py``'s, the sections ``tempo_sections.py``'s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from groovesheet_worker.pipeline import rhythm_constants as C
from groovesheet_worker.pipeline.beat_tracker import autocorrelate
from groovesheet_worker.pipeline.downbeat import phase_scores
from groovesheet_worker.pipeline.pulse_evidence import (
    SIXTEENTHS,
    TRIPLETS,
    grid_offsets,
    in_tempo_range,
    level_score,
    pulse_evidence,
    reading_features,
    subdivision_of,
    weighed,
)
from groovesheet_worker.pipeline.pulse_tracking import (
    best_phase,
    even_pulses,
    median_bpm,
    track_pulses,
)
from groovesheet_worker.pipeline.rhythm_analysis import (
    KICK,
    RhythmAnalysis,
    Stroke,
    weight_by_pulse_in_cycle,
)
from groovesheet_worker.pipeline.tempo_steps import follow_tempo_steps, section_analysis
from groovesheet_worker.pipeline.time_signature import Meter

FOUR_FOUR = Meter(4, 4)
# Ratios of the strongest autocorrelation peaks that are candidates too.
RELATED_RATIOS: tuple[float, ...] = (2.0, 0.5, 1.5, 2 / 3, 4 / 3, 3 / 4)
# Tempo levels offered as the alternative reading (``PulseReading.alternative_ratio``).
ALTERNATIVE_RATIOS: tuple[float, ...] = (2.0, 0.5, 3.0, 1 / 3, 1.5, 2 / 3)
# Phases (fractions of a pulse) a tracked grid is also read at; 16ths only move by half a pulse.
PHASE_SHIFTS: tuple[float, ...] = (0.0, 0.5, 1 / 3, 2 / 3)
DUPLE_SHIFTS: tuple[float, ...] = (0.0, 0.5)


@dataclass(frozen=True)
class PulseReading:
    """The counted pulse: its tempo, how it divides (4: 16ths, 3: triplets), and its times.

    ``score`` rates the tempo level, ``phase_score`` whether these pulses (not the "and"s) are the beats.
    ``alternative_ratio``: another tempo level (x2, x1/2, x3, ...) that reads almost as well, as a
    ratio of ``bpm`` (None when none comes within ALTERNATIVE_TEMPO_MARGIN of this reading's score).
    """

    bpm: float
    subdivision: int
    pulses: np.ndarray
    score: float = 0.0
    evidence: dict[str, float] = field(default_factory=dict)
    phase_score: float = 0.0
    alternative_ratio: float | None = None


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
    tracked = [best_phase_reading(readings_at(analysis, envelope, bpm, subdivision_hint)) for bpm in tempi]
    contenders = {id(r) for r in sorted(tracked, key=lambda r: -r.score)[: C.STEADY_LEVEL_CANDIDATES]}
    readings = [steadier_level(analysis, envelope, r) if id(r) in contenders else r for r in tracked]
    readings += _relatives_of_the_best(analysis, envelope, readings, subdivision_hint)
    best = eighth_note_level(analysis, max(readings, key=lambda r: r.score), readings)
    best = compound_level(analysis, best, readings)
    chosen = replace(
        steadier_grid(analysis, envelope, best), alternative_ratio=alternative_level(best, readings)
    )
    return with_tempo_steps(analysis, chosen, subdivision_hint)


def eighth_note_level(
    analysis: RhythmAnalysis, best: PulseReading, readings: list[PulseReading]
) -> PulseReading:
    """``best``, or the best reading at half its tempo when ``best`` is fast (at least
    QUARTER_NOTE_READING_MIN_BPM), its notes are nearly all quarters (QUARTER_NOTE_SHARE) and the
    kick plays only every other one of its pulses (``kick_on_alternate_pulses``).

    A polka (the kick on the beats, the snare and hi-hat on the "and"s) reads as a backbeat at twice
    its tempo, every stroke a quarter, the kick on 1 and 3 and the snare on 2 and 4, and the score
    can prefer that; a drummer charts it in 8th notes, at the tempo where the kick is on every beat
    (a punk skank beat too). A fast punk beat with the kick on every quarter keeps its tempo.
    """
    coarse = best.evidence.get("coarse_notes", 0.0)
    if best.bpm < C.QUARTER_NOTE_READING_MIN_BPM or coarse < C.QUARTER_NOTE_SHARE:
        return best
    if not kick_on_alternate_pulses(analysis, best.pulses):
        return best
    halves = [r for r in readings if at_ratio(r, best, 0.5)]
    return max(halves, key=lambda r: r.score) if halves else best


def compound_level(
    analysis: RhythmAnalysis, best: PulseReading, readings: list[PulseReading]
) -> PulseReading:
    """``best``, or the best reading at a third of its tempo, its pulse divided in three, when
    ``best``'s notes are nearly all quarters (QUARTER_NOTE_SHARE) and the kick and the backbeat land
    together on every third of its pulses (``grouped_in_threes``).

    A slow 12/8 or 6/8 groove whose cymbal plays just the 8ths, with no triplet inside them to hear,
    reads as a run of quarters at three times its pulse, and the score can prefer that (the kick's
    strokes on the last 8th of a beat are then on the pulse too); a drummer charts it at the dotted
    quarter, in 8th-note triplets. A waltz keeps its tempo: its snare plays on 2 and 3, not with the
    kick on 1.
    """
    coarse = best.evidence.get("coarse_notes", 0.0)
    if coarse < C.QUARTER_NOTE_SHARE or not grouped_in_threes(analysis, best.pulses):
        return best
    thirds = [
        r
        for r in readings
        if at_ratio(r, best, 1 / 3) and r.subdivision == TRIPLETS and in_tempo_range(r.bpm)
    ]
    return max(thirds, key=lambda r: r.score) if thirds else best


def grouped_in_threes(analysis: RhythmAnalysis, pulses: np.ndarray) -> bool:
    """True when the kick and the backbeat strokes on ``pulses`` fall together on one pulse in three: at
    least GROUPED_IN_THREES_SHARE of their weight on pulses 0, 3, 6, ... (or 1, 4, 7, ..., or 2, 5, 8, ...)."""
    strokes = analysis.of_role(KICK) + analysis.backbeat_strokes()
    return on_one_pulse_in(strokes, pulses, 3, C.GROUPED_IN_THREES_SHARE)


def kick_on_alternate_pulses(analysis: RhythmAnalysis, pulses: np.ndarray) -> bool:
    """True when the kicks on ``pulses`` fall on every other one: at least ALTERNATE_PULSE_SHARE of
    their weight on the odd pulses, or on the even ones."""
    return on_one_pulse_in(analysis.of_role(KICK), pulses, 2, C.ALTERNATE_PULSE_SHARE)


def on_one_pulse_in(strokes: list[Stroke], pulses: np.ndarray, cycle: int, share: float) -> bool:
    """True when at least ``share`` of the weight of ``strokes`` on ``pulses`` falls on one pulse in
    every ``cycle`` (``weight_by_pulse_in_cycle``); never with fewer than MIN_BACKBEAT_STROKES strokes."""
    if len(strokes) < C.MIN_BACKBEAT_STROKES or len(pulses) < 2:
        return False
    shares = weight_by_pulse_in_cycle(strokes, pulses, cycle)
    return bool(shares.sum() > 0 and shares.max() >= share * shares.sum())


def with_tempo_steps(
    analysis: RhythmAnalysis, reading: PulseReading, subdivision_hint: int | None
) -> PulseReading:
    """``reading`` with each section that jumps to another tempo read on its own and joined in
    (``tempo_steps.follow_tempo_steps``)."""

    def read_section(section_of: RhythmAnalysis, start: float, bpm: float) -> np.ndarray | None:
        return section_pulses(section_of, start, bpm, subdivision_hint)

    pulses = follow_tempo_steps(analysis, reading.pulses, reading.subdivision, read_section)
    return reading if pulses is reading.pulses else replace(reading, pulses=pulses)


def section_pulses(
    analysis: RhythmAnalysis, start: float, bpm: float, subdivision_hint: int | None
) -> np.ndarray | None:
    """The pulses of the music from ``start`` on, read on its own at the tempo that reads best of
    its candidates within STEP_RATIO_RANGE of ``bpm`` (not its double or half); None if none is."""
    section = section_analysis(analysis, start)
    envelope = section.tracking_envelope()
    if envelope is None or len(section.strokes) < C.MIN_HITS_FOR_TRACKING:
        return None
    low, high = C.STEP_RATIO_RANGE
    tempi = [t for t in candidate_tempi(envelope, section.frame_rate) if low <= t / bpm <= high]
    readings = [best_phase_reading(readings_at(section, envelope, t, subdivision_hint)) for t in tempi]
    readings = [r for r in readings if low <= r.bpm / bpm <= high]
    return max(readings, key=lambda r: r.score).pulses if readings else None


def alternative_level(best: PulseReading, readings: list[PulseReading]) -> float | None:
    """The tempo level, of the best reading's relatives (ALTERNATIVE_RATIOS), that reads almost as
    well (within ALTERNATIVE_TEMPO_MARGIN of its score), as a ratio of its tempo; None if none does.

    Which octave a drummer counts is sometimes a convention (a polka in 2/4 at 120 or a backbeat at
    240, a skank beat at 92 or 185): the sheet offers the other reading rather than hide it.
    """
    relatives = [(r, ratio) for r in readings for ratio in ALTERNATIVE_RATIOS if at_ratio(r, best, ratio)]
    close = [(r, ratio) for r, ratio in relatives if best.score - r.score <= C.ALTERNATIVE_TEMPO_MARGIN]
    return max(close, key=lambda pair: pair[0].score)[1] if close else None


def at_ratio(reading: PulseReading, best: PulseReading, ratio: float) -> bool:
    """True when ``reading``'s tempo is ``ratio`` times ``best``'s, within ALTERNATIVE_MATCH_TOLERANCE."""
    return abs(reading.bpm / best.bpm / ratio - 1.0) <= C.ALTERNATIVE_MATCH_TOLERANCE


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


def steadier_level(
    analysis: RhythmAnalysis,
    envelope: np.ndarray,
    reading: PulseReading,
    ratios: tuple[float, ...] = C.STEADY_GRID_RATIOS,
    on_eighths: bool = False,
) -> PulseReading:
    """A candidate tempo's tracked pulses, or the steadiest even grid near it when the phase score
    prefers that, scored as it is: tempo levels are then compared on the pulses each would write.

    A tracker set going at the true tempo can drift a percent or two off it through a fill, its notes
    then sit off its grid while the tracker at double the tempo keeps up: a jazz-fusion groove at 96
    bpm tracked at 96.6 fitted 16ths at 0.81 against double time's 0.95, and was written at 192.
    ``ratios``: the tempos tried, as ratios of the reading's; ``on_eighths``: see ``steadiest_grid``.
    """
    even = steadiest_grid(analysis, envelope, reading.bpm, reading.subdivision, ratios, on_eighths)
    return best_phase_reading([reading, *even])


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
    notes better and stay; either way the chosen level keeps its score (``steadier_level`` scores
    the grid as it is). ``ratios``: the tempos tried, as ratios of the reading's.
    """
    best = steadier_level(analysis, envelope, reading, ratios, on_eighths=True)
    return best if best is reading else replace(best, score=reading.score)


def steadiest_grid(
    analysis: RhythmAnalysis,
    envelope: np.ndarray,
    bpm: float,
    subdivision_hint: int | None,
    ratios: tuple[float, ...] = C.STEADY_GRID_RATIOS,
    on_eighths: bool = False,
) -> list[PulseReading]:
    """The even grid, of those at ``bpm`` times each of ``ratios`` (by default up to 4 % either side
    of it: a grid 1 % off is half a beat off after 50 beats), that the strokes sit closest to
    (``grid_error`` at its best phase), laid on the strongest onsets and read at each phase. Only the
    chosen grid is read; the others are only measured. ``on_eighths``: laid on the strongest onsets
    or a 16th after them (``on_the_eighths``), as the chosen tempo's grid is; the candidate levels are
    compared on grids laid on the strongest onsets (laid on the 8ths there, a GMD rock at 110 was read
    in 3/4 at 83)."""
    grids = []
    for ratio in ratios:
        anchor = best_phase(envelope, analysis.frame_rate, 60.0 / (bpm * ratio))
        if on_eighths and subdivision_hint != TRIPLETS:
            anchor = on_the_eighths(analysis, bpm * ratio, anchor)
        shifted = phases(
            even_grid(analysis, bpm * ratio, anchor), bpm * ratio, analysis, subdivision_hint, False
        )
        grids.append((min(grid_error(pulses, sub, analysis) for pulses, sub, _ in shifted), ratio, anchor))
    _, ratio, anchor = min(grids, key=lambda grid: grid[0])
    return readings_at(analysis, envelope, bpm * ratio, subdivision_hint, anchor)


def on_the_eighths(analysis: RhythmAnalysis, bpm: float, anchor: float) -> float:
    """``anchor``, or a 16th after it, whichever lays an even grid at ``bpm`` with more of the strokes
    on its 8th notes (of those on its 16ths).

    The strongest onsets are not always on the beats: kicks on the "a" before them (a 16th early)
    put a grid laid on them a 16th off everywhere, and reading it at the "and"s only moves it by an
    8th. A groove's hi-hats and backbeat sit on 8th notes; a grid a 16th off puts them on the "e"s
    and "a"s.
    """
    period = 60.0 / bpm
    shares = []
    for shift in (0.0, 0.25):
        start = anchor + shift * period
        position, weight, off = grid_offsets(analysis, even_grid(analysis, bpm, start), SIXTEENTHS)
        on_sixteenths = off <= C.EIGHTH_NOTE_TOLERANCE
        on_eighths = on_sixteenths & (
            np.abs(position * 2 - np.round(position * 2)) / 2 <= C.EIGHTH_NOTE_TOLERANCE
        )
        total = float(weight[on_sixteenths].sum())
        shares.append((float(weight[on_eighths].sum()) / total if total > 0 else 0.0, -shift, start))
    return max(shares)[2]


def grid_error(pulses: np.ndarray, subdivision: int, analysis: RhythmAnalysis) -> float:
    """Weighed mean distance (pulses) of the strokes from the grid's nearest 16th or 8th-note triplet,
    each capped at GRID_ERROR_CAP so a flam or a stray hit counts as one miss."""
    _, weight, off = grid_offsets(analysis, pulses, subdivision)
    if not len(weight):
        return math.inf
    return float(np.sum(np.minimum(off, C.GRID_ERROR_CAP) * weight) / np.sum(weight))


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
        score = level_score(features, tracked_bpm)
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
        subdivision = subdivision_hint or subdivision_of(evidence)
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
            steadiest_grid(analysis, envelope, bpm, subdivision_hint, C.HINTED_GRID_RATIOS, on_eighths=True)
        )
    return with_tempo_steps(analysis, replace(reading, bpm=bpm), subdivision_hint)
