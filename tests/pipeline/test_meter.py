"""Meter: the groove's period names the time signature, by a drummer's conventions."""

from __future__ import annotations

import numpy as np
import pytest

from groovesheet_worker.pipeline.meter import (
    choose_meter,
    groove_matrix,
    groove_period,
    has_backbeat,
    hinted_meter,
    kick_accents_alternate,
    kick_on_every_pulse,
    meter_for_period,
    repetition,
)
from groovesheet_worker.pipeline.pulse_evidence import SIXTEENTHS, TRIPLETS
from groovesheet_worker.pipeline.rhythm_analysis import analyse
from groovesheet_worker.pipeline.tempo import PulseReading, read_pulse
from groovesheet_worker.pipeline.time_signature import Meter
from groovesheet_worker.pipeline.types import Hit
from tests.pipeline.generated_music import SR, audio_of, groove_piece, hits_of


def even_reading(bpm: float, count: int, subdivision: int = SIXTEENTHS, start: float = 0.5) -> PulseReading:
    return PulseReading(bpm, subdivision, start + 60.0 / bpm * np.arange(count))


def groove_hits(bar: dict[str, list[float]], beats_per_bar: int, bars: int, bpm: float) -> list[Hit]:
    """Strokes at beat positions of a bar pattern, repeated; kick and snare at velocity 100."""
    beat = 60.0 / bpm
    return [
        Hit(0.5 + (b * beats_per_bar + pos) * beat, name, 1.0, 100)
        for b in range(bars)
        for name, positions in bar.items()
        for pos in positions
    ]


@pytest.mark.parametrize(
    ("period", "compound", "two_beat_bar", "bpm", "expected"),
    [
        (1, False, True, 120, "4/4"),
        (2, False, False, 120, "4/4"),
        (2, False, True, 120, "2/4"),
        (3, False, False, 150, "3/4"),
        (3.5, False, False, 120, "7/8"),
        (4, False, False, 100, "4/4"),
        (5, False, False, 120, "5/4"),
        (6, False, False, 150, "3/4"),
        (7, False, False, 200, "7/8"),
        (8, False, False, 100, "4/4"),
        (1, True, False, 60, "6/8"),
        (2, True, False, 60, "6/8"),
        (4, True, False, 55, "12/8"),
        (8, True, False, 55, "12/8"),
    ],
)
def test_a_period_is_written_in_its_time_signature(
    period: float, compound: bool, two_beat_bar: bool, bpm: float, expected: str
) -> None:
    assert meter_for_period(period, compound, two_beat_bar, bpm).time_signature == expected


def test_repetition_of_a_waltz_is_best_at_three_pulses() -> None:
    hits = groove_hits({"kick": [0], "snare": [1, 2], "hihat_closed": [0, 0.5, 1, 1.5, 2, 2.5]}, 3, 8, 150)
    analysis = analyse(np.zeros(0, dtype=np.float32), SR, hits)
    matrix = groove_matrix(even_reading(150, 30).pulses, analysis, SIXTEENTHS)
    scores = {p: repetition(matrix, p, SIXTEENTHS) for p in (1, 2, 3, 4)}
    assert scores[3] == pytest.approx(1.0)
    assert max(scores[1], scores[2], scores[4]) < 0.8
    assert groove_period(scores) == 3


def test_repetition_needs_two_periods_of_music() -> None:
    assert repetition(np.ones((4, 10)), 4, SIXTEENTHS) is None
    assert repetition(np.ones((4, 40)), 0.5, TRIPLETS) is None  # not a whole number of grid steps


def test_phrase_marks_do_not_flatter_long_periods() -> None:
    assert groove_period({1: 0.5, 2: 0.86, 3: 0.5, 4: 0.85, 6: 0.85, 8: 0.94}) == 2
    assert groove_period({1: 0.5, 2: 0.85, 4: 0.87, 8: 0.91}) == 2
    assert groove_period({1: 0.5, 2: 0.6, 3: 0.5, 4: 0.62, 8: 0.9}) == 8


def test_a_bar_twice_as_long_is_chosen_when_its_halves_differ_by_more_than_the_tolerance() -> None:
    """A 12/8 ballad (a kick on pulse 3 that pulse 1 does not have) heard through HitNet repeats 0.03
    better over four pulses than over two: 12/8, not 6/8; a 6/8 groove repeats about as well."""
    ballad = {1: 0.548, 2: 0.721, 3: 0.487, 4: 0.754, 6: 0.716, 8: 0.872}
    assert groove_period(ballad) == 4
    assert meter_for_period(groove_period(ballad), True, False, 60.0) == Meter(12, 8)
    six_eight = {1: 0.49, 2: 0.836, 3: 0.496, 4: 0.845, 6: 0.831, 8: 0.812}
    assert meter_for_period(groove_period(six_eight), True, False, 80.0) == Meter(6, 8)


