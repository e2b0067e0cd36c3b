"""Pieces with a known score, for the notation benchmark (``make eval-notation``) and the tests.

A ``NotationPiece`` is a performance (strokes in seconds, ``arrange.Performance``) together with its
``Score``: the time signature, the counted tempo, every beat's time and which beat starts bar 1.
Two sources:

- ``gmd_piece``: an excerpt of a Groove MIDI Dataset performance. The drummers played to a click, so
  bar 1 starts at t = 0 of each file at one tempo; the excerpt starts on a bar line. Half of them get
  ``arrange.vary`` (tempo, ride for hi-hat, crashes, fills).
- ``generated_piece``: a groove of ``notation_grooves`` arranged into phrases: a crash on phrase starts,
  a fill at phrase ends, an opening crash, sometimes a pickup before bar 1 and a tempo that moves by
  a section, humanised in time and loudness.

``render_piece`` plays a piece on one kit (classes the kit lacks come from a synthesised kit) and
passes it through ``augment`` (EQ, room, compression, noise).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np

from groovesheet_worker.pipeline.time_signature import parse_time_signature

from .arrange import GmdEntry, Performance, Stroke, excerpt, read_performance, vary
from .augment import augment
from .classes import CLASSES
from .kit import Kit
from .notation_grooves import Groove
from .render import render

# Each stroke moves by a normal timing error with this standard deviation (seconds, drawn per piece).
TIMING_SD_RANGE = (0.003, 0.010)
# A drummer's snare sits a little behind the beat, the kick a little ahead (seconds, drawn per piece).
SNARE_LAG_RANGE = (0.0, 0.012)
VELOCITY_SD = 7.0
# How long generated pieces are: about this many seconds, within these many bars.
PIECE_SECONDS = 22.0
PIECE_BARS = (4, 16)
# Phrases are this many bars; bars longer than LONG_BAR_SECONDS make two-bar phrases.
PHRASE_BARS = 4
LONG_BAR_SECONDS = 4.0
TOMS = ("tom_high", "tom_mid", "tom_floor")
TIMEKEEPERS = ("hihat_closed", "hihat_open", "ride", "ride_bell")
# A section of a drifting piece moves the tempo by this much (fraction), up or down.
DRIFT_RANGE = (0.06, 0.10)


@dataclass(frozen=True)
class Score:
    """What the sheet should say about time: the truth a transcription is scored against.

    ``bpm`` is the counted pulse (quarters in x/4, dotted quarters in 6/8 and 12/8, eighths in 7/8),
    the median over the piece; ``beats`` are the beat-unit times in seconds; ``downbeat`` is the
    index in ``beats`` of bar 1's first beat; ``pickup_beats`` beats before it are a pickup bar.
    """

    time_signature: str
    bpm: float
    beats: tuple[float, ...]
    downbeat: int
    pickup_beats: int = 0

    @property
    def beats_per_bar(self) -> int:
        return int(self.time_signature.split("/")[0])

    @property
    def beat_unit(self) -> int:
        return int(self.time_signature.split("/")[1])


@dataclass(frozen=True)
class NotationPiece:
    name: str
    style: str
    performance: Performance
    score: Score


@dataclass(frozen=True)
class _Arrangement:
    """Choices made for one generated piece."""

    bars: int
    pickup_beats: int
    crash_every: int  # bars between phrase-start crashes (0: none)
    opening_crash: bool
    fills: bool
    drift_at: int  # bar where the tempo moves (0: it never does)
    drift: float


def beats_per_pulse(time_signature: str) -> int:
    """Beats in the counted pulse: 3 (a dotted quarter) in 6/8, 9/8, 12/8, else 1 (the worker's Meter)."""
    return parse_time_signature(time_signature).beats_per_pulse


def gmd_piece(entry: GmdEntry, rng: np.random.Generator, seconds: float, varied: bool) -> NotationPiece:
    """A bar-aligned excerpt of ``entry`` about ``seconds`` long, varied or as played."""
    perf = read_performance(entry)
    bar = perf.beat_seconds * perf.beats_per_bar
    bars_in_file = int(perf.duration // bar)
    bars = max(1, min(bars_in_file, round(seconds / bar)))
    first = int(rng.integers(0, max(1, bars_in_file - bars + 1)))
    perf = excerpt(perf, first * bar, bars * bar)
    if varied:
        perf = vary(perf, rng)
    beat = perf.beat_seconds
    beats = tuple(float(b) for b in np.arange(-4, perf.duration / beat + 4) * beat)
    score = Score(f"{perf.beats_per_bar}/4", perf.bpm, beats, downbeat=4)
    style = entry.style.split("/")[0] + (" varied" if varied else "")
    return NotationPiece(f"gmd {entry.path.stem}", style, perf, score)


def generated_piece(
    groove: Groove, rng: np.random.Generator, *, pickup: bool | None = None, drift: bool = False
) -> NotationPiece:
    """``groove`` arranged, timed and humanised from ``rng`` (``pickup`` None: drawn at random)."""
    bpm = float(rng.uniform(*groove.bpm_range))
    beat_seconds = 60.0 / (bpm * beats_per_pulse(groove.time_signature))
    bar_seconds = beat_seconds * groove.beats_per_bar
    bars = int(np.clip(round(PIECE_SECONDS / bar_seconds), *PIECE_BARS))
    phrase = PHRASE_BARS if bar_seconds < LONG_BAR_SECONDS else 2
    with_pickup = bool(rng.random() < 0.3) if pickup is None else pickup
    arrangement = _Arrangement(
        bars=bars,
        pickup_beats=_pickup_length(groove, rng) if with_pickup else 0,
        crash_every=int(rng.choice([0, phrase, phrase, 2 * phrase])),
        opening_crash=bool(rng.random() < 0.6),
        fills=bool(rng.random() < 0.75),
        drift_at=(2 * bars) // 3 if drift else 0,
        drift=float(rng.uniform(*DRIFT_RANGE) * rng.choice([-1.0, 1.0])),
    )
    written = _arrange(groove, arrangement, phrase, rng)
    beats = _beat_times(groove, arrangement, beat_seconds)
    strokes = _humanise(written, beats, arrangement.pickup_beats, rng)
    duration = beats[arrangement.pickup_beats + arrangement.bars * groove.beats_per_bar]
    tempi = 60.0 / np.diff(beats) / beats_per_pulse(groove.time_signature)
    performance = Performance(
        name=groove.style,
        bpm=float(np.median(tempi)),
        beats_per_bar=groove.beats_per_bar,
        duration=float(duration),
        strokes=tuple(strokes),
    )
    margin = 4
    all_beats = np.concatenate(
        [
            beats[0] - beat_seconds * np.arange(margin, 0, -1),
            beats,
            beats[-1] + (beats[-1] - beats[-2]) * np.arange(1, margin + 1),
        ]
    )
    score = Score(
        groove.time_signature,
        float(np.median(tempi)),
        tuple(float(b) for b in all_beats),
        downbeat=margin + arrangement.pickup_beats,
        pickup_beats=arrangement.pickup_beats,
    )
    tags = [groove.style] + (["pickup"] if arrangement.pickup_beats else []) + (["drift"] if drift else [])
    return NotationPiece(" ".join(tags), groove.style, performance, score)


def _pickup_length(groove: Groove, rng: np.random.Generator) -> int:
    """Beats of pickup: one or two beats in x/4, one pulse (three eighths) in compound meters."""
    if beats_per_pulse(groove.time_signature) == 3:
        return 3
    if groove.beat_unit == 8:
        return 2
    return int(rng.choice([1, 2])) if groove.beats_per_bar > 2 else 1


def _arrange(
    groove: Groove, arrangement: _Arrangement, phrase: int, rng: np.random.Generator
) -> list[tuple[Fraction, str, int]]:
    """Written strokes: (beat from the first pickup beat, class, velocity)."""
    bar_beats = groove.beats_per_bar
    out: list[tuple[Fraction, str, int]] = []
    start = Fraction(arrangement.pickup_beats)
    if arrangement.pickup_beats:
        out += _fill(groove, Fraction(0), arrangement.pickup_beats, rng)
    variant = int(rng.integers(len(groove.bars)))
    for bar in range(arrangement.bars):
        pattern = (
            variant if groove.bars_per_pattern == 0 else (bar // groove.bars_per_pattern) % len(groove.bars)
        )
        strokes = [(start + bar * bar_beats + pos, cls, vel) for pos, cls, vel in groove.strokes(pattern)]
        crash = (arrangement.crash_every and bar % arrangement.crash_every == 0 and bar > 0) or (
            bar == 0 and (arrangement.opening_crash or arrangement.pickup_beats)
        )
        if crash:
            downbeat = start + bar * bar_beats
            strokes = [s for s in strokes if not (s[0] == downbeat and s[1] in TIMEKEEPERS)]
            strokes.append((downbeat, "crash", int(rng.integers(95, 125))))
            if not any(s[0] == downbeat and s[1] == "kick" for s in strokes):
                strokes.append((downbeat, "kick", int(rng.integers(90, 120))))
        last_of_phrase = bar % phrase == phrase - 1 and bar < arrangement.bars - 1
        if arrangement.fills and last_of_phrase:
            fill_start = start + (bar + 1) * bar_beats - groove.fill.beats
            strokes = [s for s in strokes if s[0] < fill_start or s[1] in ("kick", "hihat_pedal")]
            strokes += _fill(groove, fill_start, groove.fill.beats, rng)
        out += strokes
    return sorted(out)


def _fill(
    groove: Groove, start: Fraction, beats: int, rng: np.random.Generator
) -> list[tuple[Fraction, str, int]]:
    """A fill from ``start``: snare then down the toms, in the groove's fill subdivision."""
    step = Fraction(1, groove.fill.steps)
    count = beats * groove.fill.steps
    every = int(rng.choice([1, 2])) if count >= 4 else 1
    voices = ["snare", *TOMS]
    out = []
    for k in range(0, count, every):
        cls = voices[min(len(voices) - 1, k * len(voices) // count)] if rng.random() < 0.8 else "snare"
        out.append((start + k * step, cls, int(rng.integers(70, 120))))
    return out


def _beat_times(groove: Groove, arrangement: _Arrangement, beat_seconds: float) -> np.ndarray:
    """Time of every beat from the first pickup beat to the end of the last bar (one more beat)."""
    total = arrangement.pickup_beats + arrangement.bars * groove.beats_per_bar + 1
    lengths = np.full(total - 1, beat_seconds)
    if arrangement.drift_at:
        moved_from = arrangement.pickup_beats + arrangement.drift_at * groove.beats_per_bar
        lengths[moved_from:] /= 1.0 + arrangement.drift
    lead_in = 0.25 + 0.5 * beat_seconds
    return lead_in + np.concatenate([[0.0], np.cumsum(lengths)])


def _humanise(
    written: list[tuple[Fraction, str, int]], beats: np.ndarray, pickup: int, rng: np.random.Generator
) -> list[Stroke]:
    """Strokes in seconds: each written beat position through the beat times, plus the player's feel."""
    sd = float(rng.uniform(*TIMING_SD_RANGE))
    lag = {"snare": float(rng.uniform(*SNARE_LAG_RANGE)), "kick": -float(rng.uniform(0.0, 0.006))}
    strokes = []
    for position, cls, velocity in written:
        whole = int(position)
        time = beats[whole] + float(position - whole) * (beats[whole + 1] - beats[whole])
        time += lag.get(cls, 0.0) + float(np.clip(rng.normal(0.0, sd), -2.5 * sd, 2.5 * sd))
        loud = int(np.clip(round(velocity + rng.normal(0.0, VELOCITY_SD)), 1, 127))
        strokes.append(Stroke(round(max(0.0, time), 5), cls, loud))
    return sorted(strokes, key=lambda s: (s.time, s.cls))


def kit_map(kit: Kit, filler: Kit) -> dict[str, Kit]:
    """Which kit plays each class: ``kit`` where it has the class, else ``filler``."""
    return {cls: kit if kit.has(cls) else filler for cls in CLASSES}


def render_piece(
    piece: NotationPiece, kits: dict[str, Kit], rng: np.random.Generator, augmented: bool = True
) -> np.ndarray:
    """Mono float32 audio at 44.1 kHz of ``piece`` on ``kits``, through the augmenter when ``augmented``."""
    audio = render(piece.performance, kits, rng)
    return augment(audio, rng, allow_mp3=False) if augmented else audio


def with_strokes(piece: NotationPiece, strokes: list[Stroke]) -> NotationPiece:
    return replace(piece, performance=replace(piece.performance, strokes=tuple(strokes)))
