"""Pulse evidence: how the strokes sit on a pulse grid, and the score of a tempo reading.

``pulse_evidence`` measures, from the classified strokes, what ``tempo.read_pulse`` weighs for each
reading (tempo.py's docstring lists the terms): the notes' fit to 16ths or triplets, the pulses with a
stroke on them, the kick and the time-keeping cymbal on the pulse, where the backbeat lands and how
it is spaced, the note values, and where in the pulse each instrument plays (the pulse profile).
``reading_features`` turns the evidence into the score's terms and ``reading_score`` weighs them with
``rhythm_constants.READING_WEIGHTS`` and ``PULSE_PROFILE_WEIGHTS``, with a broad tempo prior.
"""

from __future__ import annotations

import math

import numpy as np

from groovesheet_worker.pipeline import rhythm_constants as C
from groovesheet_worker.pipeline.rhythm_analysis import (
    CRASH,
    KICK,
    SNARE,
    TIME,
    RhythmAnalysis,
    Stroke,
    fractional_index,
)

SIXTEENTHS, TRIPLETS = 4, 3
# Roles whose place in the pulse (on it, on its 16ths or triplets) the reading's score weighs.
PROFILE_ROLES: tuple[str, ...] = ("kick", "snare", "ghost", "time", "pedal", "tom")
# A reading outside TEMPO_RANGE (a tracker that wandered off) is never chosen.
OUT_OF_RANGE_PENALTY = 100.0


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


def grid_offsets(
    analysis: RhythmAnalysis, pulses: np.ndarray, subdivision: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each stroke inside ``pulses``: its fractional pulse index, its weight, and its distance (pulses)
    from the nearest 16th or 8th-note triplet of them."""
    strokes = [s for s in analysis.strokes if pulses[0] <= s.time <= pulses[-1]]
    if len(pulses) < 2 or not strokes:
        empty = np.zeros(0)
        return empty, empty, empty
    step = TRIPLETS if subdivision == TRIPLETS else SIXTEENTHS
    position = fractional_index(pulses, np.array([s.time for s in strokes]))
    off = np.abs(position * step - np.round(position * step)) / step
    return position, np.array([s.weight for s in strokes]), off


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


def subdivision_of(evidence: dict[str, float]) -> int:
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
    return level_score(reading_features(evidence, subdivision, bpm), bpm)


def level_score(features: dict[str, float], bpm: float) -> float:
    """``reading_score`` of features already computed (``reading_features``) for a reading at ``bpm``."""
    return weighed(features, C.READING_WEIGHTS | C.PULSE_PROFILE_WEIGHTS) - _range_penalty(bpm)


def weighed(features: dict[str, float], weights: dict[str, float]) -> float:
    return sum(weights.get(name, 0.0) * value for name, value in features.items())


def _range_penalty(bpm: float) -> float:
    return 0.0 if in_tempo_range(bpm) else OUT_OF_RANGE_PENALTY


def in_tempo_range(bpm: float) -> bool:
    """True when ``bpm`` is in TEMPO_RANGE, give or take the candidates' merge ratio."""
    low, high = C.TEMPO_RANGE
    return low * (1 - C.CANDIDATE_MERGE_RATIO) <= bpm <= high * (1 + C.CANDIDATE_MERGE_RATIO)


def tempo_prior(bpm: float, subdivision: int) -> float:
    """Log-normal log-prior of a counted pulse; a slow pulse divided in three is a compound meter's."""
    compound = subdivision == TRIPLETS and bpm < C.COMPOUND_MAX_PULSE_BPM
    centre = C.COMPOUND_PRIOR_CENTRE_BPM if compound else C.PRIOR_CENTRE_BPM
    return -0.5 * (math.log2(bpm / centre) / C.PRIOR_OCTAVES) ** 2
