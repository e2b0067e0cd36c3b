"""Tempo: the counted pulse (not its double or half), and tracking it through drift."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from groovesheet_worker.pipeline import rhythm_constants as C
from groovesheet_worker.pipeline.pulse_evidence import SIXTEENTHS, TRIPLETS
from groovesheet_worker.pipeline.pulse_tracking import median_bpm
from groovesheet_worker.pipeline.rhythm_analysis import analyse
from groovesheet_worker.pipeline.tempo import (
    PulseReading,
    alternative_level,
    candidate_tempi,
    compound_level,
    read_pulse,
)
from groovesheet_worker.pipeline.types import Hit
from tests.pipeline.generated_music import SR, audio_of, groove_piece, hits_of
from training import notation_pieces


def reading_of(style: str, seed: int, bpm: float | None = None, drift: bool = False):
    piece = groove_piece(style, seed, bpm=bpm, drift=drift)
    return piece, read_pulse(analyse(audio_of(piece), SR, hits_of(piece)))


def test_the_true_tempo_is_among_the_candidates() -> None:
    piece = groove_piece("rock", 1, bpm=112.0)
    analysis = analyse(audio_of(piece), SR, hits_of(piece))
    tempi = candidate_tempi(analysis.tracking_envelope(), analysis.frame_rate)
    assert len(tempi) <= C.MAX_TEMPO_CANDIDATES + C.RELATED_CANDIDATE_SOURCES * 6
    assert all(C.TEMPO_RANGE[0] <= t <= C.TEMPO_RANGE[1] for t in tempi)
    assert min(abs(t / 112.0 - 1.0) for t in tempi) < 0.03


@pytest.mark.parametrize("bpm", [72.0, 96.0, 140.0, 176.0])
def test_rock_beat_is_read_at_its_tempo(bpm: float) -> None:
    """Half-time and double-time readings of the same groove lose: the backbeat is on 2 and 4."""
    _, reading = reading_of("rock", 2, bpm)
    assert reading.bpm == pytest.approx(bpm, rel=0.03)
    assert reading.subdivision == SIXTEENTHS


def test_sixteenth_hihats_at_a_slow_tempo_are_not_doubled() -> None:
    _, reading = reading_of("slow ballad", 3, 46.0)
    assert reading.bpm == pytest.approx(46.0, rel=0.03)


def test_shuffle_is_a_pulse_divided_in_three() -> None:
    piece, reading = reading_of("shuffle", 4)
    assert reading.bpm == pytest.approx(piece.score.bpm, rel=0.03)
    assert reading.subdivision == TRIPLETS


def test_six_eight_is_counted_in_dotted_quarters_not_at_three_halves() -> None:
    piece, reading = reading_of("6/8", 5)
    assert reading.bpm == pytest.approx(piece.score.bpm, rel=0.03)
    assert reading.subdivision == TRIPLETS


def test_the_pulses_sit_on_the_beats_not_the_ands() -> None:
    piece, reading = reading_of("rock", 6, 120.0)
    beats = np.asarray(piece.score.beats)
    inside = reading.pulses[(reading.pulses > beats[5]) & (reading.pulses < beats[-6])]
    distance = np.min(np.abs(inside[:, None] - beats[None, :]), axis=1)
    assert np.median(distance) < 0.03


def test_a_tracker_that_slips_onto_the_ands_is_replaced_by_a_steady_grid(monkeypatch) -> None:
    """Half the song tracked half a beat late (the "and"s): the steady grid on the beats wins."""
    from groovesheet_worker.pipeline import tempo

    piece = groove_piece("rock", 6, bpm=120.0)
    beats = np.asarray(piece.score.beats)
    slipped = beats.copy()
    slipped[len(beats) // 2 :] += 0.25  # half of a 0.5 s beat
    monkeypatch.setattr(tempo, "track_pulses", lambda envelope, analysis, bpm: slipped)
    reading = read_pulse(analyse(audio_of(piece), SR, hits_of(piece)), candidates=[120.0])
    inside = reading.pulses[(reading.pulses > beats[2]) & (reading.pulses < beats[-3])]
    distance = np.min(np.abs(inside[:, None] - beats[None, :]), axis=1)
    assert np.max(distance) < 0.05


def test_a_steady_drummer_is_written_on_an_even_grid_at_the_true_tempo_when_the_tracker_wanders(
    monkeypatch,
) -> None:
    """A drummer on a click at 100 bpm whose tracked pulses came out at 97.5 (a tracker that drifted
    through a fill): an even grid at 97.5 drifts off the beats as well; one at a tempo a little away
    from the tracked one sits on every beat and replaces the tracked pulses."""
    from groovesheet_worker.pipeline import tempo

    piece = groove_piece("rock", 6, bpm=100.0)
    beats = np.asarray(piece.score.beats)
    monkeypatch.setattr(
        tempo, "track_pulses", lambda envelope, analysis, bpm: beats[0] + np.arange(len(beats)) * 60.0 / bpm
    )
    analysis = analyse(audio_of(piece), SR, hits_of(piece))
    envelope = analysis.tracking_envelope()
    tracked = tempo.best_phase_reading(tempo.readings_at(analysis, envelope, 97.5))
    reading = tempo.steadier_grid(analysis, envelope, tracked)
    assert reading.bpm == pytest.approx(100.0, rel=0.005)
    inside = reading.pulses[(reading.pulses > beats[2]) & (reading.pulses < beats[-3])]
    distance = np.min(np.abs(inside[:, None] - beats[None, :]), axis=1)
    assert np.max(distance) < 0.03


def test_an_even_grid_laid_a_sixteenth_off_the_beats_is_moved_onto_them(monkeypatch) -> None:
    """Kicks on the "a" before the beats can make the strongest onsets a 16th early: an even grid laid
    on them (read at the beats or the "and"s) is a 16th off everywhere, and a tracker that slid there
    halfway through cannot be mended by it. The grid that puts the most of the strokes on 8th notes
    sits on the beats."""
    from groovesheet_worker.pipeline import tempo

    piece = groove_piece("rock", 6, bpm=120.0)
    beats = np.asarray(piece.score.beats)
    sixteenth = 60.0 / 120.0 / 4
    slid = beats.copy()
    slid[len(beats) // 2 :] -= sixteenth
    monkeypatch.setattr(tempo, "track_pulses", lambda envelope, analysis, bpm: slid)
    monkeypatch.setattr(
        tempo, "best_phase", lambda envelope, frame_rate, period: (beats[0] - sixteenth) % period
    )
    reading = read_pulse(analyse(audio_of(piece), SR, hits_of(piece)), bpm_hint=120.0)
    inside = reading.pulses[(reading.pulses > beats[2]) & (reading.pulses < beats[-3])]
    distance = np.min(np.abs(inside[:, None] - beats[None, :]), axis=1)
    assert np.max(distance) < 0.03


def test_with_the_uploaders_tempo_a_tracker_that_drifted_gives_way_to_an_even_grid(monkeypatch) -> None:
    """The uploader says 100 bpm and the tracker, 1.5 % slow, agrees within HINT_TRACKING_AGREEMENT:
    its pulses are half a beat off by the end, so an even grid on the beats is written instead."""
    from groovesheet_worker.pipeline import tempo

    piece = groove_piece("rock", 6, bpm=100.0)
    beats = np.asarray(piece.score.beats)
    slow = beats[0] + np.arange(len(beats)) * 60.0 / 98.5
    monkeypatch.setattr(tempo, "track_pulses", lambda envelope, analysis, bpm: slow)
    reading = read_pulse(analyse(audio_of(piece), SR, hits_of(piece)), bpm_hint=100.0)
    assert reading.bpm == 100.0
    inside = reading.pulses[(reading.pulses > beats[2]) & (reading.pulses < beats[-3])]
    distance = np.min(np.abs(inside[:, None] - beats[None, :]), axis=1)
    assert np.max(distance) < 0.03


def test_the_best_readings_half_is_laid_as_a_grid_when_the_tracker_wanders_off_it(monkeypatch) -> None:
    """The peaks say 150 (double time) and 73.4 (2.3 % off the pulse), and the tracker set going near
    75 bpm wanders to 73.4: the winner's half, laid as an even grid from its tracked tempo, wins."""
    from groovesheet_worker.pipeline import tempo

    piece = groove_piece("rock", 2, bpm=75.0)
    first, last = piece.score.beats[0], piece.score.beats[-1]

    def tracker(envelope, analysis, bpm):
        wandered = 73.4 if bpm < 100 else bpm
        return tempo.even_pulses(first, 60.0 / wandered, int((last - first) * wandered / 60.0) + 1)

    monkeypatch.setattr(tempo, "track_pulses", tracker)
    reading = read_pulse(analyse(audio_of(piece), SR, hits_of(piece)), candidates=[150.0, 73.4])
    assert reading.bpm == pytest.approx(75.0, rel=0.01)


