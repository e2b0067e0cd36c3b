"""Bar lines: where bar 1 starts, and whether the music begins with a pickup.

Every possible bar phase (a beat of the bar, on a pulse in compound meters) is scored by what a
drummer hears as "one":

- the kick on beat 1 (and on the bar's other strong beat, beat 3 in 4/4), the snare on the
  backbeats and not on 1, the pedal hi-hat on the backbeats (jazz);
- the crash on 1, and accents on 1;
- fills: toms in the bar's last pulse lead into the next bar line, toms on 1 are rare;
- the opening: the song's first kick or crash is usually on 1, unless the hi-hat or ride was
  keeping time before it;
- in 4/4, where in the bar each instrument plays (the bar profile: kick on 1, snare on 2 and 4,
  an open hi-hat on the "and" of 4, ...), weighed by a template learnt from GMD's bars.

Scores are per bar of music, so a long song does not drown the opening. Bar 1 is then the first
bar line at or after the first stroke; strokes before it are a pickup bar of whole beats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from groovesheet_worker.pipeline import rhythm_constants as C
from groovesheet_worker.pipeline.rhythm_analysis import (
    CRASH,
    KICK,
    PEDAL,
    SNARE,
    TIME,
    TOM,
    RhythmAnalysis,
    Stroke,
    fractional_index,
)
from groovesheet_worker.pipeline.time_signature import Meter

DOWNBEAT_FEATURES: tuple[str, ...] = (
    "kick_on_one",
    "kick_on_strong_beat",
    "snare_on_one",
    "snare_on_backbeat",
    "pedal_on_backbeat",
    "crash_on_one",
    "tom_before_one",
    "tom_on_one",
    "accent_on_one",
    "opening",
)
# Roles whose place in a 4/4 bar the learnt bar profile weighs.
BAR_PROFILE_ROLES: tuple[str, ...] = (KICK, SNARE, "ghost", TIME, PEDAL, TOM, CRASH)
# Tolerance (beats) for a stroke to count as on a beat.
ON_BEAT = 0.15
# A stroke this much louder (MIDI velocity) than its instrument's median is accented.
ACCENT_VELOCITY_MARGIN = 15


@dataclass(frozen=True)
class BarStart:
    """Index in the beats of bar 1's first beat, the pickup's length in beats, and the phase scores."""

    downbeat: int
    pickup_beats: int
    phase_scores: dict[int, float] = field(default_factory=dict)


def strong_beats(meter: Meter) -> frozenset[int]:
    """Beats (0-based) besides 1 where the kick is at home."""
    return frozenset(
        {(4, 4): {2}, (12, 8): {6}, (5, 4): {3}, (7, 8): {4}, (6, 8): {3}}.get(
            (meter.beats_per_bar, meter.beat_unit), set()
        )
    )


def backbeats(meter: Meter) -> dict[int, float]:
    """Beats (0-based) where the snare's backbeat falls, with how sure the template is of each."""
    n = meter.beats_per_bar
    known: dict[tuple[int, int], dict[int, float]] = {
        (4, 4): {1: 1.0, 3: 1.0},
        (2, 4): {1: 1.0},
        (3, 4): {1: 0.5, 2: 0.5},
        (6, 8): {3: 1.0},
        (12, 8): {3: 1.0, 9: 1.0},
    }
    if (n, meter.beat_unit) in known:
        return known[(n, meter.beat_unit)]
    # Odd and long meters: the snare is somewhere after 1.
    return dict.fromkeys(range(1, n), 0.3)


def phase_candidates(meter: Meter, pulse_offset: int = 0) -> list[int]:
    """Beats (mod the bar) a bar may start on: every beat, or in compound meters every pulse's first.

    ``pulse_offset`` is the index of a pulse's first beat in the beats.
    """
    step = meter.beats_per_pulse
    return [p for p in range(meter.beats_per_bar) if p % step == pulse_offset % step]


def choose_bar_start(
    beats: np.ndarray, analysis: RhythmAnalysis, meter: Meter, pulse_offset: int = 0
) -> BarStart:
    """Bar 1's downbeat and the pickup before it (module docstring); beats[pulse_offset] starts a pulse."""
    strokes = [s for s in analysis.strokes if s.weight > 0]
    if len(beats) < 2 or not strokes:
        first_beat = int(np.searchsorted(beats, 0.0 - 1e-9)) if len(beats) else 0
        return BarStart(max(0, first_beat), 0)
    scores = phase_scores(beats, strokes, meter, pulse_offset)
    phase = max(scores, key=lambda p: (scores[p], -p))
    first = float(fractional_index(beats, strokes[0].time)[0])
    n = meter.beats_per_bar
    first_beat = math.floor(first + ON_BEAT)
    downbeat = first_beat + (phase - first_beat) % n
    pickup = downbeat - first_beat
    # A pickup is whole beats from a pulse in compound meters (three eighths, not two).
    if pickup and meter.beats_per_pulse > 1:
        pickup = min(n - 1, math.ceil(pickup / meter.beats_per_pulse) * meter.beats_per_pulse)
    while downbeat - pickup < 0:
        downbeat += n
    return BarStart(int(downbeat), int(pickup), scores)


