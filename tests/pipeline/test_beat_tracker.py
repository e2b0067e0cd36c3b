"""The numpy beat tracker and autocorrelation give librosa 0.11's results, beat for beat."""

from __future__ import annotations

import librosa
import librosa.beat
import numpy as np
import pytest

from groovesheet_worker.pipeline.beat_tracker import autocorrelate, track_beats

FRAME_RATE = 100.0


def _groove_envelope(rng: np.random.Generator, seconds: float, bpm: float, drift: float) -> np.ndarray:
    """Strokes on 8ths whose tempo drifts, plus noise and some silence at both ends."""
    n = int(seconds * FRAME_RATE)
    env = rng.random(n) * 0.2
    t, period = 1.0 + rng.random(), 60.0 / bpm / 2
    while t < seconds - 1.0:
        env[int(t * FRAME_RATE)] += 1.0 + rng.random()
        t += period * (1.0 + drift * np.sin(t / 7.0)) + rng.normal(0, 0.004)
    env[: int(0.5 * FRAME_RATE)] = 0.0
    env[-int(0.3 * FRAME_RATE) :] = 0.0
    return env


@pytest.mark.parametrize("seed", range(12))
def test_beats_are_librosas(seed: int) -> None:
    rng = np.random.default_rng(seed)
    bpm = float(rng.uniform(45, 230))
    env = _groove_envelope(rng, float(rng.uniform(8, 60)), bpm, drift=float(rng.uniform(0, 0.06)))
    asked = bpm * float(rng.choice([0.5, 1.0, 1.0, 2.0, 1.03]))
    tightness = float(rng.choice([20.0, 120.0, 400.0]))
    _, expected = librosa.beat.beat_track(
        onset_envelope=env, sr=44100, hop_length=441, bpm=asked, tightness=tightness, trim=False
    )
    np.testing.assert_array_equal(track_beats(env, FRAME_RATE, asked, tightness), expected)


def test_silence_has_no_beats_and_bad_arguments_are_refused() -> None:
    assert len(track_beats(np.zeros(500), FRAME_RATE, 120.0, 100.0)) == 0
    assert len(track_beats(np.zeros(0), FRAME_RATE, 120.0, 100.0)) == 0
    with pytest.raises(ValueError):
        track_beats(np.ones(10), FRAME_RATE, 0.0, 100.0)


def test_an_envelope_shorter_than_a_beat_still_tracks() -> None:
    env = np.zeros(30)
    env[[5, 20]] = 1.0
    _, expected = librosa.beat.beat_track(onset_envelope=env, sr=44100, hop_length=441, bpm=60.0, trim=False)
    np.testing.assert_array_equal(track_beats(env, FRAME_RATE, 60.0, 100.0), expected)


@pytest.mark.parametrize("size", [1, 17, 400, 5000])
def test_autocorrelation_is_librosas(size: int) -> None:
    signal = np.random.default_rng(size).normal(size=3000)
    np.testing.assert_allclose(
        autocorrelate(signal, size), librosa.autocorrelate(signal, max_size=size), atol=1e-8
    )
