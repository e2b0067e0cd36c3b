"""Meter: the time signature a drummer's chart would show, from how the groove repeats.

The hits of the groove (kick, snare, time-keeping cymbal, pedal hi-hat; loudness included, so
accents count) are laid on the pulse grid at its subdivision. The groove's period is the shortest
bar length, in pulses, after which the pattern repeats about as well as it ever does
(``repetition``: how much of the pattern one bar later is the same); a length other than 4/4's
(or its halves and doubles) has to repeat clearly better than those. The period names the meter:

- 3 pulses: 3/4; 5: 5/4; 3.5 (seven eighths): 7/8; 4 or 8: 4/4 (12/8 when compound).
- 2 pulses (or 1): 2/4 when the kick is on every pulse, louder on every other one, and no snare
  backbeat answers it (a polka's oom-pah, a march, a samba's surdo); otherwise half of a 4/4 bar,
  as a rock beat is written. Without loudness (a hit finder that cannot hear it) that is 4/4. In a compound meter a
  two-pulse groove is 6/8.
- 1 pulse (every pulse alike): nothing in the groove marks a bar, so 4/4, or 6/8 when compound.

A pulse divided in three is compound (6/8, 12/8) when it is slower than COMPOUND_MAX_PULSE_BPM and
its cymbal plays the middle triplet too; faster, or swung (the cymbal on the first and last triplet
only), it is a shuffle or a jazz ride, written in x/4 with triplets. Downbeat placement and the
pickup are ``downbeat.py``'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from groovesheet_worker.pipeline import rhythm_constants as C
from groovesheet_worker.pipeline.pulse_evidence import TRIPLETS
from groovesheet_worker.pipeline.rhythm_analysis import (
    GROOVE_ROLES,
    KICK,
    RhythmAnalysis,
    fractional_index,
    weight_on_alternate_pulses,
)
from groovesheet_worker.pipeline.tempo import PulseReading
from groovesheet_worker.pipeline.time_signature import Meter

# Bar lengths (pulses) a groove's period is looked for at, shortest first.
DUPLE_PERIODS: tuple[float, ...] = (1, 2, 3, 3.5, 4, 5, 6, 7, 8)
TRIPLE_PERIODS: tuple[float, ...] = (1, 2, 3, 4, 6, 8)
# Bar lengths (pulses) of 4/4 and its halves and doubles; any other needs ODD_PERIOD_MARGIN.
COMMON_PERIODS: frozenset[float] = frozenset({1, 2, 4, 8})
# A 7-pulse period is 7/8 when the pulse is this fast (it is then the eighth), else not a meter we write.
SEVEN_EIGHTHS_MIN_PULSE_BPM = 160.0


@dataclass(frozen=True)
class MeterReading:
    """The time signature, and how each tracked pulse splits into its beats (beat_unit notes)."""

    meter: Meter
    beats_per_tracked_pulse: int
    evidence: dict[str, float] = field(default_factory=dict)


def choose_meter(analysis: RhythmAnalysis, reading: PulseReading) -> MeterReading:
    """The meter of the groove on ``reading``'s pulses (see the module docstring)."""
    compound = is_compound(reading)
    matrix = groove_matrix(reading.pulses, analysis, reading.subdivision)
    periods = TRIPLE_PERIODS if reading.subdivision == TRIPLETS else DUPLE_PERIODS
    scores = {p: repetition(matrix, p, reading.subdivision) for p in periods}
    scores = {p: s for p, s in scores.items() if s is not None}
    evidence: dict[str, float] = {f"repeats_{p:g}": s for p, s in scores.items()}
    if not scores:
        return hinted_meter(Meter(6, 8) if compound else Meter(4, 4), reading, evidence)
    period = groove_period(scores)
    evidence["period"] = float(period)
    two_beat_bar = (
        period in (1, 2)
        and kick_on_every_pulse(analysis, reading)
        and kick_accents_alternate(analysis, reading)
        and not has_backbeat(analysis, reading)
    )
    if two_beat_bar:
        period = 2
    evidence["two_beat_bar"] = float(two_beat_bar)
    return hinted_meter(meter_for_period(period, compound, two_beat_bar, reading.bpm), reading, evidence)


def is_compound(reading: PulseReading) -> bool:
    """True when ``reading``'s pulse is a compound meter's dotted quarter: divided in three, slower
    than COMPOUND_MAX_PULSE_BPM, and not swung (``swung``)."""
    return reading.subdivision == TRIPLETS and reading.bpm < C.COMPOUND_MAX_PULSE_BPM and not swung(reading)