@pytest.mark.parametrize("wandered", [96.8, 95.3])
def test_each_tempo_level_is_read_on_the_steadiest_grid_near_it(monkeypatch, wandered: float) -> None:
    """A rock groove at 96 bpm whose tracker, set going near 96, wanders under 1 % off it (so the
    reading is not retried as the winner's relative) while double time tracks true: laid as an even
    grid near its tempo, the true level wins instead of 192."""
    from groovesheet_worker.pipeline import tempo

    piece = groove_piece("rock", 2, bpm=96.0)
    first, last = piece.score.beats[0], piece.score.beats[-1]

    def tracker(envelope, analysis, bpm):
        tempo_ = wandered if bpm < 130 else bpm
        return tempo.even_pulses(first, 60.0 / tempo_, int((last - first) * tempo_ / 60.0) + 1)

    monkeypatch.setattr(tempo, "track_pulses", tracker)
    reading = read_pulse(analyse(audio_of(piece), SR, hits_of(piece)), candidates=[192.0, 96.0])
    assert reading.bpm == pytest.approx(96.0, rel=0.005)


def test_the_tracker_follows_a_section_that_speeds_up() -> None:
    piece, reading = reading_of("rock", 7, 100.0, drift=True)
    true = np.asarray(piece.score.beats)
    late = 60.0 / float(np.median(np.diff(true[-10:-4])))
    tracked_late = reading.pulses[(reading.pulses > true[-10]) & (reading.pulses < true[-4])]
    assert median_bpm(tracked_late) == pytest.approx(late, rel=0.02)


