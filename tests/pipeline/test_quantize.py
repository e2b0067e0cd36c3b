"""Quantizing hits to 16ths or 8th-note triplets on an even grid."""

from __future__ import annotations

from dataclasses import replace

import pytest

from groovesheet_worker.pipeline.quantize import locate_hits, place_hits
from groovesheet_worker.pipeline.types import Hit, TempoGrid

BEAT = 0.5  # 120 BPM


def even_grid(beats_per_bar: int = 4, beat_unit: int = 4, start: float = 1.0, count: int = 40) -> TempoGrid:
    """Beats every half second; bar 1 starts at ``start`` (two beats of lead-in before it)."""
    beats = tuple(start - 2 * BEAT + i * BEAT for i in range(count))
    bpm = 120.0 / (3 if beat_unit == 8 and beats_per_bar % 3 == 0 else 1)
    return TempoGrid(bpm=bpm, beats=beats, downbeat=2, beats_per_bar=beats_per_bar, beat_unit=beat_unit)


def where(placed) -> list[tuple[int, int, int, int, str]]:
    return [(p.bar, p.beat, p.division, p.slot, p.hit.instrument) for p in placed]


def test_sixteenths_with_human_timing() -> None:
    grid = even_grid()
    hits = [
        Hit(1.0 + k * BEAT / 4 + jitter, "hihat_closed", 0.8)
        for k, jitter in enumerate((0.01, -0.012, 0.008, -0.01))
    ]
    assert where(place_hits(hits, grid)) == [(1, 1, 4, k, "hihat_closed") for k in range(4)]


def test_triplets_win_when_they_fit_better() -> None:
    grid = even_grid()
    hits = [Hit(1.5 + k * BEAT / 3 + 0.005, "snare", 0.9) for k in range(3)]
    assert where(place_hits(hits, grid)) == [(1, 2, 3, k, "snare") for k in range(3)]


def test_the_choice_is_per_beat() -> None:
    grid = even_grid()
    sixteenths = [Hit(1.0 + k * BEAT / 4, "hihat_closed", 0.6) for k in range(4)]
    triplets = [Hit(1.5 + k * BEAT / 3, "tom_mid", 0.6) for k in range(3)]
    placed = place_hits(sixteenths + triplets, grid)
    assert {(p.beat, p.division) for p in placed} == {(1, 4), (2, 3)}


def beat_of(beat: int, fractions: tuple[float, ...], instrument: str = "hihat_closed") -> list[Hit]:
    """Hits at these fractions of beat ``beat`` (0-based from bar 1's downbeat)."""
    return [Hit(1.0 + (beat + f) * BEAT, instrument, 0.8) for f in fractions]


def test_a_late_sixteenth_in_a_sixteenth_groove_stays_a_sixteenth() -> None:
    """A swung "a" at 0.70 of the beat fits a triplet a little better; the groove is in 16ths."""
    grid = even_grid()
    groove = [hit for beat in range(8) for hit in beat_of(beat, (0.0, 0.25, 0.5, 0.75))]
    late = beat_of(8, (0.0, 0.70))
    placed = place_hits(groove + late, grid)
    assert {p.division for p in placed} == {4}
    assert where(placed)[-2:] == [(3, 1, 4, 0, "hihat_closed"), (3, 1, 4, 3, "hihat_closed")]


def test_a_triplet_fill_in_a_sixteenth_groove_stays_triplets() -> None:
    grid = even_grid()
    groove = [hit for beat in range(8) for hit in beat_of(beat, (0.0, 0.25, 0.5, 0.75))]
    fill = beat_of(8, (0.0, 1 / 3 + 0.01, 2 / 3 - 0.01), "tom_mid")
    placed = place_hits(groove + fill, grid)
    assert [(p.beat, p.division, p.slot) for p in placed if p.hit.instrument == "tom_mid"] == [
        (1, 3, 0),
        (1, 3, 1),
        (1, 3, 2),
    ]


def test_without_a_prevailing_division_each_beat_is_written_as_it_fits() -> None:
    """Half the beats lean to triplets, half to 16ths, none clearly: neither feel is forced on all."""
    grid = even_grid()
    swung = [hit for beat in range(0, 8, 2) for hit in beat_of(beat, (0.0, 0.69))]
    straight = [hit for beat in range(1, 8, 2) for hit in beat_of(beat, (0.0, 0.72))]
    placed = place_hits(swung + straight, grid)
    assert {(p.beat - 1) % 2: p.division for p in placed if p.slot} == {0: 3, 1: 4}


def test_ties_go_to_sixteenths() -> None:
    grid = even_grid()
    hits = [Hit(1.0, "kick", 0.9), Hit(1.5, "snare", 0.9)]  # on the beats only: both grids fit exactly
    assert [p.division for p in place_hits(hits, grid)] == [4, 4]


