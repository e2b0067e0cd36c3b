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


@dataclass(frozen=True)
class PlacedHit:
    """A hit on the grid: bar (1-based), beat in the bar (1-based), and the slot within the beat.

    ``division`` is 4 (16th notes) or 3 (8th-note triplets) for the beat the hit is in, and
    ``slot`` is 0..division-1.
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
