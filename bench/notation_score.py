"""Scores of one transcribed sheet against a piece's known score (``make eval-notation``).

- ``read_sheet``: the MusicXML as a drummer reads it: time signature, metronome marks by bar, and every
  note as (bar, position in beats as an exact fraction, instrument). A pickup (``implicit="yes"``
  first measure) is bar 0 and its notes sit at the end of the bar, as they are counted.
- ``true_notes``: the piece's strokes written on the true grid with the pipeline's own quantizer
  (16ths or 8th-note triplets per beat, one note per staff position and slot), so truth and sheet
  follow one notation convention and only the reading differs.
- ``notation_f``: F-measure over (bar, position, instrument), allowing the whole sheet to be one
  bar early or late; ``bars_fully_right``: the share of the true bars the sheet writes exactly.
- ``tempo_verdict``: right within 4 %, else the octave error it is (x2, x1/2, x3/2, ...).
- ``bar_one_right``: the sheet's bar lines fall on the true bar lines (bar 1's downbeat, as the
  events' times place it, within a fifth of a beat of a true bar line).
- ``hit_f``: onset F-measure of the found hits (events.json, before quantization) per instrument at
  +-50 ms: what the hit finder heard, to tell hearing errors from reading errors.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from groovesheet_worker.pipeline.quantize import place_hits
from groovesheet_worker.pipeline.types import DRUM_KEY, Hit, TempoGrid
from training.arrange import Stroke
from training.notation_pieces import Score

TEMPO_TOLERANCE = 0.04
OCTAVE_RATIOS: dict[str, float] = {
    "x2": 2.0,
    "x1/2": 0.5,
    "x3": 3.0,
    "x1/3": 1 / 3,
    "x3/2": 1.5,
    "x2/3": 2 / 3,
}
HIT_WINDOW_SECONDS = 0.05
BAR_LINE_TOLERANCE_BEATS = 0.2
# Notes one bar shift may move the whole sheet by.
BAR_SHIFTS = (0, -1, 1)
INSTRUMENT_BY_GM: dict[int, str] = {sound.gm: name for name, sound in DRUM_KEY.items()}
NOTE_VALUE_QUARTERS: dict[str, Fraction] = {
    "whole": Fraction(4),
    "half": Fraction(2),
    "quarter": Fraction(1),
    "eighth": Fraction(1, 2),
    "16th": Fraction(1, 4),
}

Note = tuple[int, Fraction, str]


@dataclass(frozen=True)
class Sheet:
    time_signature: str
    tempo_marks: tuple[tuple[int, float], ...]  # (bar, counted bpm), in order
    notes: tuple[Note, ...]

    @property
    def main_bpm(self) -> float:
        """The tempo written over the most bars."""
        if not self.tempo_marks:
            return 0.0
        last_bar = max([bar for bar, _, _ in self.notes] + [self.tempo_marks[-1][0]])
        span: Counter[float] = Counter()
        for k, (bar, bpm) in enumerate(self.tempo_marks):
            end = self.tempo_marks[k + 1][0] if k + 1 < len(self.tempo_marks) else last_bar + 1
            span[bpm] += max(1, end - bar)
        return span.most_common(1)[0][0]


def read_sheet(path: str | Path) -> Sheet:
    root = ET.parse(path).getroot()
    part = root.find("part")
    score_part = root.find("part-list/score-part")
    if part is None or score_part is None:
        raise ValueError(f"{path}: no drum part")
    instruments = {
        midi.get("id"): INSTRUMENT_BY_GM.get(int(midi.findtext("midi-unpitched") or 0) - 1, "unknown")
        for midi in score_part.findall("midi-instrument")
    }
    measures = part.findall("measure")
    first = measures[0]
    divisions = int(first.findtext("attributes/divisions") or 1)
    beats, beat_type = (
        int(first.findtext("attributes/time/beats") or 4),
        int(first.findtext("attributes/time/beat-type") or 4),
    )
    beat = Fraction(divisions * 4, beat_type)
    bar_length = beat * beats
    notes: list[Note] = []
    marks: list[tuple[int, float]] = []
    bar = 0 if first.get("implicit") == "yes" else 1
    for measure in measures:
        for metronome in measure.iterfind("direction/direction-type/metronome"):
            marks.append((max(bar, 1), float(metronome.findtext("per-minute") or 0)))
        onsets: list[tuple[Fraction, str]] = []
        cursor = last_start = Fraction(0)
        for element in measure:
            if element.tag == "backup":
                cursor -= int(element.findtext("duration") or 0)
            elif element.tag == "forward":
                cursor += int(element.findtext("duration") or 0)
            elif element.tag == "note" and element.find("grace") is None:
                length = Fraction(int(element.findtext("duration") or 0))
                start = last_start if element.find("chord") is not None else cursor
                if element.find("chord") is None:
                    last_start = cursor
                    cursor += length
                if element.find("rest") is None:
                    instrument = element.find("instrument")
                    name = instruments.get(
                        instrument.get("id") if instrument is not None else None, "unknown"
                    )
                    onsets.append((start, name))
        end = max(cursor, max((s for s, _ in onsets), default=Fraction(0)))
        measure_length = _measure_length(measure) or end
        lead = bar_length - measure_length if measure.get("implicit") == "yes" else Fraction(0)
        notes += [(bar, (lead + start) / beat, name) for start, name in onsets]
        bar += 1
    return Sheet(f"{beats}/{beat_type}", tuple(marks), tuple(notes))


def _measure_length(measure: ET.Element) -> Fraction:
    """Longest voice of the measure, in divisions."""
    cursor, longest = Fraction(0), Fraction(0)
    for element in measure:
        if element.tag == "backup":
            cursor -= int(element.findtext("duration") or 0)
        elif (
            element.tag in ("forward", "note")
            and element.find("chord") is None
            and element.find("grace") is None
        ):
            cursor += int(element.findtext("duration") or 0)
        longest = max(longest, cursor)
    return longest


def true_grid(score: Score) -> TempoGrid:
    return TempoGrid(
        bpm=score.bpm,
        beats=score.beats,
        downbeat=score.downbeat,
        beats_per_bar=score.beats_per_bar,
        beat_unit=score.beat_unit,
        pickup_beats=score.pickup_beats,
    )


def true_notes(strokes: tuple[Stroke, ...] | list[Stroke], score: Score) -> list[Note]:
    return notes_on([Hit(s.time, s.cls, 1.0, s.velocity) for s in strokes], true_grid(score))


def notes_on(hits: list[Hit], grid: TempoGrid) -> list[Note]:
    """``hits`` written on ``grid`` by the pipeline's quantizer, as (bar, position, instrument) notes."""
    return [
        (p.bar, Fraction(p.beat - 1) + Fraction(p.slot, p.division), p.hit.instrument)
        for p in place_hits(hits, grid)
    ]


