"""Bar lines: bar 1 where the crash, the kick on 1 and the opening say, and pickups as pickup bars."""

from __future__ import annotations

import numpy as np

from groovesheet_worker.pipeline.downbeat import choose_bar_start, phase_features
from groovesheet_worker.pipeline.rhythm_analysis import analyse
from groovesheet_worker.pipeline.time_signature import Meter
from groovesheet_worker.pipeline.types import Hit

SR = 44100
BEAT = 0.5
BEATS = np.arange(-8, 80) * BEAT  # index 8 is t = 0


FOUR_FOUR = Meter(4, 4)


def bar_start(hits: list[Hit], meter: Meter = FOUR_FOUR, pulse_offset: int = 0):
    analysis = analyse(np.zeros(0, dtype=np.float32), SR, sorted(hits, key=lambda h: h.time))
    return choose_bar_start(BEATS, analysis, meter, pulse_offset)


def at(beat: float) -> float:
    return beat * BEAT


def rock(first_beat: int, bars: int, kick_on_three: bool = True) -> list[Hit]:
    """Kick on 1 (and 3), snare on 2 and 4, 8th hi-hats, from ``first_beat``."""
    hits = []
    for n in range(bars * 4):
        beat = first_beat + n
        hits += [Hit(at(beat), "hihat_closed", 0.8, 80), Hit(at(beat + 0.5), "hihat_closed", 0.8, 70)]
        if n % 4 == 0 or (n % 4 == 2 and kick_on_three):
            hits.append(Hit(at(beat), "kick", 0.9, 100))
        if n % 2 == 1:
            hits.append(Hit(at(beat), "snare", 0.9, 100))
    return hits


def test_the_kick_on_one_starts_the_bar() -> None:
    start = bar_start(rock(0, 8, kick_on_three=False))
    assert (start.downbeat, start.pickup_beats) == (8, 0)


def test_a_crash_decides_between_kick_on_one_and_kick_on_three() -> None:
    hits = rock(0, 8) + [Hit(at(b), "crash", 0.9, 110) for b in (2, 18)]
    start = bar_start(hits)
    # Bar 1 is the crash's bar; the two beats before it are a pickup.
    assert (BEATS[start.downbeat], start.pickup_beats) == (at(2), 2)


def test_a_fill_leads_into_the_next_bar_line() -> None:
    hits = [h for h in rock(0, 8) if not 15 <= h.time / BEAT < 16]
    hits += [Hit(at(15 + k / 4), "tom_floor", 0.9, 100) for k in range(4)]
    features = phase_features(BEATS, list(analyse(np.zeros(0, np.float32), SR, hits).strokes), Meter(4, 4))
    assert features[0]["tom_before_one"] > features[2]["tom_before_one"]


def test_a_pickup_is_whole_beats_before_bar_one() -> None:
    pickup = [
        Hit(at(1), "snare", 0.9, 90),
        Hit(at(1.5), "snare", 0.9, 90),
        Hit(at(2.5), "tom_floor", 0.9, 90),
    ]
    hits = pickup + rock(4, 6, kick_on_three=False) + [Hit(at(4), "crash", 0.9, 110)]
    start = bar_start(hits)
    assert (BEATS[start.downbeat], start.pickup_beats) == (at(4), 3)


def test_music_starting_on_one_has_no_pickup() -> None:
    start = bar_start([*rock(3, 6, kick_on_three=False), Hit(at(3), "crash", 0.9, 110)])
    assert (BEATS[start.downbeat], start.pickup_beats) == (at(3), 0)


def test_a_compound_pickup_is_a_whole_pulse() -> None:
    six_eight = []
    for bar in range(6):
        one = 3 + bar * 6
        six_eight += [Hit(at(one), "kick", 0.9, 100), Hit(at(one + 3), "snare", 0.9, 100)]
        six_eight += [Hit(at(one + k), "hihat_closed", 0.8, 80) for k in range(6)]
    six_eight += [Hit(at(2), "snare", 0.8, 90), Hit(at(3), "crash", 0.9, 110)]
    # The dotted-quarter pulses start on the beats at t = 1.5 s, 3 s, ...: index 11 of BEATS.
    start = bar_start(six_eight, Meter(6, 8), pulse_offset=11)
    assert (BEATS[start.downbeat], start.pickup_beats) == (at(3), 3)


def test_no_strokes_put_bar_one_at_the_start() -> None:
    start = bar_start([])
    assert BEATS[start.downbeat] >= 0.0
    assert start.pickup_beats == 0


def test_a_kick_after_the_hi_hat_has_been_keeping_time_is_not_the_opening() -> None:
    # Hi-hat 8ths and a snare on 2 from beat 0; the first kick comes on 3 (beat 2).
    groove = [h for h in rock(0, 8, kick_on_three=False) if not (h.instrument == "kick" and h.time < at(2))]
    groove.append(Hit(at(2), "kick", 0.9, 100))
    features = phase_features(BEATS, list(analyse(np.zeros(0, np.float32), SR, groove).strokes), FOUR_FOUR)
    assert all(f["opening"] == 0.0 for f in features.values())


def test_a_kick_after_a_pickup_fill_is_the_opening() -> None:
    fill = [
        Hit(at(1), "snare", 0.9, 90),
        Hit(at(1.5), "tom_high", 0.9, 90),
        Hit(at(2.5), "tom_floor", 0.9, 90),
    ]
    hits = fill + rock(3, 6, kick_on_three=False)
    features = phase_features(BEATS, list(analyse(np.zeros(0, np.float32), SR, hits).strokes), FOUR_FOUR)
    assert features[3]["opening"] == 1.0
