"""The model input: 100 frames a second, a logarithmic frequency axis, the same in blocks as whole."""

from __future__ import annotations

import numpy as np

from groovesheet_worker.hitnet import spectrogram as spec


def test_frames_are_10_ms_and_centred() -> None:
    audio = np.zeros(spec.SAMPLE_RATE * 2, dtype=np.float32)
    audio[spec.SAMPLE_RATE] = 1.0  # a click at 1 s
    s = spec.log_spectrogram(audio)
    assert s.shape == (spec.n_frames(len(audio)), spec.n_bands()) and s.shape[0] == 201
    assert int(np.argmax(s.sum(axis=1))) in (99, 100, 101)


def test_a_tone_lands_in_the_band_of_its_frequency() -> None:
    t = np.arange(spec.SAMPLE_RATE) / spec.SAMPLE_RATE
    low = spec.log_spectrogram(np.sin(2 * np.pi * 100 * t)).mean(axis=0)
    high = spec.log_spectrogram(np.sin(2 * np.pi * 8000 * t)).mean(axis=0)
    assert np.argmax(low) < spec.n_bands() // 4 < 3 * spec.n_bands() // 4 < np.argmax(high)


def test_long_audio_is_transformed_in_blocks_without_seams(monkeypatch) -> None:
    rng = np.random.default_rng(0)
    audio = rng.standard_normal(spec.SAMPLE_RATE * 3).astype(np.float32)
    whole = spec.log_spectrogram(audio)
    monkeypatch.setattr(spec, "BLOCK_FRAMES", 37)
    np.testing.assert_allclose(spec.log_spectrogram(audio), whole, rtol=1e-5, atol=1e-5)


def test_level_normalisation_brings_any_track_to_the_training_loudness() -> None:
    rng = np.random.default_rng(1)
    t = np.arange(spec.SAMPLE_RATE * 2) / spec.SAMPLE_RATE
    clicks = (rng.standard_normal(len(t)) * np.exp(-(t % 0.25) / 0.02)).astype(np.float32)
    for gain_db in (-40.0, -10.0, 0.0):
        scaled = clicks * 10 ** (gain_db / 20)
        assert abs(spec.active_rms_dbfs(spec.normalise_level(scaled)) - spec.TARGET_ACTIVE_RMS_DBFS) < 0.01
    silence = np.zeros(1000, dtype=np.float32)
    assert spec.active_rms_dbfs(silence) == float("-inf")
    np.testing.assert_array_equal(spec.normalise_level(silence), silence)


def test_spectral_flux_rises_on_the_onset_frame_only() -> None:
    audio = np.zeros(spec.SAMPLE_RATE, dtype=np.float32)
    onset = spec.SAMPLE_RATE // 2
    audio[onset : onset + 2000] = np.random.default_rng(0).normal(0, 0.3, 2000)
    flux = spec.spectral_flux(spec.drum_track_spectrogram(audio))
    assert len(flux) == spec.n_frames(len(audio)) and flux[0] == 0.0
    peak = int(np.argmax(flux))
    assert abs(peak - onset / spec.HOP) <= 2  # aligned with the spectrogram's own frames
    assert flux[: peak - 12].max() == 0.0  # nothing rises before the window reaches the sound


def test_spectral_flux_counts_a_soft_stroke_like_a_loud_one() -> None:
    """In dB, as the tempo readers need: a stroke 30 dB softer still makes a clear onset."""
    rng = np.random.default_rng(1)
    audio = np.zeros(spec.SAMPLE_RATE * 2, dtype=np.float32)
    burst = rng.normal(0, 0.3, 2000).astype(np.float32)
    audio[22050 : 22050 + 2000] = burst
    audio[66150 : 66150 + 2000] = burst * 10 ** (-30 / 20)
    flux = spec.spectral_flux(spec.drum_track_spectrogram(audio))
    loud, soft = flux[45:55].max(), flux[145:155].max()
    assert soft > 0.5 * loud


def test_silence_has_no_flux() -> None:
    silence = np.zeros(spec.SAMPLE_RATE, dtype=np.float32)
    assert not spec.spectral_flux(spec.drum_track_spectrogram(silence)).any()
    assert len(spec.spectral_flux(np.zeros((0, spec.n_bands())))) == 0
