"""What is played: Groove MIDI Dataset performances turned into labelled strokes, with variations.

A ``Performance`` is a list of strokes (time in seconds, class, MIDI velocity) with the tempo and bar
length it was played at. ``vary`` makes the drumming the data lacks, from the drumming it has: tempo
scaling, hi-hat swapped for ride, crashes on phrase starts, tom fills at phrase ends, open hi-hats
choked by the next closed stroke, pedal hi-hats under a ride pattern, and louder or softer playing.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from pathlib import Path

import mido
import numpy as np

from .classes import GMD_NOTES

GMD_DIR = Path(__file__).resolve().parents[2] / "shared" / "training" / "gmd"
# Tempo range the variations keep a performance in, bpm.
TEMPO_RANGE = (50.0, 240.0)


@dataclass(frozen=True)
class Stroke:
    time: float
    cls: str
    velocity: int


@dataclass(frozen=True)
class Performance:
    name: str
    bpm: float
    beats_per_bar: int
    duration: float
    strokes: tuple[Stroke, ...]

    @property
    def beat_seconds(self) -> float:
        return 60.0 / self.bpm


@dataclass(frozen=True)
class GmdEntry:
    path: Path
    bpm: float
    beats_per_bar: int
    style: str
    split: str
    duration: float
    beat_type: str


def gmd_entries(split: str, root: Path = GMD_DIR, min_seconds: float = 8.0) -> list[GmdEntry]:
    """The dataset's own split ('train', 'validation', 'test'), beats only above ``min_seconds``."""
    out = []
    with open(root / "info.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["split"] != split or float(row["duration"]) < min_seconds:
                continue
            out.append(
                GmdEntry(
                    path=root / row["midi_filename"],
                    bpm=float(row["bpm"]),
                    beats_per_bar=int(row["time_signature"].split("-")[0]),
                    style=row["style"],
                    split=split,
                    duration=float(row["duration"]),
                    beat_type=row["beat_type"],
                )
            )
    return out


def read_performance(entry: GmdEntry) -> Performance:
    """Every mapped note-on of the file, time in seconds (GMD files keep one tempo)."""
    mid = mido.MidiFile(entry.path)
    strokes = []
    t = 0.0
    for msg in mid:  # merged tracks, delta times in seconds
        t += msg.time
        if msg.type == "note_on" and msg.velocity > 0 and msg.note in GMD_NOTES:
            strokes.append(Stroke(round(t, 5), GMD_NOTES[msg.note], int(msg.velocity)))
    return Performance(entry.path.stem, entry.bpm, entry.beats_per_bar, t, tuple(strokes))


def excerpt(perf: Performance, start: float, length: float) -> Performance:
    """The strokes in [start, start + length), re-timed from 0 (bar lines move with it)."""
    kept = tuple(
        replace(s, time=round(s.time - start, 5)) for s in perf.strokes if start <= s.time < start + length
    )
    return replace(perf, duration=min(length, perf.duration - start), strokes=kept)


def _bar_starts(perf: Performance) -> np.ndarray:
    bar = perf.beat_seconds * perf.beats_per_bar
    return np.arange(0.0, perf.duration, bar)


def _near(times: np.ndarray, t: float, tol: float) -> bool:
    return bool(len(times)) and bool(np.min(np.abs(times - t)) < tol)


def vary(perf: Performance, rng: np.random.Generator) -> Performance:
    """One random variation of ``perf`` (see the module docstring); the labels follow every change."""
    strokes = list(perf.strokes)
    beat = perf.beat_seconds
    bar = beat * perf.beats_per_bar

    # Hi-hat becomes ride (jazz/rock ride patterns), keeping a foot on the hi-hat pedal on 2 and 4.
    if rng.random() < 0.25:
        bell = rng.random() < 0.15
        strokes = [
            replace(s, cls="ride_bell" if bell and rng.random() < 0.5 else "ride")
            if s.cls == "hihat_closed"
            else s
            for s in strokes
        ]
        if rng.random() < 0.6:
            for t in np.arange(beat, perf.duration, 2 * beat):
                strokes.append(
                    Stroke(float(t + rng.normal(0, 0.004)), "hihat_pedal", int(rng.integers(40, 90)))
                )

    # Open hi-hats: some closed strokes on off-beats open up.
    if rng.random() < 0.5:
        p_open = rng.uniform(0.05, 0.3)
        strokes = [
            replace(s, cls="hihat_open")
            if s.cls == "hihat_closed" and (s.time / (beat / 2)) % 2 > 0.5 and rng.random() < p_open
            else s
            for s in strokes
        ]

    bars = _bar_starts(perf)
    # Crashes (with a kick) on phrase starts.
    if rng.random() < 0.6:
        every = int(rng.choice([2, 4, 8]))
        for t in bars[::every]:
            if rng.random() < 0.8:
                v = int(rng.integers(80, 128))
                strokes.append(Stroke(float(t), "crash", v))
                if rng.random() < 0.7:
                    strokes.append(Stroke(float(t), "kick", int(rng.integers(70, 120))))

    # Tom fills: the last beat or two of some bars replaced by 16ths or 8ths down the toms.
    if rng.random() < 0.6:
        toms = ["tom_high", "tom_mid", "tom_floor"]
        for t0 in bars:
            if rng.random() > 0.3:
                continue
            beats = int(rng.choice([1, 2]))
            start, end = t0 + bar - beats * beat, t0 + bar
            strokes = [
                s for s in strokes if not (start <= s.time < end and s.cls not in ("kick", "hihat_pedal"))
            ]
            step = beat / int(rng.choice([2, 4, 3]))
            times = np.arange(start, end - 1e-6, step)
            order = sorted(rng.choice(3, size=len(times)))  # a fill moves down the kit
            for t, k in zip(times, order, strict=True):
                strokes.append(Stroke(float(t + rng.normal(0, 0.005)), toms[k], int(rng.integers(60, 127))))
                if rng.random() < 0.15:  # two toms at once (flat flam)
                    strokes.append(Stroke(float(t), toms[(k + 1) % 3], int(rng.integers(60, 127))))

    # Cross-stick instead of snare on some pieces (ballads, bossa).
    if rng.random() < 0.12:
        strokes = [
            replace(s, cls="cross_stick") if s.cls == "snare" and s.velocity < 100 else s for s in strokes
        ]

    # Louder or softer playing overall.
    scale = rng.uniform(0.75, 1.25)
    strokes = [replace(s, velocity=int(np.clip(round(s.velocity * scale), 1, 127))) for s in strokes]

    # Tempo scaling within TEMPO_RANGE.
    lo, hi = TEMPO_RANGE[0] / perf.bpm, TEMPO_RANGE[1] / perf.bpm
    factor = float(np.clip(rng.uniform(0.8, 1.25), lo, hi))
    strokes = sorted(
        (
            replace(s, time=round(max(0.0, s.time) / factor, 5))
            for s in strokes
            if 0.0 <= s.time < perf.duration
        ),
        key=lambda s: s.time,
    )
    return replace(perf, bpm=perf.bpm * factor, duration=perf.duration / factor, strokes=tuple(strokes))
