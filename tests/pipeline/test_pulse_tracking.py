"""Pulse times: tracked with the drummer's drift, smoothed, trimmed, laid evenly on the onsets."""

from __future__ import annotations

import numpy as np
import pytest

from groovesheet_worker.pipeline.pulse_tracking import (
    _trim_ragged_edges,
    best_phase,
    cover_span,
    even_pulses,
    median_bpm,
    smooth_pulses,
    track_pulses,
)
from groovesheet_worker.pipeline.rhythm_analysis import analyse
from tests.pipeline.generated_music import SR, audio_of, groove_piece, hits_of


def test_smoothing_keeps_a_tempo_ramp_and_removes_jitter() -> None:
    ramp = np.cumsum(np.linspace(0.6, 0.5, 200))  # a drummer slowly speeding up
    assert np.abs(smooth_pulses(ramp) - ramp).max() < 1e-6
    jitter = np.random.default_rng(0).normal(0.0, 0.01, len(ramp))
    error = smooth_pulses(ramp + jitter) - ramp
    assert np.sqrt(np.mean(error**2)) < 0.8 * np.sqrt(np.mean(jitter**2))


def test_the_guessed_pulses_at_the_ragged_ends_are_trimmed() -> None:
    steady = 1.0 + 0.5 * np.arange(20)
    ragged = np.concatenate([[0.1, 0.7], steady, [steady[-1] + 0.9]])  # 0.6, 0.3 and 0.9 s apart
    assert np.array_equal(_trim_ragged_edges(ragged), steady)
    assert np.array_equal(_trim_ragged_edges(steady), steady)


def test_the_pulses_are_continued_at_each_ends_tempo_to_cover_the_music() -> None:
    pulses = np.concatenate([2.0 + 0.5 * np.arange(10), 6.6 + 0.6 * np.arange(10)])  # slows down
    covered = cover_span(pulses, first=0.7, last=13.0)
    assert np.allclose(covered[:3], [0.5, 1.0, 1.5])  # at the head's 0.5 s, to the pulse before 0.7 s
    assert np.array_equal(covered[3:23], pulses)
    assert np.allclose(covered[23:], [12.6, 13.2])  # at the tail's 0.6 s, to the pulse after 13 s
    assert np.array_equal(cover_span(pulses, first=2.0, last=pulses[-1]), pulses)


def test_an_even_pulse_train_is_laid_on_the_strongest_onsets() -> None:
    frame_rate, period = 100.0, 0.5
    envelope = np.zeros(1000)
    envelope[np.arange(23, 1000, 50)] = 1.0  # an onset every half second from 0.23 s
    assert best_phase(envelope, frame_rate, period) == pytest.approx(0.23, abs=0.003)


def test_the_tempo_of_even_pulses_is_their_rate() -> None:
    assert median_bpm(even_pulses(0.3, 0.5, 40)) == pytest.approx(120.0)


def test_the_tracked_pulses_sit_on_a_played_grooves_beats() -> None:
    piece = groove_piece("rock", 6, bpm=120.0)
    analysis = analyse(audio_of(piece), SR, hits_of(piece))
    pulses = track_pulses(analysis.tracking_envelope(), analysis, 120.0)
    beats = np.asarray(piece.score.beats)
    assert median_bpm(pulses) == pytest.approx(120.0, rel=0.02)
    distance = np.min(np.abs(pulses[:, None] - beats[None, :]), axis=1)
    assert np.median(distance) < 0.03
