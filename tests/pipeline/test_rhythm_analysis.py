"""The shared analysis: roles and weights of the hits, the envelopes, positions on a grid."""

from __future__ import annotations

import numpy as np
import pytest

from groovesheet_worker.hitnet.spectrogram import drum_track_spectrogram, spectral_flux
from groovesheet_worker.pipeline.rhythm_analysis import (
    KICK,
    PEDAL,
    ROLES,
    SNARE,
    TIME,
    TOM,
    Stroke,
    analyse,
    fractional_index,
    keeping_time,
    role_belief,
    role_of,
    weight_by_pulse_in_cycle,
    weight_on_alternate_pulses,
)
from groovesheet_worker.pipeline.types import INSTRUMENTS, Hit

SR = 44100


def test_every_instrument_has_a_role() -> None:
    roles = {name: role_of(name) for name in INSTRUMENTS}
    assert roles["cross_stick"] == SNARE and roles["hihat_pedal"] == PEDAL and roles["ride_bell"] == TIME
    assert role_of("tom") == TOM and role_of("hihat") == TIME


def test_loud_confident_hits_weigh_more_and_soft_snares_are_ghosts() -> None:
    analysis = analyse(
        np.zeros(0, dtype=np.float32),
        SR,
        [Hit(0.0, "kick", 1.0, 120), Hit(0.5, "snare", 0.5, 30), Hit(1.0, "snare", 0.9, None)],
    )
    kick, ghost, unknown = analysis.strokes
    assert kick.weight > unknown.weight > ghost.weight
    assert ghost.is_ghost and not unknown.is_ghost
    assert analysis.of_role(SNARE, main_only=True) == [unknown]


def test_unsure_hits_count_less_and_the_average_stroke_weighs_one() -> None:
    hits = [Hit(0.0, "snare", 0.99, 100), Hit(0.5, "snare", 0.4, 100), Hit(1.0, "snare", 0.1, 100)]
    strokes = analyse(np.zeros(0, dtype=np.float32), SR, hits).strokes
    sure, unsure, barely = (s.weight for s in strokes)
    assert sure > unsure > barely
    assert np.mean([s.weight for s in strokes]) == pytest.approx(1.0)
    # Soft, unsure hits (a finder's) are read on the same scale as sure, loud ones (true strokes).
    soft = analyse(
        np.zeros(0, np.float32), SR, [Hit(h.time, h.instrument, 0.5 * h.confidence, 60) for h in hits]
    )
    assert np.mean([s.weight for s in soft.strokes]) == pytest.approx(1.0)
    assert all(a.belief <= b.belief for a, b in zip(soft.strokes, strokes, strict=True))
    assert soft.strokes[0].belief < strokes[0].belief


@pytest.mark.parametrize("role", sorted(set(ROLES.values())))
def test_a_sure_hit_is_believed_and_belief_falls_with_confidence(role: str) -> None:
    assert role_belief(role, 1.0) == pytest.approx(1.0)
    assert 0.0 < role_belief(role, 0.1) < role_belief(role, 0.4) < role_belief(role, 0.8) <= 1.0


def test_many_unsure_pedal_hits_do_not_outvote_the_snare_backbeat() -> None:
    """A hi-hat misheard as the pedal hi-hat, every 8th, at a low confidence, is not a jazz pedal."""
    hits = [Hit(t, "snare", 0.9, 100) for t in (0.5, 1.5, 2.5, 3.5)]
    hits += [Hit(k / 4, "hihat_pedal", 0.2, 70) for k in range(16)]
    analysis = analyse(np.zeros(0, dtype=np.float32), SR, hits)
    assert {s.role for s in analysis.backbeat_strokes()} == {SNARE}


def test_the_backbeat_is_the_pedal_when_the_snares_are_ghosts() -> None:
    hits = [Hit(t, "snare", 0.9, 30) for t in (0.1, 0.6, 1.1, 1.6)]
    hits += [Hit(t, "hihat_pedal", 0.9, 70) for t in (0.5, 1.5, 2.5, 3.5)]
    analysis = analyse(np.zeros(0, dtype=np.float32), SR, hits)
    assert {s.role for s in analysis.backbeat_strokes()} == {PEDAL}
    # A fill's loud snares do not outweigh a jazz pedal on 2 and 4 ...
    fill = [Hit(3.0 + k / 8, "snare", 0.9, 100) for k in range(3)]
    assert {s.role for s in analyse(np.zeros(0, np.float32), SR, hits + fill).backbeat_strokes()} == {PEDAL}
    # ... but a snare backbeat is the backbeat, pedal or not.
    backbeat = [Hit(t, "snare", 0.9, 100) for t in (0.5, 1.5, 2.5, 3.5, 4.5)]
    assert {s.role for s in analyse(np.zeros(0, np.float32), SR, hits + backbeat).backbeat_strokes()} == {
        SNARE
    }


