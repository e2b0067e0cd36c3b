"""Values passed between pipeline stages."""

from __future__ import annotations

from dataclasses import dataclass

# Instruments a hit can carry. The AnNOTEator classes SD, HH, KD, RC, TT, CC map to
# snare, hihat (closed), kick, ride, tom, crash; these names are also what events.json holds.
INSTRUMENTS: tuple[str, ...] = ("kick", "snare", "hihat", "ride", "crash", "tom")


@dataclass(frozen=True)
class Hit:
    """One drum hit before quantization: time in seconds from the start of the song."""

    time: float
    instrument: str
    confidence: float


@dataclass(frozen=True)
class TempoGrid:
    """Where the beats and bars are.

    A beat is one ``beat_unit`` note (a quarter in 4/4, an eighth in 6/8). ``bpm`` is the tempo a
    drummer counts and a metronome mark shows: quarters in x/4, dotted quarters (``beats_per_pulse``
    = 3 beats) in 6/8, 9/8 and 12/8, eighths in other x/8 meters.
    ``beats`` are beat times in seconds covering the whole song (extrapolated before the first and
    after the last detected beat); ``downbeat`` is the index in ``beats`` of the first beat of bar 1.
    """

    bpm: float
    beats: tuple[float, ...]
    downbeat: int
    beats_per_bar: int
    beat_unit: int

    @property
    def time_signature(self) -> str:
        return f"{self.beats_per_bar}/{self.beat_unit}"

    @property
    def beats_per_pulse(self) -> int:
        """Beats in one counted pulse: 3 eighths in compound meters (6/8, 9/8, 12/8), else 1."""
        compound = self.beat_unit == 8 and self.beats_per_bar % 3 == 0 and self.beats_per_bar >= 6
        return 3 if compound else 1

    @property
    def beat_seconds(self) -> float:
        """Average length of one beat (one ``beat_unit`` note) in seconds."""
        return 60.0 / (self.bpm * self.beats_per_pulse)


@dataclass(frozen=True)
class PlacedHit:
    """A hit on the grid: bar (1-based), beat in the bar (1-based), and the slot within the beat.

    ``division`` is 4 (16th notes) or 3 (8th-note triplets) for the quarter-note beat the hit is in
    (2, 16th notes, when the beat is an eighth as in 6/8), and ``slot`` is 0..division-1.
    """

    hit: Hit
    bar: int
    beat: int
    division: int
    slot: int

    @property
    def beat_position(self) -> float:
        """Beat position as a number, 1-based: 2.5 is the '&' of beat 2."""
        return self.beat + self.slot / self.division


@dataclass(frozen=True)
class DrumSound:
    """How one instrument is written and played: see shared/docs/NOTATION.md's drum key.

    ``gm`` is the General MIDI drum note; MusicXML's ``midi-unpitched`` is ``gm + 1``. ``voice`` 1 is
    the hands (stems up), 2 the feet (stems down).
    """

    name: str
    gm: int
    display_step: str
    display_octave: int
    notehead: str
    voice: int

    @property
    def midi_unpitched(self) -> int:
        return self.gm + 1


# The drum key for every instrument a Hit can carry; a tom is written as the mid tom.
DRUM_KEY: dict[str, DrumSound] = {
    "kick": DrumSound("Bass Drum 1", 36, "F", 4, "normal", 2),
    "snare": DrumSound("Acoustic Snare", 38, "C", 5, "normal", 1),
    "hihat": DrumSound("Closed Hi-Hat", 42, "G", 5, "x", 1),
    "ride": DrumSound("Ride Cymbal 1", 51, "F", 5, "x", 1),
    "crash": DrumSound("Crash Cymbal 1", 49, "A", 5, "x", 1),
    "tom": DrumSound("Low-Mid Tom", 47, "D", 5, "normal", 1),
}
