"""Quantize hits to the beat grid (stage 6).

Each beat is written either in 16th notes or in 8th-note triplets. A chart keeps one feel: when one
division fits the song's hits clearly better overall (it prevails), a beat leaves it only where the
other fits that beat's hits clearly better (a triplet fill in a 16th-note groove), not for a swung or
late 16th that a triplet happens to fit a little better; without a prevailing division (a swung
groove, half straight) each beat takes whichever moves its hits less (16ths win ties, they are the
more common reading). In x/8 meters the beat is an eighth and is split into two 16ths.

Pickup: the grid's ``pickup_beats`` beats before bar 1 are bar 0, a short measure whose beats are
numbered as in a full bar (a two-beat pickup in 4/4 holds beats 3 and 4). A hit that still lands
before the first written beat (a grid made elsewhere, or a hit a hair early) is moved onto it:
nothing is dropped.

On the sheet each slot holds one note per staff position: instruments that share a line (closed and
open hi-hat, ride and ride bell, snare and cross-stick) cannot both be drawn there, so the most
confident of them is written; the others stay in events.json at that slot.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from groovesheet_worker.pipeline.beat_grid import beat_index_at
from groovesheet_worker.pipeline.types import DRUM_KEY, Hit, PlacedHit, TempoGrid

SIXTEENTHS = 4
EIGHTH_TRIPLETS = 3
# A beat is written in another division than the song's prevailing one only where that moves its
# hits less than this share of what the prevailing one moves them.
SWITCH_RATIO = 0.5
# A division prevails when it moves the song's hits at most this share of what the other moves them;
# a song without one (swung, half straight) has each beat written as it fits best.
PREVAILING_RATIO = 0.8


def divisions_for(grid: TempoGrid) -> tuple[int, ...]:
    """Ways a beat may be split, preferred first: 16ths or 8th-note triplets for a quarter beat."""
    return (SIXTEENTHS, EIGHTH_TRIPLETS) if grid.beat_unit == 4 else (2,)


def place_hits(hits: Sequence[Hit], grid: TempoGrid) -> list[PlacedHit]:
    """Hits on the grid, one per staff position and slot (the most confident wins), in time order."""
    kept: dict[tuple[int, int, int, object], PlacedHit] = {}
    for placed in locate_hits(hits, grid):
        key = (placed.bar, placed.beat, placed.slot, _staff_position(placed.hit.instrument))
        if key not in kept or placed.hit.confidence > kept[key].hit.confidence:
            kept[key] = placed
    return sorted(kept.values(), key=lambda p: (p.bar, p.beat, p.slot / p.division, p.hit.instrument))


def _staff_position(instrument: str) -> object:
    """Where the instrument is written; a name outside the drum key is its own position."""
    sound = DRUM_KEY.get(instrument)
    return instrument if sound is None else (sound.display_step, sound.display_octave, sound.voice)


def locate_hits(hits: Sequence[Hit], grid: TempoGrid) -> list[PlacedHit]:
    """Every hit's place on the grid, in the order given, before merging (what events.json reports)."""
    if not hits:
        return []
    choices = divisions_for(grid)
    # Position in beats from bar 1's downbeat; early hits are pulled onto the first written beat.
    first = -float(grid.pickup_beats)
    positions = [max(first, beat_index_at(grid, hit.time) - grid.downbeat) for hit in hits]
    # A hit belongs to the beat whose finest grid (16ths) it rounds into.
    finest = max(choices)
    owners = [math.floor(pos + 0.5 / finest) for pos in positions]
    by_beat: dict[int, list[int]] = {}
    for i, beat in enumerate(owners):
        by_beat.setdefault(beat, []).append(i)

    divisions = _beat_divisions(positions, by_beat, choices)
    placed = []
    for hit, pos, beat in zip(hits, positions, owners, strict=True):
        slot = math.floor((pos - beat) * divisions[beat] + 0.5)
        if slot >= divisions[beat]:
            # Rounded onto the next beat's downbeat: it takes that beat's division.
            beat, slot = beat + 1, 0
        placed.append(_placed(hit, beat, divisions.get(beat, choices[0]), max(slot, 0), grid))
    return placed


def _beat_divisions(
    positions: list[float], by_beat: dict[int, list[int]], choices: tuple[int, ...]
) -> dict[int, int]:
    """Each beat's division: the song's prevailing one unless another moves its hits clearly less.

    A division prevails when it moves the song's hits at most PREVAILING_RATIO times as much as the
    other; a beat then leaves it only where another moves that beat's hits less than SWITCH_RATIO
    times as much. Without one, each beat takes the division that moves its hits least.
    """
    if len(choices) < 2:
        return dict.fromkeys(by_beat, choices[0])
    errors = {
        beat: {d: _timing_error(positions, members, beat, d) for d in choices}
        for beat, members in by_beat.items()
    }
    totals = {d: sum(e[d] for e in errors.values()) for d in choices}
    ranked = sorted(choices, key=lambda d: (totals[d], choices.index(d)))
    prevailing = ranked[0] if totals[ranked[0]] < PREVAILING_RATIO * totals[ranked[1]] else None
    out = {}
    for beat, error in errors.items():
        best = min(choices, key=lambda d: (error[d], choices.index(d)))
        if prevailing is None or best == prevailing or error[best] < SWITCH_RATIO * error[prevailing]:
            out[beat] = best
        else:
            out[beat] = prevailing
    return out


def _timing_error(positions: list[float], members: list[int], beat: int, division: int) -> float:
    total = 0.0
    for i in members:
        offset = (positions[i] - beat) * division
        total += abs(offset - math.floor(offset + 0.5)) / division
    return total


def _placed(hit: Hit, beat: int, division: int, slot: int, grid: TempoGrid) -> PlacedHit:
    bar, beat_in_bar = divmod(beat, grid.beats_per_bar)
    return PlacedHit(hit=hit, bar=bar + 1, beat=beat_in_bar + 1, division=division, slot=slot)