def test_an_odd_bar_length_must_repeat_clearly_better_than_four_fours() -> None:
    assert groove_period({1: 0.4, 2: 0.5, 3: 0.92, 4: 0.5, 6: 0.9, 8: 0.5}) == 3
    assert groove_period({1: 0.6, 2: 0.7, 3.5: 0.95, 4: 0.72, 7: 0.96, 8: 0.7}) == 3.5
    # A noisy groove that repeats about as well at five as at four is read in four.
    assert groove_period({1: 0.5, 2: 0.62, 3: 0.6, 4: 0.64, 5: 0.66, 8: 0.65}) == 2


def test_backbeat_is_the_snare_on_every_other_pulse() -> None:
    rock = groove_hits({"kick": [0, 2], "snare": [1, 3]}, 4, 6, 120)
    polka = groove_hits({"kick": [0, 1], "snare": [0.5, 1.5]}, 2, 12, 120)
    reading = even_reading(120, 30)
    assert has_backbeat(analyse(np.zeros(0, dtype=np.float32), SR, rock), reading)
    assert not has_backbeat(analyse(np.zeros(0, dtype=np.float32), SR, polka), reading)


def test_a_two_four_groove_has_the_kick_on_every_pulse() -> None:
    reading = even_reading(120, 30)
    polka = groove_hits({"kick": [0, 1], "snare": [0.5, 1.5]}, 2, 12, 120)
    rock = groove_hits({"kick": [0, 2.5], "snare": [1, 3]}, 4, 6, 120)
    assert kick_on_every_pulse(analyse(np.zeros(0, dtype=np.float32), SR, polka), reading)
    assert not kick_on_every_pulse(analyse(np.zeros(0, dtype=np.float32), SR, rock), reading)


def test_an_oom_pah_kick_is_accented_on_every_other_pulse() -> None:
    reading = even_reading(120, 30)
    oom_pah = [Hit(0.5 + n * 0.5, "kick", 1.0, 118 if n % 2 == 0 else 90) for n in range(24)]
    even = [Hit(0.5 + n * 0.5, "kick", 1.0, 100) for n in range(24)]
    assert kick_accents_alternate(analyse(np.zeros(0, dtype=np.float32), SR, oom_pah), reading)
    assert not kick_accents_alternate(analyse(np.zeros(0, dtype=np.float32), SR, even), reading)


def test_a_kick_louder_on_every_other_pulse_in_the_median_only_is_not_an_oom_pah() -> None:
    """Medians 110 against 90, but the "accented" kick is louder than the next one in 7 bars of 12:
    a hit finder's uneven loudness, not an accent a drummer plays bar after bar."""
    reading = even_reading(120, 30)
    accented = [110, 60, 110, 60, 110, 110, 60, 110, 60, 110, 60, 110]
    kicks = [Hit(0.5 + n * 0.5, "kick", 1.0, accented[n // 2] if n % 2 == 0 else 90) for n in range(24)]
    assert not kick_accents_alternate(analyse(np.zeros(0, dtype=np.float32), SR, kicks), reading)


def test_jazz_backbeat_is_the_pedal_hihat() -> None:
    jazz = groove_hits({"ride": [0, 1, 5 / 3, 2, 3, 11 / 3], "hihat_pedal": [1, 3]}, 4, 6, 160)
    assert has_backbeat(analyse(np.zeros(0, dtype=np.float32), SR, jazz), even_reading(160, 30, TRIPLETS))


@pytest.mark.parametrize(
    ("style", "seed"),
    [("waltz", 1), ("polka", 2), ("rock 5/4", 3), ("12/8 ballad", 4), ("7/8", 5), ("shuffle", 6)],
)
def test_generated_grooves_get_their_time_signature(style: str, seed: int) -> None:
    piece = groove_piece(style, seed)
    analysis = analyse(audio_of(piece), SR, hits_of(piece))
    assert choose_meter(analysis, read_pulse(analysis)).meter.time_signature == piece.score.time_signature


def test_seven_eight_tracked_in_quarters_splits_each_pulse_in_two() -> None:
    assert hinted_meter(Meter(7, 8), even_reading(120, 8)).beats_per_tracked_pulse == 2
    assert hinted_meter(Meter(7, 8), even_reading(200, 8)).beats_per_tracked_pulse == 1
    assert hinted_meter(Meter(6, 8), even_reading(70, 8, TRIPLETS)).beats_per_tracked_pulse == 3
    assert hinted_meter(Meter(3, 4), even_reading(150, 8)).beats_per_tracked_pulse == 1
