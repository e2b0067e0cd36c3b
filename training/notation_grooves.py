"""Drum grooves written out bar by bar, in the meters the Groove MIDI Dataset lacks.

Each ``Groove`` is what a drummer's chart shows: a time signature, a tempo range for the counted pulse
(quarters in x/4, dotted quarters in 6/8 and 12/8, eighths in 7/8), and one or more bars of pattern,
one line per instrument. A line has ``steps_per_beat`` characters per beat unit (quarter in x/4,
eighth in x/8): ``X`` accent, ``x`` normal, ``o`` medium, ``g`` ghost, ``.`` rest. A groove of
several bars plays them in turn (a two-bar pattern, or normal time then half time), or, with
``bars_per_pattern`` 0, one of them through the piece.

``fill`` says how phrase-ending fills are played: over the last ``beats`` beat units of the bar, in
strokes ``steps`` to the beat unit (4 = 16ths of a quarter, 3 = 8th-note triplets, 2 = 16ths of an
eighth).

The charts follow the conventions ``groovesheet_worker.pipeline.meter`` writes by: a shuffle and a
jazz ride are 4/4 with triplets, a slow triplet ballad is 12/8, a half-time feel keeps the song's
tempo with the snare on 3.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

# MIDI velocity of each pattern letter.
VELOCITY_OF: dict[str, int] = {"X": 118, "x": 92, "o": 70, "g": 38}


@dataclass(frozen=True)
class Fill:
    beats: int
    steps: int


@dataclass(frozen=True)
class Groove:
    style: str
    time_signature: str
    bpm_range: tuple[float, float]
    steps_per_beat: int
    bars: tuple[dict[str, str], ...]
    fill: Fill
    # Bars of the groove to play before switching to the next bar pattern (1: alternate every bar);
    # 0: the bar patterns are variants, one of them is played through the piece.
    bars_per_pattern: int = 1

    @property
    def beats_per_bar(self) -> int:
        return int(self.time_signature.split("/")[0])

    @property
    def beat_unit(self) -> int:
        return int(self.time_signature.split("/")[1])

    def strokes(self, pattern: int) -> list[tuple[Fraction, str, int]]:
        """(beat in the bar as an exact fraction of beat units, class, velocity) of one bar pattern."""
        bar = self.bars[pattern % len(self.bars)]
        out = []
        for cls, line in bar.items():
            if len(line) != self.beats_per_bar * self.steps_per_beat:
                raise ValueError(f"{self.style}: the {cls} line has {len(line)} steps, not a whole bar")
            for step, letter in enumerate(line):
                if letter != ".":
                    out.append((Fraction(step, self.steps_per_beat), cls, VELOCITY_OF[letter]))
        return sorted(out)


GROOVES: tuple[Groove, ...] = (
    Groove(
        "rock",
        "4/4",
        (80.0, 150.0),
        2,
        ({"kick": "X...x.x.", "snare": "..X...X.", "hihat_closed": "xoxoxoxo"},),
        Fill(1, 4),
    ),
    Groove(
        "polka",
        "2/4",
        (100.0, 140.0),
        2,
        ({"kick": "X.x.", "snare": ".x.x", "hihat_closed": ".o.o"},),
        Fill(1, 4),
    ),
    Groove(
        "samba",
        "2/4",
        (88.0, 112.0),
        4,
        (
            {
                "kick": "o..xX..x",
                "hihat_closed": "XoxoXoxo",
                "cross_stick": "..x..x.x",
                "hihat_pedal": "..x...x.",
            },
        ),
        Fill(1, 4),
    ),
    Groove(
        "waltz",
        "3/4",
        (88.0, 176.0),
        2,
        ({"kick": "X.....", "snare": "..x.x.", "hihat_closed": "x.x.x."},),
        Fill(1, 4),
    ),
    Groove(
        "jazz waltz",
        "3/4",
        (110.0, 170.0),
        3,
        ({"ride": "x..x.xx..", "hihat_pedal": "...x.....", "kick": "o........", "snare": "..g.....g"},),
        Fill(1, 3),
    ),
    Groove(
        "rock 5/4",
        "5/4",
        (96.0, 160.0),
        2,
        ({"kick": "X.....x...", "snare": "....X...X.", "hihat_closed": "x.x.x.x.x."},),
        Fill(1, 4),
    ),
    Groove(
        "6/8",
        "6/8",
        (48.0, 84.0),
        2,
        (
            {"kick": "X...x.......", "snare": "......X.....", "hihat_closed": "x.x.x.x.x.x."},
            {"kick": "X.........x.", "snare": "......X.....", "hihat_closed": "x.x.x.x.x.x."},
        ),
        Fill(3, 2),
        bars_per_pattern=0,
    ),
    Groove(
        "7/8",
        "7/8",
        (180.0, 300.0),
        2,
        ({"kick": "X.......x.....", "snare": "....X.....X...", "hihat_closed": "x.x.x.x.x.x.x."},),
        Fill(3, 2),
    ),
    Groove(
        "12/8 ballad",
        "12/8",
        (40.0, 68.0),
        1,
        (
            {"kick": "X.....x.x...", "snare": "...X.....X..", "ride": "xoo" * 4},
            {"kick": "X....xX.....", "snare": "...X.....X..", "hihat_closed": "xoo" * 4},
        ),
        Fill(3, 2),
        bars_per_pattern=0,
    ),
    Groove(
        "shuffle",
        "4/4",
        (100.0, 168.0),
        3,
        ({"kick": "x.....x.x...", "snare": "...X.....X..", "hihat_closed": "x.ox.ox.ox.o"},),
        Fill(1, 3),
    ),
    Groove(
        "jazz ride",
        "4/4",
        (120.0, 240.0),
        3,
        (
            {
                "ride": "x..x.ox..x.o",
                "hihat_pedal": "...x.....x..",
                "kick": "g..g..g..g..",
                "snare": ".......g....",
            },
            {
                "ride": "x..x.ox..x.o",
                "hihat_pedal": "...x.....x..",
                "kick": "g..g..g..g..",
                "snare": "..g.......g.",
            },
        ),
        Fill(1, 3),
    ),
    Groove(
        "half time",
        "4/4",
        (128.0, 172.0),
        2,
        (
            {"kick": "X...x...", "snare": "..X...X.", "hihat_closed": "xoxoxoxo"},
            {"kick": "X.....x.", "snare": "....X...", "hihat_closed": "xoxoxoxo"},
        ),
        Fill(1, 4),
        bars_per_pattern=4,
    ),
    Groove(
        "slow ballad",
        "4/4",
        (40.0, 58.0),
        4,
        (
            {
                "kick": "X.....x...x.....",
                "snare": "....X.......X...",
                "hihat_closed": "xoooxoooxoooxooo",
            },
        ),
        Fill(1, 4),
    ),
    Groove(
        "fast punk",
        "4/4",
        (196.0, 240.0),
        2,
        ({"kick": "X.x.X.x.", "snare": "..X...X.", "hihat_closed": "x.x.x.x."},),
        Fill(1, 2),
    ),
)

GROOVES_BY_STYLE: dict[str, Groove] = {groove.style: groove for groove in GROOVES}