@dataclass(frozen=True)
class NotationMatch:
    f: float
    shift: int
    bars_right: int
    bars_total: int


def notation_f(sheet: list[Note] | tuple[Note, ...], truth: list[Note]) -> NotationMatch:
    """F over (bar, position, instrument) at the best whole-bar shift, and the bars written exactly."""
    truth_count = Counter(truth)
    best: NotationMatch | None = None
    for shift in BAR_SHIFTS:
        moved = Counter((bar + shift, position, name) for bar, position, name in sheet)
        matched = sum((moved & truth_count).values())
        total = len(sheet) + len(truth)
        f = 2.0 * matched / total if total else 1.0
        right, bars = _bars_right(moved, truth_count)
        candidate = NotationMatch(f, shift, right, bars)
        if best is None or candidate.f > best.f + 1e-12:
            best = candidate
    assert best is not None
    return best


def _bars_right(sheet: Counter[Note], truth: Counter[Note]) -> tuple[int, int]:
    by_bar: dict[int, tuple[Counter, Counter]] = {}
    for (bar, position, name), count in truth.items():
        by_bar.setdefault(bar, (Counter(), Counter()))[1][(position, name)] += count
    for (bar, position, name), count in sheet.items():
        if bar in by_bar:
            by_bar[bar][0][(position, name)] += count
    right = sum(1 for written, true in by_bar.values() if written == true)
    return right, len(by_bar)


def tempo_verdict(written_bpm: float, true_bpm: float) -> str:
    """'right' within TEMPO_TOLERANCE, else the octave error it is, else 'wrong'."""
    ratio = written_bpm / true_bpm if true_bpm > 0 else 0.0
    if abs(ratio - 1.0) <= TEMPO_TOLERANCE:
        return "right"
    for name, octave in OCTAVE_RATIOS.items():
        if abs(ratio / octave - 1.0) <= TEMPO_TOLERANCE:
            return name
    return "wrong"


def written_bar_one_time(events_json: str | Path, beats_per_bar: int) -> float | None:
    """Time of the sheet's bar 1 downbeat, from where the events' times fall on their written beats.

    A straight line through (beats after bar 1's downbeat, time) over the hits of bars 1 to 3,
    refitted without the hits more than a quarter beat off it (a flam's first stroke, a hit the
    sheet pulled onto its first beat).
    """
    events = json.loads(Path(events_json).read_text())["events"]
    count = np.array([(e["bar"] - 1) * beats_per_bar + (e["beat"] - 1) for e in events], dtype=float)
    times = np.array([e["time"] for e in events], dtype=float)
    chosen = (count >= 0) & (count < 3 * beats_per_bar)
    if len(set(count[chosen].round(3))) < 2:
        return None
    # A first line from medians, which the pulled-in hits cannot drag, then a least-squares one.
    order = np.argsort(count[chosen])
    c, t = count[chosen][order], times[chosen][order]
    steps = np.diff(c) > 0
    slope = float(np.median(np.diff(t)[steps] / np.diff(c)[steps]))
    intercept = float(np.median(t - slope * c))
    chosen &= np.abs(times - (slope * count + intercept)) <= 0.25 * abs(slope)
    if len(set(count[chosen].round(3))) < 2:
        return intercept
    slope, intercept = np.polyfit(count[chosen], times[chosen], 1)
    return float(intercept)


