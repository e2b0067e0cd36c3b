"""Backing tracks to mix under rendered drums, and the worker's own separation to take them out again.

The hit model sees Demucs drum stems in production, never clean drums, so part of the training set is
mixed with a generated band and separated exactly as the worker does:

    backing = render_accompaniment(duration, bpm, beats_per_bar, rng, SOUNDFONT)
    mix = mix_with_drums(drums, backing, drums_to_backing_db=rng.uniform(-3, 6))
    stem = separate_drums(mix, load_separator(Path("models/demucs/htdemucs")))

``compose_backing`` writes the music: a random key and mode, a chord progression looped over the
song, and three parts (bass, keys or pad, strummed or picked guitar) in styles drawn per song, on
General MIDI melodic programs from ``BASS_PROGRAMS``, ``KEYS_PROGRAMS`` and ``GUITAR_PROGRAMS``,
lightly humanised. Bar 1 starts at t = 0 and the bars follow the drums' tempo. No part is on MIDI
channel 10, so there are no drums in it. Debian's ``fluidsynth`` renders it from a SoundFont
(FluidR3_GM, MIT) in a temporary directory.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import mido
import numpy as np
import soundfile as sf

from .kit import SAMPLE_RATE

if TYPE_CHECKING:
    from groovesheet_worker.pipeline.separation import DrumSeparator

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
FLUIDSYNTH_GAIN = 0.6
FLUIDSYNTH_TIMEOUT_S = 300
BACKING_PEAK_DBFS = -3.0
MIX_PEAK_DBFS = -1.0
TICKS_PER_BEAT = 960
# Humanising: each stroke moves by a normal timing error of 3-12 ms (per song), cut at this many SDs.
MAX_JITTER_SD = 2.5

PARTS: tuple[str, ...] = ("bass", "keys", "guitar")
# MIDI channels 1-3 (0-based 0-2); never channel 10 (index 9), General MIDI's drum channel.
CHANNELS: dict[str, int] = {"bass": 0, "keys": 1, "guitar": 2}
BASS_PROGRAMS: tuple[int, ...] = tuple(range(32, 40))
KEYS_PROGRAMS: tuple[int, ...] = (*range(0, 8), *range(16, 21), *range(48, 52))
GUITAR_PROGRAMS: tuple[int, ...] = tuple(range(24, 32))
SUSTAINED_KEYS = frozenset((*range(16, 21), *range(48, 52)))  # organs, strings, choir-like: held chords

SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "blues": (0, 2, 4, 5, 7, 9, 10),  # mixolydian degrees, every chord a dominant seventh
}
# Chord roots as scale degrees (0 = tonic), looped over the song.
PROGRESSIONS: dict[str, tuple[tuple[int, ...], ...]] = {
    "major": (
        (0, 4, 5, 3),
        (0, 5, 3, 4),
        (0, 3, 4, 3),
        (1, 4, 0, 0),
        (0, 3, 0, 4),
        (5, 3, 0, 4),
        (0, 2, 3, 4),
        (0, 0, 3, 4),
    ),
    "minor": ((0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 6), (0, 3, 6, 2), (0, 5, 3, 4), (0, 0, 5, 6)),
    "dorian": ((0, 3, 0, 3), (0, 6, 3, 0), (0, 1, 0, 6)),
    "mixolydian": ((0, 6, 3, 0), (0, 3, 6, 3), (0, 6, 0, 3)),
    "blues": ((0, 0, 0, 0, 3, 3, 0, 0, 4, 3, 0, 4), (0, 3, 0, 0, 3, 3, 0, 0, 4, 3, 0, 4)),
}
MODE_WEIGHTS: dict[str, float] = {"major": 0.4, "minor": 0.3, "dorian": 0.1, "mixolydian": 0.1, "blues": 0.1}
DOMINANT_SEVENTH = (0, 4, 7, 10)

BASS_STYLES = ("sustain", "quarters", "eighths", "root_fifth", "walking", "syncopated")
KEYS_STYLES = ("pad", "halves", "offbeat", "arpeggio", "comp")
GUITAR_STYLES = ("strum", "picked", "power", "funk")


@dataclass(frozen=True)
class Chord:
    root: int  # pitch class, 0 = C
    intervals: tuple[int, ...]  # semitones above the root, starting with 0

    @property
    def pitch_classes(self) -> tuple[int, ...]:
        return tuple((self.root + i) % 12 for i in self.intervals)


@dataclass(frozen=True)
class Note:
    part: str
    pitch: int
    start: float  # beats from bar 1, beat 1 (humanised)
    length: float  # beats
    velocity: int


@dataclass(frozen=True)
class Backing:
    """A generated accompaniment: what is played (``notes``) and the choices it was made from."""

    bpm: float
    beats_per_bar: int
    duration_s: float
    key: int  # tonic pitch class
    mode: str
    chords: tuple[tuple[float, float, Chord], ...]  # (start beat, length in beats, chord)
    programs: dict[str, int]
    styles: dict[str, str]
    notes: tuple[Note, ...] = field(repr=False)
    volumes: dict[str, int] = field(default_factory=dict)
    pans: dict[str, int] = field(default_factory=dict)

    @property
    def seconds_per_beat(self) -> float:
        return 60.0 / self.bpm

    def midi(self) -> mido.MidiFile:
        """A type-1 MIDI file: a tempo/metre track, then one track per part on its own channel."""
        mid = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
        mid.tracks.append(
            mido.MidiTrack(
                [
                    mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(self.bpm), time=0),
                    mido.MetaMessage("time_signature", numerator=self.beats_per_bar, denominator=4, time=0),
                    mido.MetaMessage("end_of_track", time=0),
                ]
            )
        )
        end_tick = _ticks(self.duration_s / self.seconds_per_beat + 1.0)
        for part in PARTS:
            channel = CHANNELS[part]
            events: list[tuple[int, int, mido.Message]] = [
                (0, 0, mido.Message("program_change", channel=channel, program=self.programs[part])),
                (
                    0,
                    0,
                    mido.Message(
                        "control_change", channel=channel, control=7, value=self.volumes.get(part, 100)
                    ),
                ),
                (
                    0,
                    0,
                    mido.Message(
                        "control_change", channel=channel, control=10, value=self.pans.get(part, 64)
                    ),
                ),
            ]
            for pitch, on, off, velocity in _note_spans([n for n in self.notes if n.part == part]):
                events.append(
                    (on, 2, mido.Message("note_on", channel=channel, note=pitch, velocity=velocity))
                )
                events.append((off, 1, mido.Message("note_off", channel=channel, note=pitch, velocity=0)))
            events.sort(key=lambda e: (e[0], e[1]))
            track = mido.MidiTrack()
            now = 0
            for tick, _, message in events:
                track.append(message.copy(time=tick - now))
                now = tick
            track.append(mido.MetaMessage("end_of_track", time=max(0, end_tick - now)))
            mid.tracks.append(track)
        return mid


def _ticks(beats: float) -> int:
    return round(beats * TICKS_PER_BEAT)


def _note_spans(notes: list[Note]) -> list[tuple[int, int, int, int]]:
    """(pitch, on tick, off tick, velocity); a note is cut where the same pitch is struck again."""
    spans: list[tuple[int, int, int, int]] = []
    by_pitch: dict[int, list[Note]] = {}
    for note in notes:
        by_pitch.setdefault(note.pitch, []).append(note)
    for pitch, same in by_pitch.items():
        same.sort(key=lambda n: n.start)
        for i, note in enumerate(same):
            on = _ticks(note.start)
            off = _ticks(note.start + note.length)
            if i + 1 < len(same):
                off = min(off, _ticks(same[i + 1].start))
            if off > on:
                spans.append((pitch, on, off, note.velocity))
    return spans


# ------------------------------------------------------------------------------------------ harmony


def _scale_chord(key: int, mode: str, degree: int, seventh: bool) -> Chord:
    """The diatonic triad (or seventh chord) on ``degree`` of the mode; every blues chord is a dominant 7th."""
    if mode == "blues":
        return Chord((key + SCALES["major"][degree]) % 12, DOMINANT_SEVENTH)
    scale = SCALES[mode]
    root = scale[degree % 7]
    stack = [scale[(degree + step) % 7] + 12 * ((degree + step) // 7) for step in (0, 2, 4, 6)]
    intervals = tuple(p - root for p in stack[: 4 if seventh else 3])
    return Chord((key + root) % 12, intervals)


def _chord_timeline(
    rng: np.random.Generator, key: int, mode: str, total_beats: float, beats_per_bar: int
) -> tuple[tuple[float, float, Chord], ...]:
    progression = PROGRESSIONS[mode][int(rng.integers(len(PROGRESSIONS[mode])))]
    if mode == "blues":
        chord_beats = float(beats_per_bar)
    else:
        options = [float(beats_per_bar), 2.0 * beats_per_bar]
        if beats_per_bar % 2 == 0 and beats_per_bar >= 4:
            options.append(beats_per_bar / 2)
        chord_beats = options[int(rng.choice(len(options), p=_weights(len(options))))]
    sevenths = mode == "blues" or bool(rng.random() < 0.3)
    timeline = []
    start, i = 0.0, 0
    while start < total_beats:
        chord = _scale_chord(key, mode, progression[i % len(progression)], sevenths)
        timeline.append((start, chord_beats, chord))
        start += chord_beats
        i += 1
    return tuple(timeline)


def _weights(count: int) -> np.ndarray:
    """One chord per bar most often, then two bars, then half a bar."""
    w = np.array([0.6, 0.25, 0.15][:count])
    return w / w.sum()


def _lowest_at_or_above(pitch_class: int, floor: int) -> int:
    return floor + (pitch_class - floor) % 12


def _close_voicing(chord: Chord, floor: int) -> list[int]:
    """Chord tones in close position, each the lowest at or above ``floor`` (smooth voice leading)."""
    return sorted(_lowest_at_or_above(pc, floor) for pc in chord.pitch_classes)


def _guitar_voicing(chord: Chord, floor: int) -> list[int]:
    """A barre-chord shape: root, fifth, octave, third and fifth above (or the seventh)."""
    root = _lowest_at_or_above(chord.root, floor)
    third = chord.intervals[1]
    fifth = chord.intervals[2]
    shape = [0, fifth, 12, 12 + third, 12 + fifth]
    if len(chord.intervals) > 3:
        shape[2] = chord.intervals[3]
    else:
        shape.append(24)
    return sorted(root + s for s in shape)


# ------------------------------------------------------------------------------------------- parts


@dataclass
class _Part:
    """Notes of one part before humanising, in beats. A note never rings into the next chord."""

    name: str
    base_velocity: float
    beat_s: float
    chord_end: float = float("inf")  # set by the writer for each chord
    # pitch, start, length, accent, and the stroke it belongs to (notes of one chord share a timing error)
    notes: list[tuple[int, float, float, float, float]] = field(default_factory=list)

    def add(
        self, pitch: int, start: float, length: float, accent: float = 0.0, stroke: float | None = None
    ) -> None:
        length = min(length, self.chord_end - start - 0.02)
        if length > 0:
            stroke = start if stroke is None else stroke
            self.notes.append((int(pitch), float(start), float(length), float(accent), float(stroke)))


def _bar_grid(start: float, length: float, step: float) -> np.ndarray:
    return start + np.arange(0.0, length - 1e-9, step)


Timeline = tuple[tuple[float, float, Chord], ...]


def _bass(rng: np.random.Generator, style: str, chords: Timeline, bpb: int, part: _Part) -> None:
    floor = int(rng.integers(28, 36))
    pattern = _syncopated_pattern(rng, bpb, 4, first=True) if style == "syncopated" else None
    for ci, (start, length, chord) in enumerate(chords):
        part.chord_end = start + length
        root = _lowest_at_or_above(chord.root, floor)
        fifth = root + chord.intervals[2]
        third = root + chord.intervals[1]
        nxt = chords[ci + 1][2].root if ci + 1 < len(chords) else chord.root
        next_root = _lowest_at_or_above(nxt, floor)
        if style == "sustain":
            part.add(root, start, length * 0.97, 0.1)
        elif style == "quarters":
            for b in _bar_grid(start, length, 1.0):
                pitch = root if rng.random() < 0.8 else int(rng.choice([fifth, root + 12]))
                part.add(pitch, b, 0.9, 0.1 if (b - start) % bpb == 0 else 0.0)
        elif style == "eighths":
            for b in _bar_grid(start, length, 0.5):
                part.add(root, b, 0.45, 0.15 if b % 1 == 0 else -0.1)
        elif style == "root_fifth":
            for b in _bar_grid(start, length, float(bpb)):
                half = max(1.0, float(bpb // 2))
                part.add(root, b, half * 0.95, 0.1)
                if half < min(bpb, start + length - b):
                    part.add(fifth if fifth - 12 < floor else fifth - 12, b + half, (bpb - half) * 0.95)
        elif style == "walking":
            beats = _bar_grid(start, length, 1.0)
            scale_tones = [root, third, fifth, root + 12, fifth - 12 if fifth - 12 >= floor else third]
            for i, b in enumerate(beats):
                if i == 0:
                    pitch = root
                elif i == len(beats) - 1:
                    pitch = next_root + int(rng.choice([-1, 1, 2, -2]))  # approach the next root
                else:
                    pitch = int(rng.choice(scale_tones))
                part.add(pitch, b, 0.92, 0.1 if i == 0 else 0.0)
        else:  # syncopated: one 16th-note figure per song
            for bar in _bar_grid(start, length, float(bpb)):
                for step, kind in pattern:  # type: ignore[union-attr]
                    b = bar + step * 0.25
                    if b >= start + length:
                        continue
                    pitch = {0: root, 1: root + 12, 2: fifth}[kind]
                    part.add(pitch, b, 0.22 if kind else 0.45, 0.15 if step == 0 else 0.0)


def _syncopated_pattern(
    rng: np.random.Generator, bpb: int, per_beat: int, first: bool
) -> list[tuple[int, int]]:
    """Steps (of 1/per_beat beat) in one bar, each with a pitch choice 0 root, 1 octave, 2 fifth."""
    steps = bpb * per_beat
    density = rng.uniform(0.25, 0.5)
    chosen = sorted({0} if first else set()) + [s for s in range(1, steps) if rng.random() < density]
    return [(s, 0 if s == 0 else int(rng.choice(3, p=[0.5, 0.3, 0.2]))) for s in sorted(set(chosen))]


def _keys(rng: np.random.Generator, style: str, chords: Timeline, bpb: int, part: _Part) -> None:
    floor = int(rng.integers(50, 60))
    comp = [s for s, _ in _syncopated_pattern(rng, bpb, 2, first=True)] if style == "comp" else []
    arpeggio_step = float(rng.choice([0.5, 0.25])) if style == "arpeggio" else 0.5
    for start, length, chord in chords:
        part.chord_end = start + length
        voicing = _close_voicing(chord, floor)
        if style == "pad":
            for pitch in voicing:
                part.add(pitch, start, length * 0.98, 0.0)
        elif style == "halves":
            for b in _bar_grid(start, length, 2.0):
                for pitch in voicing:
                    part.add(pitch, b, 1.9, 0.1 if b == start else 0.0)
        elif style == "offbeat":
            for b in _bar_grid(start + 0.5, length - 0.5, 1.0):
                for pitch in voicing:
                    part.add(pitch, b, 0.3, 0.0)
        elif style == "arpeggio":
            tones = [*voicing, voicing[0] + 12, *voicing[1:][::-1]]
            for i, b in enumerate(_bar_grid(start, length, arpeggio_step)):
                part.add(tones[i % len(tones)], b, arpeggio_step * 1.8, 0.1 if i == 0 else 0.0)
        else:  # comp: one 8th-note rhythm per song
            for bar in _bar_grid(start, length, float(bpb)):
                hits = [bar + s * 0.5 for s in comp if bar + s * 0.5 < start + length]
                for h, nxt in zip(hits, [*hits[1:], min(bar + bpb, start + length)], strict=True):
                    for pitch in voicing:
                        part.add(pitch, h, max(0.2, (nxt - h) * 0.9), 0.1 if h == bar else 0.0)


def _guitar(rng: np.random.Generator, style: str, chords: Timeline, bpb: int, part: _Part) -> None:
    floor = int(rng.integers(40, 47))
    per_beat = 4 if style == "funk" or rng.random() < 0.35 else 2
    strokes = [
        s for s in range(bpb * per_beat) if s == 0 or rng.random() < (0.85 if s % per_beat == 0 else 0.5)
    ]
    spread = rng.uniform(0.008, 0.025) / part.beat_s  # a strum's first to last string, in beats
    pick_order = rng.permutation([1, 2, 3, 4])
    for start, length, chord in chords:
        part.chord_end = start + length
        if style == "power":
            root = _lowest_at_or_above(chord.root, floor)
            voicing = [root, root + 7, root + 12]
        else:
            voicing = _guitar_voicing(chord, floor)
        for bar in _bar_grid(start, length, float(bpb)):
            if style == "picked":
                tones = [voicing[0], *(voicing[min(i, len(voicing) - 1)] for i in pick_order)]
                for i, b in enumerate(_bar_grid(bar, min(bpb, start + length - bar), 0.5)):
                    part.add(tones[i % len(tones)], b, 1.5, 0.1 if i == 0 else 0.0)
                continue
            if style == "power":
                for b in _bar_grid(bar, min(bpb, start + length - bar), 0.5):
                    for pitch in voicing:
                        part.add(pitch, b, 0.3, 0.15 if b % 1 == 0 else -0.05)
                continue
            hits = [bar + s / per_beat for s in strokes if bar + s / per_beat < start + length]
            for h, nxt in zip(hits, [*hits[1:], min(bar + bpb, start + length)], strict=True):
                down = round((h - bar) * per_beat) % 2 == 0
                strings = voicing if down else voicing[::-1][: max(3, len(voicing) - 2)]
                hold = 0.12 if style == "funk" else (nxt - h) * 0.95
                for i, pitch in enumerate(strings):
                    offset = spread * i / max(1, len(strings) - 1)
                    accent = (0.1 if down else -0.15) + (0.1 if h == bar else 0.0)
                    part.add(pitch, h + offset, hold, accent, stroke=h)


_PART_WRITERS: dict[str, Callable[..., None]] = {"bass": _bass, "keys": _keys, "guitar": _guitar}


def _choose_styles(rng: np.random.Generator, programs: dict[str, int]) -> dict[str, str]:
    bass = programs["bass"]
    bass_styles = ("sustain", "eighths", "syncopated", "quarters") if bass >= 38 else BASS_STYLES
    keys_styles = ("pad", "halves") if programs["keys"] in SUSTAINED_KEYS else KEYS_STYLES
    guitar = programs["guitar"]
    if guitar in (29, 30):  # overdriven, distortion
        guitar_styles: tuple[str, ...] = ("power", "power", "strum")
    elif guitar == 28:  # muted
        guitar_styles = ("power", "funk")
    elif guitar in (24, 25):  # nylon, steel acoustic
        guitar_styles = ("strum", "strum", "picked")
    elif guitar == 31:  # harmonics
        guitar_styles = ("picked",)
    else:  # jazz, clean electric
        guitar_styles = GUITAR_STYLES
    return {
        "bass": str(rng.choice(bass_styles)),
        "keys": str(rng.choice(keys_styles)),
        "guitar": str(rng.choice(guitar_styles)),
    }


def compose_backing(duration_s: float, bpm: float, beats_per_bar: int, rng: np.random.Generator) -> Backing:
    """Choose key, mode, progression, programs and styles, and write the three parts."""
    if duration_s <= 0 or bpm <= 0 or beats_per_bar < 1:
        raise ValueError(f"bad backing request: {duration_s} s at {bpm} bpm, {beats_per_bar} beats per bar")
    beat_s = 60.0 / bpm
    total_beats = duration_s / beat_s
    key = int(rng.integers(12))
    modes = list(MODE_WEIGHTS)
    mode = modes[int(rng.choice(len(modes), p=np.array(list(MODE_WEIGHTS.values()))))]
    chords = _chord_timeline(rng, key, mode, total_beats, beats_per_bar)
    programs = {
        "bass": int(rng.choice(BASS_PROGRAMS)),
        "keys": int(rng.choice(KEYS_PROGRAMS)),
        "guitar": int(rng.choice(GUITAR_PROGRAMS)),
    }
    styles = _choose_styles(rng, programs)
    volumes = {
        "bass": int(rng.integers(90, 121)),
        "keys": int(rng.integers(65, 106)),
        "guitar": int(rng.integers(65, 106)),
    }
    side = float(rng.choice([-1.0, 1.0]))
    pans = {
        "bass": 64,
        "keys": int(np.clip(64 + side * rng.uniform(0, 40), 0, 127)),
        "guitar": int(np.clip(64 - side * rng.uniform(0, 40), 0, 127)),
    }
    timing_sd = rng.uniform(0.003, 0.012) / beat_s  # humanising, in beats
    notes: list[Note] = []
    for name in PARTS:
        part = _Part(name, rng.uniform(60, 100), beat_s)
        _PART_WRITERS[name](rng, styles[name], chords, beats_per_bar, part)
        jitter: dict[float, float] = {}
        for pitch, start, length, accent, stroke in part.notes:
            if start >= total_beats:
                continue
            if stroke not in jitter:
                jitter[stroke] = float(
                    np.clip(rng.normal(0.0, timing_sd), -MAX_JITTER_SD * timing_sd, MAX_JITTER_SD * timing_sd)
                )
            on = max(0.0, start + jitter[stroke])
            velocity = int(np.clip(part.base_velocity * (1 + accent) + rng.normal(0, 6), 1, 127))
            notes.append(Note(name, int(np.clip(pitch, 0, 127)), on, max(0.05, length), velocity))
    return Backing(
        bpm=float(bpm),
        beats_per_bar=int(beats_per_bar),
        duration_s=float(duration_s),
        key=key,
        mode=mode,
        chords=chords,
        programs=programs,
        styles=styles,
        notes=tuple(notes),
        volumes=volumes,
        pans=pans,
    )


# --------------------------------------------------------------------------------------- rendering


def render_midi(midi: mido.MidiFile, soundfont: Path, samples: int) -> np.ndarray:
    """(2, samples) float32 at SAMPLE_RATE: ``midi`` played by fluidsynth from ``soundfont``."""
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise RuntimeError(
            "fluidsynth is not installed (Debian: apt-get install fluidsynth fluid-soundfont-gm)"
        )
    soundfont = Path(soundfont)
    if not soundfont.is_file():
        raise FileNotFoundError(
            f"SoundFont {soundfont} does not exist (Debian: apt-get install fluid-soundfont-gm)"
        )
    with tempfile.TemporaryDirectory(prefix="groovesheet-backing-") as tmp:
        mid_path, wav_path = Path(tmp) / "backing.mid", Path(tmp) / "backing.wav"
        midi.save(mid_path)
        # Float output: 16-bit would clip a loud chord before we normalise.
        command = [
            exe, "-ni", "-q", "-R", "0", "-C", "0", "-g", str(FLUIDSYNTH_GAIN), "-r", str(SAMPLE_RATE),
            "-O", "float", "-T", "wav", "-F", str(wav_path), str(soundfont), str(mid_path),
        ]  # fmt: skip
        proc = subprocess.run(
            command, capture_output=True, text=True, timeout=FLUIDSYNTH_TIMEOUT_S, check=False
        )
        if proc.returncode != 0 or not wav_path.is_file():
            raise RuntimeError(
                f"fluidsynth failed ({proc.returncode}): {(proc.stderr or proc.stdout)[-500:]}"
            )
        audio, rate = sf.read(wav_path, dtype="float32", always_2d=True)
    if rate != SAMPLE_RATE:
        raise RuntimeError(f"fluidsynth wrote {rate} Hz, expected {SAMPLE_RATE}")
    out = np.zeros((2, samples), dtype=np.float32)
    audio = audio.T
    if audio.shape[0] == 1:
        audio = np.repeat(audio, 2, axis=0)
    take = min(samples, audio.shape[1])
    out[:, :take] = audio[:2, :take]
    return out


def render_accompaniment(
    duration_s: float, bpm: float, beats_per_bar: int, rng: np.random.Generator, soundfont: Path = SOUNDFONT
) -> np.ndarray:
    """A (2, round(duration_s * 44100)) float32 backing track, bar 1 at t = 0, peak at BACKING_PEAK_DBFS."""
    backing = compose_backing(duration_s, bpm, beats_per_bar, rng)
    audio = render_midi(backing.midi(), soundfont, round(duration_s * SAMPLE_RATE))
    return _normalise(audio, BACKING_PEAK_DBFS)


def _normalise(audio: np.ndarray, peak_dbfs: float) -> np.ndarray:
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak > 0:
        audio = audio * (10 ** (peak_dbfs / 20) / peak)
    return audio.astype(np.float32, copy=False)


def _stereo(audio: np.ndarray) -> np.ndarray:
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        return np.stack([audio, audio])
    if audio.ndim == 2 and audio.shape[0] == 1:
        return np.repeat(audio, 2, axis=0)
    if audio.ndim == 2 and audio.shape[0] == 2:
        return audio
    raise ValueError(f"expected mono (n,) or (1|2, n) audio, got shape {audio.shape}")


def _rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) if audio.size else 0.0


def mix_with_drums(drums: np.ndarray, backing: np.ndarray, drums_to_backing_db: float) -> np.ndarray:
    """Drums (mono or stereo) over the backing, ``drums_to_backing_db`` louder by RMS; (2, n) float32.

    The backing is cut or zero-padded to the drums' length (the labels belong to the drums), and the
    sum is peak-normalised to MIX_PEAK_DBFS.
    """
    drums = _stereo(drums)
    backing = _stereo(backing)
    n = drums.shape[1]
    fitted = np.zeros((2, n), dtype=np.float32)
    take = min(n, backing.shape[1])
    fitted[:, :take] = backing[:, :take]
    # Levels compared where both play (a short backing is not boosted for its silent tail).
    drums_rms, backing_rms = _rms(drums[:, :take]), _rms(fitted[:, :take])
    if drums_rms > 0 and backing_rms > 0:
        fitted *= drums_rms / backing_rms * 10 ** (-drums_to_backing_db / 20)
    return _normalise(drums + fitted, MIX_PEAK_DBFS)


# -------------------------------------------------------------------------------------- separation


def load_separator(
    model_dir: Path | None = None, model: str = "htdemucs", *, threads: int | None = None
) -> DrumSeparator:
    """The worker's DrumSeparator with the worker's default settings (shifts, overlap, CPU).

    ``model_dir`` is the local htdemucs folder (``models/demucs/htdemucs``, made by ``make models``);
    ``model="demucs_unittest"`` loads Demucs' tiny random test model instead and needs no folder.
    Settings come from WorkerSettings' defaults, not the environment, so the data do not change with it.
    """
    from groovesheet_worker.config import WorkerSettings
    from groovesheet_worker.pipeline.separation import UNITTEST_MODEL, DrumSeparator

    defaults = {name: f.default for name, f in WorkerSettings.model_fields.items()}
    return DrumSeparator(
        model,
        None if model == UNITTEST_MODEL else Path(model_dir) if model_dir is not None else None,
        device="cpu",
        shifts=defaults["demucs_shifts"],
        overlap=defaults["demucs_overlap"],
        num_workers=defaults["demucs_num_workers"],
        threads=threads,
    )


def separate_drums(mix_stereo: np.ndarray, separator: DrumSeparator, seed: int | None = 0) -> np.ndarray:
    """The mono drum stem of ``mix_stereo`` ((2, n) at 44.1 kHz), exactly as the worker computes it.

    The worker's transcriber runs ``separator.separate_drums(stereo, progress).mean(axis=0)``; this
    does the same. Demucs' shift trick draws its random shift from Python's ``random`` module, so it
    is seeded with ``seed`` here (and the global state restored) to keep the data deterministic;
    ``seed=None`` leaves it alone.
    """
    if separator.sample_rate != SAMPLE_RATE:
        raise ValueError(
            f"the separator runs at {separator.sample_rate} Hz, the training data at {SAMPLE_RATE}"
        )
    state = random.getstate()
    try:
        if seed is not None:
            random.seed(seed)
        stem = separator.separate_drums(_stereo(mix_stereo))
    finally:
        if seed is not None:
            random.setstate(state)
    return stem.mean(axis=0).astype(np.float32, copy=False)