def test_a_section_that_moves_the_tempo_by_more_than_a_ragged_edge_is_still_tracked_to_the_end(
    monkeypatch,
) -> None:
    """A tracker trimmed where the tempo moves by 15 % covered only the first section; its strokes
    were then all on its grid, it outscored the tracker that followed, and the last section was
    written on the first one's tempo."""
    monkeypatch.setattr(notation_pieces, "DRIFT_RANGE", (0.15, 0.15))
    piece = groove_piece("waltz", 1, bpm=120.0, drift=True)
    analysis = analyse(audio_of(piece), SR, hits_of(piece))
    reading = read_pulse(analysis)
    first, last = analysis.played_span
    assert reading.pulses[0] <= first + 0.05 and reading.pulses[-1] >= last - 0.05
    true = np.asarray(piece.score.beats)
    late = 60.0 / float(np.median(np.diff(true[-10:-4])))
    tracked_late = reading.pulses[(reading.pulses > true[-10]) & (reading.pulses < true[-4])]
    assert median_bpm(tracked_late) == pytest.approx(late, rel=0.02)


@pytest.mark.parametrize(
    ("style", "seed", "step"), [("rock", 2, 0.25), ("shuffle", 4, 0.25), ("rock", 1, 0.35)]
)
def test_a_section_that_jumps_to_another_tempo_is_read_at_it(
    monkeypatch, style: str, seed: int, step: float
) -> None:
    """A quarter or a third slower or faster two thirds in: the tracker held to the first tempo lost
    the last section (a rock at 98 stepping to 74 was written at 98 throughout, notation F 0.73)."""
    monkeypatch.setattr(notation_pieces, "DRIFT_RANGE", (step, step))
    piece = groove_piece(style, seed, drift=True)
    reading = read_pulse(analyse(audio_of(piece), SR, hits_of(piece)))
    true = np.asarray(piece.score.beats)
    late = 60.0 / float(np.median(np.diff(true[-10:-4])))
    assert abs(late / reading.bpm - 1.0) > 0.2
    tracked_late = reading.pulses[(reading.pulses > true[-10]) & (reading.pulses < true[-4])]
    assert median_bpm(tracked_late) == pytest.approx(late, rel=0.02)


def test_a_hint_is_the_tempo_and_the_grid_still_follows_the_music() -> None:
    piece = groove_piece("rock", 8, bpm=100.0)
    analysis = analyse(audio_of(piece), SR, hits_of(piece))
    reading = read_pulse(analysis, bpm_hint=101.0)
    assert reading.bpm == 101.0
    first_kick = next(h.time for h in hits_of(piece) if h.instrument == "kick")
    assert np.min(np.abs(reading.pulses - first_kick)) < 0.05


def test_hits_without_audio_give_a_reading() -> None:
    piece = groove_piece("rock", 9, bpm=90.0)
    reading = read_pulse(analyse(np.zeros(0, dtype=np.float32), SR, hits_of(piece)))
    assert reading.bpm == pytest.approx(90.0, rel=0.03)