def bar_one_right(bar_one_time: float | None, score: Score) -> bool:
    if bar_one_time is None:
        return False
    beats = np.asarray(score.beats)
    beat_seconds = float(np.median(np.diff(beats)))
    lines = beats[score.downbeat % score.beats_per_bar :: score.beats_per_bar]
    return bool(np.min(np.abs(lines - bar_one_time)) <= BAR_LINE_TOLERANCE_BEATS * beat_seconds)


def hit_f(events_json: str | Path, strokes: tuple[Stroke, ...] | list[Stroke]) -> tuple[int, int, int]:
    """(matched, found, true) onsets per instrument at +-HIT_WINDOW_SECONDS, summed over instruments."""
    return summed(hit_counts(events_json, strokes))


def summed(counts: dict[str, tuple[int, int, int]]) -> tuple[int, int, int]:
    """``hit_counts`` summed over instruments: (matched, found, true)."""
    matched, found, true = (sum(c[k] for c in counts.values()) for k in range(3))
    return matched, found, true


def hit_counts(
    events_json: str | Path, strokes: tuple[Stroke, ...] | list[Stroke]
) -> dict[str, tuple[int, int, int]]:
    """Per instrument: (matched, found, true) onsets at +-HIT_WINDOW_SECONDS."""
    return {
        name: (len(pairs), len(found), len(true))
        for name, (found, true, pairs) in _matched_by_instrument(events_json, strokes).items()
    }


def confusions(events_json: str | Path, strokes: tuple[Stroke, ...] | list[Stroke]) -> Counter:
    """(true instrument, written instrument) -> count: true strokes the sheet missed where it wrote
    another instrument within +-HIT_WINDOW_SECONDS that matches no true stroke of its own.

    A missed true stroke with nothing written there counts as (instrument, "nothing"); a written
    hit with no true stroke near it as ("nothing", instrument).
    """
    missed: list[tuple[float, str]] = []
    extra: list[tuple[float, str]] = []
    for name, (found, true, pairs) in _matched_by_instrument(events_json, strokes).items():
        found_matched, true_matched = {i for i, _ in pairs}, {j for _, j in pairs}
        extra += [(t, name) for i, t in enumerate(found) if i not in found_matched]
        missed += [(t, name) for j, t in enumerate(true) if j not in true_matched]
    out: Counter = Counter()
    taken: set[int] = set()
    for t, name in sorted(missed):
        near = [
            (abs(t - u), k)
            for k, (u, _) in enumerate(extra)
            if k not in taken and abs(t - u) <= HIT_WINDOW_SECONDS
        ]
        if near:
            k = min(near)[1]
            taken.add(k)
            out[(name, extra[k][1])] += 1
        else:
            out[(name, "nothing")] += 1
    for k, (_, name) in enumerate(extra):
        if k not in taken:
            out[("nothing", name)] += 1
    return out


def _matched_by_instrument(
    events_json: str | Path, strokes: tuple[Stroke, ...] | list[Stroke]
) -> dict[str, tuple[list[float], list[float], set[tuple[int, int]]]]:
    """Per instrument (sorted by name): the written and the true onset times, sorted, and which of them
    match one to one within +-HIT_WINDOW_SECONDS ((written, true) index pairs)."""
    events = json.loads(Path(events_json).read_text())["events"]
    out = {}
    for name in sorted({e["instrument"] for e in events} | {s.cls for s in strokes}):
        found = sorted(e["time"] for e in events if e["instrument"] == name)
        true = sorted(s.time for s in strokes if s.cls == name)
        out[name] = (found, true, matched_pairs(found, true))
    return out


def matched_pairs(found: list[float], true: list[float]) -> set[tuple[int, int]]:
    """One-to-one matching of sorted onsets within the window, closest pairs first: (found, true) indices."""
    pairs = []
    for i, f in enumerate(found):
        j = int(np.searchsorted(true, f - HIT_WINDOW_SECONDS))
        while j < len(true) and true[j] <= f + HIT_WINDOW_SECONDS:
            pairs.append((abs(f - true[j]), i, j))
            j += 1
    used_found: set[int] = set()
    used_true: set[int] = set()
    matched: set[tuple[int, int]] = set()
    for _, i, j in sorted(pairs):
        if i not in used_found and j not in used_true:
            used_found.add(i)
            used_true.add(j)
            matched.add((i, j))
    return matched