def test_bar_and_beat_numbers() -> None:
    grid = even_grid()
    hits = [Hit(1.0 + 4 * BEAT, "kick", 0.9), Hit(1.0 + 7 * BEAT + BEAT / 2, "snare", 0.9)]
    assert where(place_hits(hits, grid)) == [(2, 1, 4, 0, "kick"), (2, 4, 4, 2, "snare")]
    assert place_hits(hits, grid)[1].beat_position == 4.5


def test_late_hit_rounds_onto_the_next_beat() -> None:
    grid = even_grid()
    hits = [Hit(1.0 + 3 * BEAT - 0.02, "snare", 0.9)]  # a hair before beat 4
    assert where(place_hits(hits, grid)) == [(1, 4, 4, 0, "snare")]
    last_of_bar = [Hit(1.0 + 4 * BEAT - 0.02, "crash", 0.9)]
    assert where(place_hits(last_of_bar, grid)) == [(2, 1, 4, 0, "crash")]


def test_flams_merge_keeping_the_most_confident_hit() -> None:
    grid = even_grid()
    soft, loud = Hit(1.5 - 0.015, "snare", 0.4), Hit(1.5 + 0.01, "snare", 0.95)
    kick = Hit(1.5, "kick", 0.7)
    placed = place_hits([soft, loud, kick], grid)
    assert len(placed) == 2
    snare = next(p for p in placed if p.hit.instrument == "snare")
    assert snare.hit is loud
    # Before merging, every hit still has its place.
    assert len(locate_hits([soft, loud, kick], grid)) == 3


def test_different_instruments_on_one_slot_are_kept() -> None:
    grid = even_grid()
    hits = [Hit(1.0, instrument, 0.8) for instrument in ("kick", "crash", "hihat_closed")]
    assert len(place_hits(hits, grid)) == 3
    # Instruments on different staff positions at one time are all written.
    kit = [
        "kick",
        "snare",
        "hihat_pedal",
        "hihat_closed",
        "ride",
        "crash",
        "tom_high",
        "tom_mid",
        "tom_floor",
    ]
    assert len(place_hits([Hit(1.0, name, 0.8) for name in kit], grid)) == len(kit)


@pytest.mark.parametrize(
    ("first", "second"), [("hihat_closed", "hihat_open"), ("ride", "ride_bell"), ("snare", "cross_stick")]
)
def test_instruments_sharing_a_line_keep_the_most_confident(first: str, second: str) -> None:
    """Two noteheads cannot sit on one line in one chord: the surer hit is written, the other merged."""
    grid = even_grid()
    for winner, loser in ((first, second), (second, first)):
        hits = [Hit(1.0, loser, 0.5), Hit(1.01, winner, 0.9), Hit(1.5, loser, 0.5)]
        assert where(place_hits(hits, grid)) == [(1, 1, 4, 0, winner), (1, 2, 4, 0, loser)]
        assert len(locate_hits(hits, grid)) == 3


def test_hits_before_bar_one_move_onto_its_downbeat() -> None:
    """Without a pickup nothing is dropped: a hit before bar 1 lands on bar 1, beat 1."""
    grid = even_grid()
    placed = place_hits([Hit(0.2, "snare", 0.9), Hit(1.0, "kick", 0.9)], grid)
    assert where(placed) == [(1, 1, 4, 0, "kick"), (1, 1, 4, 0, "snare")]


def test_a_pickup_is_bar_zero_counted_as_the_end_of_a_bar() -> None:
    grid = replace(even_grid(), pickup_beats=2)
    hits = [Hit(0.0, "snare", 0.9), Hit(0.25, "snare", 0.8), Hit(0.5 + BEAT / 4, "tom_floor", 0.8)]
    hits.append(Hit(1.0, "crash", 0.9))
    assert where(place_hits(hits, grid)) == [
        (0, 3, 4, 0, "snare"),
        (0, 3, 4, 2, "snare"),
        (0, 4, 4, 1, "tom_floor"),
        (1, 1, 4, 0, "crash"),
    ]
    # A hit before the pickup's first beat is pulled onto it, never dropped.
    assert where(place_hits([Hit(-0.3, "kick", 0.9)], grid)) == [(0, 3, 4, 0, "kick")]


def test_result_is_in_time_order() -> None:
    grid = even_grid()
    hits = [Hit(1.0 + k * 0.25, "hihat_closed", 0.5) for k in range(16)][::-1]
    placed = place_hits(hits, grid)
    assert [p.hit.time for p in placed] == sorted(h.time for h in hits)


@pytest.mark.parametrize("eighths", [0, 1, 2, 3, 4, 5])
def test_six_eight_beats_are_eighths_split_in_sixteenths(eighths: int) -> None:
    grid = even_grid(beats_per_bar=6, beat_unit=8)
    hit = Hit(1.0 + eighths * BEAT + BEAT / 2, "hihat_closed", 0.5)
    assert where(place_hits([hit], grid)) == [(1, eighths + 1, 2, 1, "hihat_closed")]


def test_no_hits() -> None:
    assert place_hits([], even_grid()) == []