def test_nothing_to_track_gives_the_fallback_tempo() -> None:
    reading = read_pulse(analyse(np.zeros(SR, dtype=np.float32), SR, [Hit(0.5, "snare", 0.9)]))
    assert reading.bpm == C.FALLBACK_BPM
    assert reading.pulses[0] == pytest.approx(0.5)


def test_pulses_with_no_strokes_near_them_are_read_by_the_prior(monkeypatch) -> None:
    """pulse_evidence answers {} when no stroke is near the pulses (a stem of noise can do that)."""
    from groovesheet_worker.pipeline import tempo

    monkeypatch.setattr(tempo, "pulse_evidence", lambda pulses, analysis: {})
    piece = groove_piece("rock", 3, bpm=100.0)
    reading = read_pulse(analyse(audio_of(piece), SR, hits_of(piece)))
    assert reading.bpm > 0


def a_reading(bpm: float, score: float) -> PulseReading:
    return PulseReading(bpm, SIXTEENTHS, np.arange(0.0, 10.0, 60.0 / bpm), score=score)


def test_a_tempo_level_that_reads_almost_as_well_is_offered_as_the_alternative() -> None:
    best = a_reading(120.0, 10.0)
    others = [a_reading(60.5, 9.0), a_reading(100.0, 9.9), a_reading(239.0, 8.0)]
    assert alternative_level(best, [best, *others]) == 0.5  # 100 is no relative of 120; 239 is far behind
    far = [a_reading(60.5, 10.0 - C.ALTERNATIVE_TEMPO_MARGIN - 0.1), a_reading(100.0, 9.9)]
    assert alternative_level(best, [best, *far]) is None
    three = [a_reading(40.2, 9.5), a_reading(60.0, 9.0)]
    assert alternative_level(best, [best, *three]) == pytest.approx(1 / 3)


def eighths_at(bpm: float, kicks: tuple[int, ...], snares: tuple[int, ...], cycle: int, bars: int = 4):
    """A cymbal on every pulse at ``bpm``, the kick and snare on these pulses of each ``cycle``, as the
    analysis sees them, and the pulses."""
    period = 60.0 / bpm
    pulses = np.arange(bars * cycle) * period + 0.5
    hits = [Hit(float(t), "ride", 0.9, 80) for t in pulses]
    for k, t in enumerate(pulses):
        if k % cycle in kicks:
            hits.append(Hit(float(t), "kick", 0.9, 100))
        if k % cycle in snares:
            hits.append(Hit(float(t), "snare", 0.9, 110))
    return analyse(np.zeros(SR // 10), SR, hits), pulses


def test_a_compound_grooves_eighths_read_as_quarters_are_written_at_the_dotted_quarter() -> None:
    """A 12/8 ballad's cymbal on every 8th, the kick on 1, 3 and the last 8th of 3, the snare on 2 and
    4: at 153 every note is a quarter and kick and snare share one pulse in three; a drummer writes
    it at 51 in triplets. A waltz (the snare on 2 and 3) and a reading with notes between the
    pulses keep their tempo."""
    analysis, pulses = eighths_at(153.0, kicks=(0, 6, 8), snares=(3, 9), cycle=12)
    fast = PulseReading(153.0, SIXTEENTHS, pulses, score=10.0, evidence={"coarse_notes": 0.95})
    third = PulseReading(51.0, TRIPLETS, pulses[::3], score=9.0)
    half = PulseReading(76.5, SIXTEENTHS, pulses[::2], score=9.5)
    assert compound_level(analysis, fast, [fast, third, half]) is third
    assert compound_level(analysis, fast, [fast, half]) is fast  # no dotted-quarter reading to go to
    in_sixteenths = PulseReading(51.0, SIXTEENTHS, pulses[::3], score=9.0)
    assert compound_level(analysis, fast, [fast, in_sixteenths]) is fast
    busier = replace(fast, evidence={"coarse_notes": C.QUARTER_NOTE_SHARE - 0.1})
    assert compound_level(analysis, busier, [busier, third]) is busier

    waltz, pulses = eighths_at(153.0, kicks=(0,), snares=(1, 2), cycle=3, bars=16)
    fast = PulseReading(153.0, SIXTEENTHS, pulses, score=10.0, evidence={"coarse_notes": 1.0})
    assert compound_level(waltz, fast, [fast, PulseReading(51.0, TRIPLETS, pulses[::3], score=9.0)]) is fast
