"""Ghost notes, accents, open and pedal hi-hats: how each stroke is judged against its bar."""

from __future__ import annotations

import pytest

from groovesheet_worker.pipeline.articulation import (
    ACCENT,
    ARTICULATIONS,
    GHOST,
    NORMAL,
    OPEN,
    PEDAL,
    articulation_among,
    articulations,
)
from groovesheet_worker.pipeline.types import INSTRUMENTS, Hit


def bar_of(instrument: str, *velocities: int | None, bar: int = 1) -> list[tuple[int, Hit]]:
    return [(bar, Hit(0.1 * k, instrument, 0.9, v)) for k, v in enumerate(velocities)]


def marks(instrument: str, *velocities: int | None) -> list[str]:
    return articulations(bar_of(instrument, *velocities))


def test_snare_below_fifty_is_a_ghost_note_even_alone() -> None:
    assert marks("snare", 49) == [GHOST]
    assert marks("snare", 50) == [NORMAL]
    assert marks("cross_stick", 40) == [GHOST]
    # The backbeat stays plain: ghost notes around it do not make it an accent.
    assert marks("snare", 100, 35, 30, 100, 40, 35) == [NORMAL, GHOST, GHOST, NORMAL, GHOST, GHOST]


def test_a_drum_far_below_its_bar_is_a_ghost_note() -> None:
    # A feathered kick under full kicks; a quiet tom among loud ones.
    assert marks("kick", 110, 110, 40) == [NORMAL, NORMAL, GHOST]
    assert marks("tom_floor", 100, 100, 45) == [NORMAL, NORMAL, GHOST]
    # Half as loud but at mf or above is not a ghost note.
    assert marks("kick", 127, 127, 63)[2] == GHOST
    assert marks("kick", 127, 127, 64)[2] == NORMAL
    # A soft passage is soft, not a bar of ghost notes.
    assert marks("kick", 40, 40, 40) == [NORMAL] * 3


def test_cymbals_and_hihats_are_never_ghost_notes() -> None:
    for instrument in ("hihat_closed", "ride", "ride_bell", "crash"):
        assert GHOST not in marks(instrument, 100, 100, 20), instrument


def test_an_accent_stands_clearly_above_the_bars_other_strokes() -> None:
    assert marks("hihat_closed", 120, 75, 75, 75, 75, 75, 75, 75) == [ACCENT] + [NORMAL] * 7
    assert marks("hihat_closed", 94, 75, 75, 75)[0] == NORMAL  # 19 above: not clearly louder
    assert marks("hihat_closed", 95, 75, 75, 75)[0] == ACCENT
    # Two accents in one bar are both accents.
    assert marks("ride", 115, 70, 70, 70, 115, 70, 70, 70).count(ACCENT) == 2
    # Loud downbeats and soft upbeats are how a drummer plays 8ths, not accents.
    assert marks("hihat_closed", 90, 60, 90, 60, 90, 60, 90, 60) == [NORMAL] * 8


def test_ghost_notes_do_not_make_the_main_strokes_accents() -> None:
    assert marks("snare", 100, 30, 30, 30, 30, 30) == [NORMAL] + [GHOST] * 5
    assert marks("snare", 125, 95, 30, 30) == [ACCENT, NORMAL, GHOST, GHOST]


def test_open_and_pedal_come_from_the_instrument_and_win() -> None:
    assert marks("hihat_open", 127, 60, 60, None) == [OPEN] * 4
    assert marks("hihat_pedal", 20, 100, None) == [PEDAL] * 3


def test_without_velocity_nothing_is_marked() -> None:
    for instrument in INSTRUMENTS:
        expected = {"hihat_open": OPEN, "hihat_pedal": PEDAL}.get(instrument, NORMAL)
        assert set(marks(instrument, None, None, None)) == {expected}
    # Unknown strokes are not the bar's "others" either.
    assert marks("snare", 120, None, None) == [NORMAL, NORMAL, NORMAL]


def test_each_bar_and_instrument_is_judged_on_its_own() -> None:
    strokes = [
        *bar_of("hihat_closed", 120, bar=1),
        *bar_of("hihat_closed", 75, 75, 75, bar=2),
        *bar_of("snare", 75, 75, 75, bar=1),
    ]
    # 120 is alone in bar 1: nothing to stand out from; bar 1's snares are not its "others".
    assert articulations(strokes) == [NORMAL] * 7
    assert set(articulations(strokes)) <= set(ARTICULATIONS)


def test_a_stroke_against_the_sheet() -> None:
    sheet = [
        Hit(0.0, "hihat_closed", 0.9, 70),
        Hit(0.25, "hihat_closed", 0.9, 70),
        Hit(0.0, "kick", 0.9, 127),
    ]
    assert articulation_among(Hit(0.5, "hihat_closed", 0.9, 110), sheet) == ACCENT
    assert articulation_among(Hit(0.5, "snare", 0.9, 30), sheet) == GHOST
    assert articulation_among(Hit(0.5, "hihat_closed", 0.9, None), sheet) == NORMAL
    # The hit itself among the sheet's strokes is not its own "other".
    loud = Hit(0.5, "hihat_closed", 0.9, 110)
    assert articulation_among(loud, [*sheet, loud]) == ACCENT


@pytest.mark.parametrize("instrument", INSTRUMENTS)
def test_every_instrument_gets_one_known_articulation(instrument: str) -> None:
    assert set(marks(instrument, 127, 90, 30, None)) <= set(ARTICULATIONS)