def swung(reading: PulseReading) -> bool:
    """True when the time-keeping cymbal plays a swing on ``reading``'s triplets: at least
    SWING_OUTER_SHARE of its weight on the first and the last triplet of the pulse, at most
    SWING_MIDDLE_SHARE on the middle one.

    A compound meter's cymbal plays all three 8ths of a dotted quarter; a swing or a shuffle skips
    the middle triplet, and a drummer writes it in x/4 with triplets however slow it is (jazz at 94
    is not 6/8).
    """
    first, middle, last = (reading.evidence.get(f"time@{k}/{TRIPLETS}", 0.0) for k in range(TRIPLETS))
    return first + last >= C.SWING_OUTER_SHARE and middle <= C.SWING_MIDDLE_SHARE


def groove_period(scores: dict[float, float]) -> float:
    """The groove's bar length in pulses, from how well it repeats at each length.

    Four-pulse bars and their halves and doubles (1, 2, 4, 8) are the rule; another length (3, 3.5,
    5, 6, 7) is chosen only when it repeats clearly better than all of them (ODD_PERIOD_MARGIN).
    Among the chosen family, the shortest length within PERIOD_TOLERANCE of the family's best;
    lengths up to MAX_SHORT_PERIOD set that best unless a longer one repeats clearly better
    (LONG_PERIOD_MARGIN): over long lags, phrase marks (a crash every four bars, a fill before it)
    repeat too and flatter the longer lengths.
    """
    common = {p: r for p, r in scores.items() if p in COMMON_PERIODS}
    odd = {p: r for p, r in scores.items() if p not in COMMON_PERIODS}
    if odd and (not common or max(odd.values()) >= max(common.values()) + C.ODD_PERIOD_MARGIN):
        return _shortest_of(odd)
    return _shortest_of(common or odd)


def _shortest_of(scores: dict[float, float]) -> float:
    short = [r for p, r in scores.items() if p <= C.MAX_SHORT_PERIOD]
    best = max(short) if short else max(scores.values())
    longer = [r for p, r in scores.items() if p > C.MAX_SHORT_PERIOD]
    if longer and max(longer) > best + C.LONG_PERIOD_MARGIN:
        best = max(longer)
    return next(p for p in sorted(scores) if scores[p] >= best - C.PERIOD_TOLERANCE)


def hinted_meter(
    meter: Meter, reading: PulseReading, evidence: dict[str, float] | None = None
) -> MeterReading:
    """``meter`` on ``reading``'s pulses: how many of its beats each tracked pulse holds."""
    if meter.is_compound:
        split = meter.beats_per_pulse
    elif meter.beat_unit == 8:
        # x/8 counted in eighths: a tracked pulse slower than an eighth can be is a quarter.
        split = C.EIGHTHS_PER_QUARTER if reading.bpm < SEVEN_EIGHTHS_MIN_PULSE_BPM else 1
    else:
        split = 1
    return MeterReading(meter, split, evidence or {})


def meter_for_period(period: float, compound: bool, two_beat_bar: bool, pulse_bpm: float) -> Meter:
    """The time signature a groove repeating every ``period`` pulses is written in (module docstring).

    ``two_beat_bar``: the kick on every pulse and no snare backbeat (a polka, a march, a samba), which
    makes a two-pulse groove 2/4 rather than half of a 4/4 bar.
    """
    if compound:
        return Meter(12, 8) if period in (4, 8) else Meter(3, 4) if period == 3 else Meter(6, 8)
    if period == 2:
        return Meter(2, 4) if two_beat_bar else Meter(4, 4)
    if period in (3, 6):
        return Meter(3, 4)
    if period == 3.5 or (period == 7 and pulse_bpm >= SEVEN_EIGHTHS_MIN_PULSE_BPM):
        return Meter(7, 8)
    if period == 5:
        return Meter(5, 4)
    return Meter(4, 4)


def groove_matrix(pulses: np.ndarray, analysis: RhythmAnalysis, subdivision: int) -> np.ndarray:
    """(groove roles, grid steps) weights of the groove's strokes on the pulse grid at ``subdivision``."""
    strokes = [s for s in analysis.strokes if s.role in GROOVE_ROLES]
    if len(pulses) < 2 or not strokes:
        return np.zeros((len(GROOVE_ROLES), 0))
    steps = np.round(fractional_index(pulses, np.array([s.time for s in strokes])) * subdivision).astype(int)
    steps -= steps.min()
    matrix = np.zeros((len(GROOVE_ROLES), int(steps.max()) + 1))
    for stroke, step in zip(strokes, steps, strict=True):
        matrix[GROOVE_ROLES.index(stroke.role), step] += stroke.weight
    return matrix


