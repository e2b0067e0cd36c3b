"""Peak picking: one hit per peak above its class threshold, sub-frame times, close peaks merged."""

from __future__ import annotations

import numpy as np

from groovesheet_worker.hitnet.peaks import (
    ECHO_SECONDS,
    FAINT_ACTIVATION,
    FAINT_RATIO,
    MIN_GAP_FRAMES,
    SAME_DRUM_FRAMES,
    STREAM_MAX_GAP_SECONDS,
    PeakRules,
    peak_rules,
    pick_peaks,
    same_drum_groups,
)


def _bump(n: int, centre: float, height: float) -> np.ndarray:
    f = np.arange(n)
    return height * np.exp(-0.5 * ((f - centre) / 0.8) ** 2)


def test_each_peak_above_threshold_is_one_hit_with_its_velocity() -> None:
    act = np.zeros((100, 2), dtype=np.float32)
    act[:, 0] = _bump(100, 20, 0.9) + _bump(100, 60, 0.3)
    act[:, 1] = _bump(100, 40.25, 0.8)
    vel = np.full_like(act, 0.5)
    vel[20, 0] = 0.9
    peaks = pick_peaks(act, vel, [0.5, 0.5])
    assert [p.cls for p in peaks] == [0, 1]
    assert peaks[0].time == 0.2 and abs(peaks[1].time - 0.4025) < 0.001
    assert abs(peaks[0].velocity - 0.9) < 1e-6 and peaks[0].activation > 0.89


def test_the_sub_frame_time_follows_the_parabola() -> None:
    act = _bump(50, 10.3, 1.0)[:, None].astype(np.float32)
    (peak,) = pick_peaks(act, np.zeros_like(act), [0.5])
    assert abs(peak.time - 0.103) < 0.002


def test_peaks_closer_than_the_minimum_gap_are_one_hit() -> None:
    act = np.zeros((40, 1), dtype=np.float32)
    act[10, 0], act[10 + MIN_GAP_FRAMES - 1, 0], act[30, 0] = 0.9, 0.8, 0.7
    assert [round(p.time, 2) for p in pick_peaks(act, np.zeros_like(act), [0.5])] == [0.1, 0.3]


def test_thresholds_are_per_class() -> None:
    act = np.zeros((30, 2), dtype=np.float32)
    act[10] = [0.4, 0.4]
    assert [p.cls for p in pick_peaks(act, np.zeros_like(act), [0.5, 0.3])] == [1]


def test_one_drum_sounds_one_way_at_a_time() -> None:
    """Snare and cross-stick at once: the one further above its own threshold stays."""
    classes = ("kick", "snare", "cross_stick")
    groups = same_drum_groups(classes)
    assert groups == [(1, 2)]
    act = np.zeros((60, 3), dtype=np.float32)
    act[10] = [0.9, 0.5, 0.3]  # snare 0.5/0.4 against cross-stick 0.3/0.15: cross-stick is surer
    act[40] = [0.0, 0.8, 0.2]  # snare far surer
    act[50, 2] = 0.6  # a cross-stick alone is untouched
    thresholds = [0.5, 0.4, 0.15]
    assert [
        (round(p.time, 2), p.cls)
        for p in pick_peaks(act, np.zeros_like(act), thresholds, PeakRules(same_drum=tuple(groups)))
    ] == [
        (0.1, 0),
        (0.1, 2),
        (0.4, 1),
        (0.5, 2),
    ]
    # Without the groups every class stays independent, and a kick never competes with the snare.
    assert len(pick_peaks(act, np.zeros_like(act), thresholds)) == 6


def test_articulations_further_apart_than_the_window_both_stay() -> None:
    groups = same_drum_groups(("hihat_closed", "hihat_open"))
    act = np.zeros((40, 2), dtype=np.float32)
    act[10, 0], act[10 + SAME_DRUM_FRAMES, 1] = 0.9, 0.9
    assert [
        p.cls for p in pick_peaks(act, np.zeros_like(act), [0.5, 0.5], PeakRules(same_drum=tuple(groups)))
    ] == [0, 1]


def test_the_hi_hat_is_one_drum_struck_open_closed_or_pedalled() -> None:
    """A closed stroke heard also as a pedal 'chick' is one note on the sheet, not two."""
    classes = ("hihat_closed", "hihat_open", "hihat_pedal", "snare")
    groups = same_drum_groups(classes)
    assert groups == [(0, 1, 2)]
    act = np.zeros((60, 4), dtype=np.float32)
    act[10, 0], act[11, 2] = 0.9, 0.5  # closed (0.9/0.3) surer than the pedal (0.5/0.25)
    act[30, 2] = 0.6  # a pedal alone stays
    act[40, 0], act[40, 3] = 0.8, 0.8  # a snare beside the hi-hat is another drum: both stay
    thresholds = [0.3, 0.35, 0.25, 0.4]
    picked = [
        (round(p.time, 2), p.cls)
        for p in pick_peaks(act, np.zeros_like(act), thresholds, PeakRules(same_drum=tuple(groups)))
    ]
    assert picked == [(0.1, 0), (0.3, 2), (0.4, 0), (0.4, 3)]


def _hi_hat(frames: int, closed: list[int], pedal: list[int]) -> tuple[np.ndarray, PeakRules]:
    """Activations of (hihat_closed, hihat_pedal) with peaks at the given frames; the stream rule alone."""
    act = np.zeros((frames, 2), dtype=np.float32)
    for f in closed:
        act[:, 0] += _bump(frames, f, 0.8)
    for f in pedal:
        act[:, 1] += _bump(frames, f, 0.6)
    return act, PeakRules(streams=peak_rules(("hihat_closed", "hihat_pedal")).streams)