def phase_scores(
    beats: np.ndarray, strokes: list[Stroke], meter: Meter, pulse_offset: int = 0
) -> dict[int, float]:
    """How strongly each candidate phase (beats 0..n-1) says "the bar starts here": weights times features."""
    weights = C.DOWNBEAT_WEIGHTS | C.BAR_PROFILE_WEIGHTS
    return {
        phase: sum(weights.get(name, 0.0) * value for name, value in features.items())
        for phase, features in phase_features(beats, strokes, meter, pulse_offset).items()
    }


def phase_features(
    beats: np.ndarray, strokes: list[Stroke], meter: Meter, pulse_offset: int = 0
) -> dict[int, dict[str, float]]:
    """Per candidate phase, the evidence per bar of music that the bar starts there (module docstring)."""
    n = meter.beats_per_bar
    position = fractional_index(beats, np.array([s.time for s in strokes]))
    candidates = phase_candidates(meter, pulse_offset)
    features = {phase: dict.fromkeys(DOWNBEAT_FEATURES, 0.0) for phase in candidates}
    medians = _median_velocities(strokes)
    strong, back = strong_beats(meter), backbeats(meter)
    fill_start = n - C.FILL_PULSES * meter.beats_per_pulse
    for stroke, pos in zip(strokes, position, strict=True):
        nearest = round(pos)
        on_beat = abs(pos - nearest) <= ON_BEAT
        accented = (
            stroke.velocity is not None
            and stroke.role in medians
            and stroke.velocity >= medians[stroke.role] + ACCENT_VELOCITY_MARGIN
        )
        for phase in candidates:
            beat = (nearest - phase) % n
            into = features[phase]
            if stroke.role == TOM:
                if (pos - phase) % n >= fill_start:
                    into["tom_before_one"] += stroke.weight
                if on_beat and beat == 0:
                    into["tom_on_one"] += stroke.weight
            if not on_beat:
                continue
            if stroke.role == KICK:
                into["kick_on_one"] += stroke.weight * (beat == 0)
                into["kick_on_strong_beat"] += stroke.weight * (beat in strong)
            elif stroke.role == SNARE and not stroke.is_ghost:
                into["snare_on_one"] += stroke.weight * (beat == 0)
                into["snare_on_backbeat"] += stroke.weight * back.get(beat, 0.0)
            elif stroke.role == PEDAL:
                into["pedal_on_backbeat"] += stroke.weight * back.get(beat, 0.0)
            elif stroke.role == CRASH:
                into["crash_on_one"] += stroke.weight * (beat == 0)
            if accented and beat == 0 and stroke.role != CRASH:
                into["accent_on_one"] += stroke.weight
    bars = max(1.0, (position.max() - position.min()) / n)
    for into in features.values():
        for name in into:
            into[name] /= bars
    if (meter.beats_per_bar, meter.beat_unit) == (4, 4):
        for phase in candidates:
            features[phase] |= bar_profile(position - phase, strokes)
    opening = _opening_phase(strokes, position, n)
    if opening is not None:
        nearest_candidate = min(candidates, key=lambda p: min((opening - p) % n, (p - opening) % n))
        features[nearest_candidate]["opening"] = 1.0
    return features


def bar_profile(position: np.ndarray, strokes: list[Stroke]) -> dict[str, float]:
    """Where in a 4/4 bar each role plays: its share of weight on each of the bar's 16ths.

    ``position`` is each stroke's place in beats from a bar line; ``kick@0/16`` is the kick on 1,
    ``snare@4/16`` the snare on 2. The template these are weighed by is learnt from GMD's bars.
    """
    steps = position * 4
    on_grid = np.abs(steps - np.round(steps)) <= ON_BEAT * 4 / 2
    slot = np.round(steps).astype(int) % 16
    roles = np.array(["ghost" if s.role == SNARE and s.is_ghost else s.role for s in strokes])
    weight = np.array([s.weight for s in strokes])
    profile: dict[str, float] = {}
    for role in BAR_PROFILE_ROLES:
        mine = roles == role
        total = float(weight[mine].sum())
        shares = np.bincount(slot[mine & on_grid], weights=weight[mine & on_grid], minlength=16)
        for k in range(16):
            profile[f"{role}@{k}/16"] = float(shares[k] / total) if total else 0.0
    return profile


def bar_profile_features() -> list[str]:
    return [f"{role}@{k}/16" for role in BAR_PROFILE_ROLES for k in range(16)]


def _median_velocities(strokes: list[Stroke]) -> dict[str, float]:
    by_role: dict[str, list[int]] = {}
    for stroke in strokes:
        if stroke.velocity is not None:
            by_role.setdefault(stroke.role, []).append(stroke.velocity)
    return {role: float(np.median(v)) for role, v in by_role.items() if len(v) >= 4}


def _opening_phase(strokes: list[Stroke], position: np.ndarray, n: int) -> int | None:
    """Beat of the bar (0..n-1) of the song's first kick or crash, if it is on a beat and the groove
    starts with it.

    A kick or crash after the hi-hat or ride has already been keeping time is the groove's next
    stroke, not its opening: a groove that began with hi-hat 8ths and a snare on 2 and had its first
    kick on 3 had the opening point bar 1 there.
    """
    for k, (stroke, pos) in enumerate(zip(strokes, position, strict=True)):
        if stroke.role in (KICK, CRASH) and not stroke.is_ghost:
            time_kept = any(
                s.role == TIME and p < pos - ON_BEAT for s, p in zip(strokes[:k], position[:k], strict=True)
            )
            if time_kept or abs(pos - round(pos)) > ON_BEAT:
                return None
            return round(pos) % n
    return None