def test_a_pedal_hihat_that_keeps_time_is_not_the_backbeat() -> None:
    """Sure pedal strokes every 8th (a foot keeping time, or closed hi-hats a finder heard as pedal
    ones) outnumber the snares, yet the snares on 2 and 4 are the backbeat."""
    hits = [Hit(t, "snare", 0.9, 100) for t in (0.5, 1.5, 2.5, 3.5)]
    hits += [Hit(k / 4, "hihat_pedal", 0.95, 90) for k in range(16)]
    analysis = analyse(np.zeros(0, dtype=np.float32), SR, hits)
    assert {s.role for s in analysis.backbeat_strokes()} == {SNARE}
    # The same strokes a backbeat apart, at the fastest tempo read (every other pulse at 240 bpm),
    # are one; the snares, ghost notes, are not.
    ghosts = [Hit(t, "snare", 0.9, 30) for t in (0.25, 0.75, 1.25, 1.75)]
    pedal = [Hit(0.5 * k, "hihat_pedal", 0.95, 90) for k in range(8)]
    assert {s.role for s in analyse(np.zeros(0, np.float32), SR, ghosts + pedal).backbeat_strokes()} == {
        PEDAL
    }


@pytest.mark.parametrize(
    ("times", "busy"),
    [
        ((0.0, 0.25, 0.5, 1.5), (True, True, True, False)),  # 8ths, then a lone stroke
        ((0.0, 0.5, 1.0), (False, False, False)),  # every other pulse at 240 bpm: a backbeat
        ((0.0, 0.01, 1.0), (False, False, False)),  # a flam is one note
        ((0.0,), (False,)),
        ((), ()),
    ],
)
def test_keeping_time_is_a_neighbour_closer_than_any_backbeat(times: tuple, busy: tuple) -> None:
    strokes = [Stroke(t, PEDAL, 1.0, 90) for t in times]
    assert keeping_time(strokes).tolist() == list(busy)


def test_tracking_envelope_joins_audio_and_hits() -> None:
    audio = np.zeros(SR * 2, dtype=np.float32)
    audio[SR // 2 : SR // 2 + 200] = 0.8
    hits = [Hit(t, "kick", 1.0) for t in (0.5, 1.0, 1.5, 1.9)]
    analysis = analyse(audio, SR, hits)
    envelope = analysis.tracking_envelope()
    assert analysis.onset_envelope is not None
    peak = int(np.argmax(envelope))
    assert peak / analysis.frame_rate == pytest.approx(0.5, abs=0.03)
    assert envelope[round(1.0 * analysis.frame_rate)] > 0.5  # the hit without a sound still counts


def test_the_envelope_is_the_flux_of_the_drum_track_spectrogram_given_or_computed() -> None:
    """One spectrogram per song: HitNet's input is passed in; without it the same one is computed."""
    audio = np.zeros(SR * 2, dtype=np.float32)
    audio[SR // 2 : SR // 2 + 300] = 0.5
    spectrogram = drum_track_spectrogram(audio)
    given = analyse(audio, SR, [], spectrogram)
    computed = analyse(audio, SR, [])
    np.testing.assert_array_equal(given.onset_envelope, spectral_flux(spectrogram))
    np.testing.assert_allclose(computed.onset_envelope, given.onset_envelope, atol=1e-5)
    assert given.frame_rate == 100.0


def test_audio_at_another_rate_is_resampled_for_the_envelope() -> None:
    sr = 22050
    audio = np.zeros(sr * 2, dtype=np.float32)
    audio[sr : sr + 150] = 0.5
    analysis = analyse(audio, sr, [])
    assert analysis.duration == pytest.approx(2.0)
    assert int(np.argmax(analysis.onset_envelope)) / analysis.frame_rate == pytest.approx(1.0, abs=0.03)


def test_silent_audio_has_no_onset_envelope() -> None:
    analysis = analyse(np.zeros(SR, dtype=np.float32), SR, [])
    assert analysis.onset_envelope is None and analysis.tracking_envelope() is None
    assert analysis.played_span == (0.0, 0.0)


def test_fractional_index_interpolates_and_extrapolates() -> None:
    grid = np.array([1.0, 2.0, 4.0])
    assert fractional_index(grid, [1.5, 3.0, 0.0, 6.0]) == pytest.approx([0.5, 1.5, -1.0, 3.0])
    assert KICK == "kick"


def test_the_weight_on_the_even_and_the_odd_pulses_leaves_out_strokes_between_them() -> None:
    pulses = np.arange(8) * 0.5
    strokes = [
        Stroke(0.0, KICK, 1.0, 100),
        Stroke(1.0, KICK, 2.0, 100),
        Stroke(1.51, KICK, 0.5, 100),  # on pulse 3, within GRID_TOLERANCE
        Stroke(1.25, KICK, 4.0, 100),  # the "and": on neither
    ]
    assert weight_on_alternate_pulses(strokes, pulses) == pytest.approx([3.0, 0.5])
    assert weight_by_pulse_in_cycle(strokes, pulses, 3) == pytest.approx([1.5, 0.0, 2.0])  # pulses 0 and 3; 2
    assert weight_by_pulse_in_cycle([], pulses, 3) == pytest.approx([0.0, 0.0, 0.0])