def repetition(matrix: np.ndarray, period: float, subdivision: int) -> float | None:
    """How much of the pattern is the same ``period`` pulses later (0..1); None when too short to tell.

    The share of stroke weight matched one period on (the smaller of the two weights at each grid
    step and role), over the part of the song that has music at both ends. Two full periods of
    music are needed.
    """
    lag = period * subdivision
    if lag != int(lag) or matrix.shape[1] < 2 * lag + 1:
        return None
    lag = int(lag)
    here, later = matrix[:, :-lag], matrix[:, lag:]
    total = 0.5 * float((here + later).sum())
    return float(np.minimum(here, later).sum() / total) if total > 0 else None


def kick_on_every_pulse(analysis: RhythmAnalysis, reading: PulseReading) -> bool:
    """True when nearly every pulse, from the first stroke to the last, has a kick on it."""
    kicks = analysis.of_role(KICK)
    if len(kicks) < C.MIN_BACKBEAT_STROKES or len(reading.pulses) < 2:
        return False
    position = fractional_index(reading.pulses, np.array([s.time for s in kicks]))
    on_pulse = {round(p) for p in position.tolist() if abs(p - round(p)) <= C.GRID_TOLERANCE}
    first, last = (float(v) for v in fractional_index(reading.pulses, np.array(analysis.played_span)))
    pulses = range(int(np.ceil(first - C.GRID_TOLERANCE)), int(np.floor(last + C.GRID_TOLERANCE)) + 1)
    return len(pulses) > 0 and len(on_pulse & set(pulses)) >= C.KICK_ON_EVERY_PULSE_SHARE * len(pulses)


def kick_accents_alternate(analysis: RhythmAnalysis, reading: PulseReading) -> bool:
    """True when the kicks on every other pulse are clearly louder (an "oom-pah": the bar's one).

    Louder by KICK_ACCENT_RATIO in the median, and bar after bar: the accented kick is louder (by
    ACCENT_PAIR_MARGIN) than the next pulse's in KICK_ACCENT_CONSISTENCY of the pairs. A hit finder's
    uneven loudness can tip the medians of an even kick (a GMD skank beat heard 91 against 78.5, the
    accented kick louder in 67 % of its bars); a polka's accent holds in 80-100 % of them.
    """
    kicks = [s for s in analysis.of_role(KICK) if s.velocity is not None]
    if len(kicks) < 2 * C.MIN_BACKBEAT_STROKES or len(reading.pulses) < 2:
        return False
    position = fractional_index(reading.pulses, np.array([s.time for s in kicks]))
    on_pulse = np.abs(position - np.round(position)) <= C.GRID_TOLERANCE
    pulse = np.round(position[on_pulse]).astype(int)
    parity = pulse % 2
    velocity = np.array([s.velocity for s in kicks], dtype=float)[on_pulse]
    if not (np.any(parity == 0) and np.any(parity == 1)):
        return False
    median = [float(np.median(velocity[parity == k])) for k in (0, 1)]
    accented = int(np.argmax(median))
    if max(median) < min(median) * (1.0 + C.KICK_ACCENT_RATIO):
        return False
    loudest: dict[int, float] = {}
    for k, v in zip(pulse.tolist(), velocity.tolist(), strict=True):
        loudest[k] = max(loudest.get(k, 0.0), v)
    pairs = [(v, loudest[k + 1]) for k, v in loudest.items() if k % 2 == accented and k + 1 in loudest]
    louder = [v > after * (1.0 + C.ACCENT_PAIR_MARGIN) for v, after in pairs]
    return bool(louder) and float(np.mean(louder)) >= C.KICK_ACCENT_CONSISTENCY


def has_backbeat(analysis: RhythmAnalysis, reading: PulseReading) -> bool:
    """True when the backbeat (main snares, else the pedal hi-hat) lands on pulses, on every other one.

    Snare figures and fills between the pulses do not hide a backbeat: it takes BACKBEAT_ON_PULSES of
    the strokes on pulses, and BACKBEAT_SHARE of those on one of the two alternating pulses.
    """
    snares = analysis.backbeat_strokes()
    if len(snares) < C.MIN_BACKBEAT_STROKES or len(reading.pulses) < 2:
        return False
    shares = weight_on_alternate_pulses(snares, reading.pulses)
    landed = float(shares.sum())
    if landed < C.BACKBEAT_ON_PULSES * sum(s.weight for s in snares):
        return False
    return bool(shares.max() >= C.BACKBEAT_SHARE * landed)
