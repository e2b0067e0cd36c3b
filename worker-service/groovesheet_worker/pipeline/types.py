"""Values passed between pipeline stages."""

from __future__ import annotations

from dataclasses import dataclass

# Instruments a hit can carry, and what events.json holds: the drum kit a drummer reads, one
# name per line/notehead of shared/docs/NOTATION.md's drum key.
INSTRUMENTS: tuple[str, ...] = (
    "kick",
    "snare",
    "cross_stick",
    "hihat_closed",
    "hihat_open",
    "hihat_pedal",
    "ride",
    "ride_bell",
    "crash",
    "tom_high",
    "tom_mid",
    "tom_floor",
)

# Each instrument's evaluation class: the five classes MDB Drums and ../shared/tools/adt_eval.py score.
FIVE_CLASS: dict[str, str] = {
    "kick": "kick",
    "snare": "snare",
    "cross_stick": "snare",
    "hihat_closed": "hihat",
    "hihat_open": "hihat",
    "hihat_pedal": "hihat",
    "ride": "cymbals",
    "ride_bell": "cymbals",
    "crash": "cymbals",
    "tom_high": "toms",
    "tom_mid": "toms",
    "tom_floor": "toms",
}

# The AnNOTEator model's classes (constants.MODEL_CLASSES: SD, HH, KD, RC, TT, CC) in these names:
# it cannot tell open from closed hi-hats nor one tom from another, so they become the closed
# hi-hat and the mid tom.
ANNOTEATOR_TO_INSTRUMENT: dict[str, str] = {
    "snare": "snare",
    "hihat": "hihat_closed",
    "kick": "kick",
    "ride": "ride",
    "tom": "tom_mid",
    "crash": "crash",
}


@dataclass(frozen=True)
class Hit:
    """One drum hit before quantization: time in seconds from the start of the song.

    ``instrument`` is one of INSTRUMENTS; ``confidence`` (0..1) is how sure the hit finder is.
    ``velocity`` is how hard the stroke was played, as MIDI velocity 1-127 from its loudness, or
    None when the hit finder cannot tell (the AnNOTEator model); then no ghost notes, accents or
    dynamics are written and the MIDI file plays every stroke at one default velocity.
    """

    time: float
    instrument: str
    confidence: float
    velocity: int | None = None


@dataclass(frozen=True)
class TempoChange:
    """A metronome mark inside the song: from ``bar`` (1-based) on, the counted tempo is ``bpm``."""

    bar: int
    bpm: float


@dataclass(frozen=True)
class TempoGrid:
    """Where the beats and bars are.

    A beat is one ``beat_unit`` note (a quarter in 4/4, an eighth in 6/8). ``bpm`` is the tempo a
    drummer counts and a metronome mark shows: quarters in x/4, dotted quarters (``beats_per_pulse``
    = 3 beats) in 6/8, 9/8 and 12/8, eighths in other x/8 meters; it is the song's main (median)
    tempo, written at bar 1 unless ``tempo_changes`` says otherwise.
    ``beats`` are beat times in seconds covering the whole song (extrapolated before the first and
    after the last detected beat); ``downbeat`` is the index in ``beats`` of the first beat of bar 1.
    ``pickup_beats`` beats before the downbeat are a pickup bar (bar 0, written as a short measure
    with ``implicit="yes"``); with 0, music before bar 1 is pulled onto its downbeat.
    ``tempo_changes`` are the sections whose tempo moves away from ``bpm``, in bar order; each
    is written as a metronome mark at its bar, and a later change back to ``bpm`` is listed too.
    """

    bpm: float
    beats: tuple[float, ...]
    downbeat: int
    beats_per_bar: int
    beat_unit: int
    pickup_beats: int = 0
    tempo_changes: tuple[TempoChange, ...] = ()
    alternative_bpm: float | None = None

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

    def tempo_at_bar(self, bar: int) -> float:
        """The counted tempo written for ``bar``: the last change at or before it, else ``bpm``."""
        tempo = self.bpm
        for change in self.tempo_changes:
            if change.bar <= bar:
                tempo = change.bpm
        return tempo


@dataclass(frozen=True)
class PlacedHit:
    """A hit on the grid: bar (1-based; 0 is a pickup bar), beat in the bar (1-based), and the slot.

    A pickup bar's beats are numbered as in a full bar: a two-beat pickup in 4/4 holds beats 3 and 4.

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


# The drum key for every instrument a Hit can carry (shared/docs/NOTATION.md): GM note, staff
# position under the percussion clef, notehead, voice (1 hands, 2 feet).
DRUM_KEY: dict[str, DrumSound] = {
    "kick": DrumSound("Bass Drum 1", 36, "F", 4, "normal", 2),
    "snare": DrumSound("Acoustic Snare", 38, "C", 5, "normal", 1),
    "cross_stick": DrumSound("Side Stick", 37, "C", 5, "x", 1),
    "hihat_closed": DrumSound("Closed Hi-Hat", 42, "G", 5, "x", 1),
    "hihat_open": DrumSound("Open Hi-Hat", 46, "G", 5, "circle-x", 1),
    "hihat_pedal": DrumSound("Pedal Hi-Hat", 44, "D", 4, "x", 2),
    "ride": DrumSound("Ride Cymbal 1", 51, "F", 5, "x", 1),
    "ride_bell": DrumSound("Ride Bell", 53, "F", 5, "diamond", 1),
    "crash": DrumSound("Crash Cymbal 1", 49, "A", 5, "x", 1),
    "tom_high": DrumSound("High Tom", 50, "E", 5, "normal", 1),
    "tom_mid": DrumSound("Low-Mid Tom", 47, "D", 5, "normal", 1),
    "tom_floor": DrumSound("High Floor Tom", 43, "A", 4, "normal", 1),
}