def test_a_pedal_stroke_inside_the_hands_closed_stream_is_written_closed() -> None:
    # 8ths at 120 bpm (25 frames apart); the fourth is heard as the foot.
    act, rules = _hi_hat(200, [10, 35, 60, 110, 135], [85])
    peaks = pick_peaks(act, np.zeros_like(act), [0.5, 0.5], rules)
    assert [(round(p.time * 100), p.cls) for p in peaks] == [(f, 0) for f in (10, 35, 60, 85, 110, 135)]
    # Without the rule it stays a pedal stroke.
    assert [p.cls for p in pick_peaks(act, np.zeros_like(act), [0.5, 0.5])].count(1) == 1


def test_pedal_strokes_off_the_stream_stay_pedal() -> None:
    # Before the stream starts, off-centre between two hand strokes, evenly between two hand strokes
    # further apart than a stream's, and with a hand stroke on it: all the foot's.
    act, rules = _hi_hat(420, [50, 75, 100, 175, 190, 320, 399], [30, 120, 175, 255])
    assert STREAM_MAX_GAP_SECONDS < (255 - 190) / 100
    picked = pick_peaks(act, np.zeros_like(act), [0.5, 0.5], rules)
    assert sorted(round(p.time * 100) for p in picked if p.cls == 1) == [30, 120, 175, 255]


def test_a_ride_heard_with_a_closed_hi_hat_gives_way() -> None:
    """One hand keeps time on one cymbal at a time: the closed hi-hat's stroke also heard as a ride."""
    classes = ("hihat_closed", "ride", "snare")
    rules = peak_rules(classes)
    assert rules.yields == ((1, 0),)
    act = np.zeros((80, 3), dtype=np.float32)
    act[10, 0], act[11, 1] = 0.6, 0.9  # together (even a surer ride): the hi-hat stays
    act[30, 1], act[30, 2] = 0.9, 0.9  # a ride with a snare is another hand: both stay
    act[50, 1], act[50 + SAME_DRUM_FRAMES, 0] = 0.9, 0.9  # further apart than the window: both stay
    picked = [(round(p.time * 100), p.cls) for p in pick_peaks(act, np.zeros_like(act), [0.5] * 3, rules)]
    assert picked == [(10, 0), (30, 1), (30, 2), (50, 1), (53, 0)]
    assert len(pick_peaks(act, np.zeros_like(act), [0.5] * 3)) == 6


def test_a_faint_cross_stick_under_a_sure_cymbal_stroke_gives_way() -> None:
    """A stick on a recorded hi-hat or ride clicks like a cross-stick: a faint cross-stick peak with a
    cymbal peak twice as sure is that click; a sure one, or a faint one beside a faint cymbal or
    alone, is played."""
    classes = ("hihat_closed", "cross_stick", "ride")
    rules = peak_rules(classes)
    assert rules.faint_yields == ((1, 0), (1, 2))
    act = np.zeros((120, 3), dtype=np.float32)
    act[10, 0], act[11, 1] = 0.8, 0.2  # faint, a sure hi-hat with it: dropped
    act[30, 2], act[30, 1] = 0.7, 0.2  # faint, a sure ride with it: dropped
    act[50, 0], act[50, 1] = 0.8, 0.6  # a sure cross-stick with the hi-hat: a bossa's 2 and 4
    act[70, 0], act[70, 1] = 0.3, 0.2  # faint beside a faint hi-hat: kept
    act[90, 1] = 0.2  # faint and alone: kept
    act[110, 0], act[110 - SAME_DRUM_FRAMES, 1] = 0.8, 0.2  # further apart than the window: kept
    picked = [(round(p.time * 100), p.cls) for p in pick_peaks(act, np.zeros_like(act), [0.15] * 3, rules)]
    assert picked == [(10, 0), (30, 2), (50, 0), (50, 1), (70, 0), (70, 1), (90, 1), (107, 1), (110, 0)]
    assert FAINT_ACTIVATION <= 0.3 and FAINT_RATIO <= 0.5


def test_a_kicks_echo_is_dropped_and_a_drummers_double_stays() -> None:
    """A weak kick peak 50 ms after a sure one is the boom peaking again; two kicks as sure as each
    other that close, or a ghost kick 90 ms after the beat, are played."""
    rules = peak_rules(("kick", "snare"))
    act = np.zeros((200, 2), dtype=np.float32)
    act[10, 0], act[15, 0] = 0.9, 0.3  # an echo
    act[60, 0], act[65, 0] = 0.6, 0.5  # a fast double
    act[110, 0], act[119, 0] = 0.9, 0.3  # a ghost after the beat
    act[160, 1], act[165, 1] = 0.9, 0.3  # a snare drag: not a kick, untouched
    times = [(round(p.time, 2), p.cls) for p in pick_peaks(act, np.zeros_like(act), [0.25, 0.25], rules)]
    assert times == [(0.1, 0), (0.6, 0), (0.65, 0), (1.1, 0), (1.19, 0), (1.6, 1), (1.65, 1)]
    assert 0.09 > ECHO_SECONDS > 0.05
    # Without the rule the echo is a second kick.
    assert len(pick_peaks(act, np.zeros_like(act), [0.25, 0.25])) == len(times) + 1
