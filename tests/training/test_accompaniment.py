"""Generated backing tracks: the asked length and tempo, a real bass line, no drums; mixing; separation."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import mido
import numpy as np
import pytest

from training.accompaniment import (
    BASS_PROGRAMS,
    CHANNELS,
    GUITAR_PROGRAMS,
    KEYS_PROGRAMS,
    MIX_PEAK_DBFS,
    SOUNDFONT,
    compose_backing,
    load_separator,
    mix_with_drums,
    render_accompaniment,
    render_midi,
    separate_drums,
)
from training.kit import SAMPLE_RATE

pytestmark = pytest.mark.skipif(not SOUNDFONT.is_file(), reason="fluid-soundfont-gm is not installed")
SR = SAMPLE_RATE


def band_energy(audio: np.ndarray, lo: float, hi: float) -> float:
    mono = audio.mean(axis=0).astype(np.float64)
    power = np.abs(np.fft.rfft(mono)) ** 2
    freqs = np.fft.rfftfreq(mono.size, 1 / SR)
    return float(power[(freqs >= lo) & (freqs < hi)].sum())


def onset_strength(audio: np.ndarray, hop: int = 256, size: int = 2048) -> np.ndarray:
    """Spectral flux of the mono mix, one value per hop (frame centred at hop * i + size / 2)."""
    mono = audio.mean(axis=0).astype(np.float64)
    frames = 1 + (mono.size - size) // hop
    index = np.arange(size)[None, :] + hop * np.arange(frames)[:, None]
    spectra = np.log1p(100 * np.abs(np.fft.rfft(mono[index] * np.hanning(size), axis=1)))
    return np.concatenate([[0.0], np.maximum(0.0, np.diff(spectra, axis=0)).sum(axis=1)])


@pytest.fixture(scope="module")
def song() -> tuple[np.ndarray, float, int]:
    bpm, beats_per_bar = 132.0, 4
    return (
        render_accompaniment(8.0, bpm, beats_per_bar, np.random.default_rng(5), SOUNDFONT),
        bpm,
        beats_per_bar,
    )


def test_the_backing_is_stereo_float32_of_the_asked_length_and_never_silent(song) -> None:
    audio, _, _ = song
    assert audio.shape == (2, 8 * SR)
    assert audio.dtype == np.float32
    assert np.all(np.isfinite(audio))
    assert 20 * np.log10(np.abs(audio).max()) == pytest.approx(-3.0, abs=0.01)
    # Music from the first bar to the last: every half second has sound (RMS above -40 dBFS).
    halves = audio.mean(axis=0)[: 16 * (SR // 2)].reshape(16, SR // 2)
    assert 20 * np.log10(np.sqrt(np.mean(halves**2, axis=1))).min() > -40
    # Bar 1 starts at t = 0.
    assert np.sqrt(np.mean(audio[:, : int(0.1 * SR)] ** 2)) > 1e-3


def test_a_bass_line_fills_the_low_band_and_it_is_the_bass_part() -> None:
    for seed in (1, 2):
        backing = compose_backing(6.0, 100.0, 4, np.random.default_rng(seed))
        n = 6 * SR
        full = render_midi(backing.midi(), SOUNDFONT, n)
        without_bass = render_midi(
            replace(backing, notes=tuple(x for x in backing.notes if x.part != "bass")).midi(), SOUNDFONT, n
        )
        low_share = band_energy(full, 20, 200) / band_energy(full, 20, 20000)
        assert low_share > 0.2, (seed, backing.programs, low_share)
        # Take the bass away and the band under the guitar's low E (82 Hz) nearly empties.
        assert band_energy(without_bass, 20, 80) < 0.1 * band_energy(full, 20, 80), seed


def test_notes_follow_the_tempo_and_bars_start_at_zero() -> None:
    for seed, bpm, beats_per_bar in ((0, 90.0, 4), (3, 155.0, 3), (4, 120.0, 6)):
        backing = compose_backing(10.0, bpm, beats_per_bar, np.random.default_rng(seed))
        beat_s = 60.0 / bpm
        # Chords change on bar lines, starting with bar 1 at beat 0.
        assert backing.chords[0][0] == 0.0
        assert all((start / beats_per_bar) % 0.5 == 0 for start, _, _ in backing.chords)
        # Bass and keys sit on the 16th-note grid of this tempo (up to the humanising, <= 30 ms).
        for note in backing.notes:
            if note.part != "guitar":
                error_s = abs(note.start - round(note.start * 4) / 4) * beat_s
                assert error_s <= 0.031, (seed, note)
        assert min(n.start for n in backing.notes if n.part == "bass") * beat_s < 0.031
        assert max(n.start for n in backing.notes) * beat_s < 10.0
        # The MIDI file plays them at these times: its tempo is the song's.
        midi = backing.midi()
        tempos = [m.tempo for m in midi.tracks[0] if m.type == "set_tempo"]
        assert tempos == [mido.bpm2tempo(bpm)]
        signature = next(m for m in midi.tracks[0] if m.type == "time_signature")
        assert signature.numerator == beats_per_bar
        now, onsets = 0.0, []
        for message in midi:
            now += message.time
            if message.type == "note_on" and message.channel == CHANNELS["bass"]:
                onsets.append(now)
        expected = sorted(n.start * beat_s for n in backing.notes if n.part == "bass")
        np.testing.assert_allclose(sorted(onsets)[:20], expected[:20], atol=0.002)
        assert midi.length >= 10.0


def best_lag_ms(flux: np.ndarray, train: np.ndarray, max_lag: int, hop: int = 256) -> tuple[float, float]:
    """Lag (ms) of the audio's onsets behind the notes' impulse train, and how far that peak stands out."""
    lags = np.arange(-max_lag, max_lag + 1)
    xc = np.array(
        [
            np.dot(
                train[max(0, -lag) : train.size - max(0, lag)], flux[max(0, lag) : flux.size - max(0, -lag)]
            )
            for lag in lags
        ]
    )
    return lags[int(np.argmax(xc))] * hop / SR * 1000, float(xc.max() / np.median(np.abs(xc)))


@pytest.mark.parametrize(("seed", "bpm"), [(8, 106.0), (5, 159.0)])
def test_the_audio_plays_the_notes_at_the_songs_tempo(seed: int, bpm: float) -> None:
    backing = compose_backing(8.0, bpm, 4, np.random.default_rng(seed))
    audio = render_midi(backing.midi(), SOUNDFONT, 8 * SR)
    flux = onset_strength(audio)
    flux -= np.convolve(flux, np.ones(41) / 41, mode="same")  # onsets only, not loudness
    train = np.zeros_like(flux)
    for note in backing.notes:
        frame = round((note.start * 60 / bpm * SR - 1024) / 256) + 1
        if 0 <= frame < train.size:
            train[frame] += 1
    half = train.size // 2
    max_lag = int(0.5 * 60 / bpm * SR / 256)  # search half a beat either way
    for part in (slice(0, half), slice(half, None)):  # both halves: no drift, so the tempo is right
        lag, prominence = best_lag_ms(flux[part], train[part], max_lag)
        # Sounds start with the notes (a slow attack may lag a little), never a 16th off.
        assert -15.0 <= lag <= 35.0, (seed, lag)
        assert prominence > 2.0, (seed, prominence)


def test_no_drums_sensible_programs_and_variety_across_songs() -> None:
    keys, modes, programs, styles = set(), set(), set(), set()
    for seed in range(40):
        backing = compose_backing(8.0, 120.0, 4, np.random.default_rng(seed))
        assert backing.programs["bass"] in BASS_PROGRAMS
        assert backing.programs["keys"] in KEYS_PROGRAMS
        assert backing.programs["guitar"] in GUITAR_PROGRAMS
        assert {n.part for n in backing.notes} == {"bass", "keys", "guitar"}
        for track in backing.midi().tracks:
            for message in track:
                assert getattr(message, "channel", 0) != 9  # General MIDI's drum channel
                if message.type == "control_change":
                    assert message.control != 0  # no bank select (bank 128 would be drums)
        keys.add(backing.key)
        modes.add(backing.mode)
        programs.add(tuple(backing.programs.values()))
        styles.add(tuple(backing.styles.values()))
    assert len(keys) >= 8 and len(modes) >= 4
    assert len(programs) >= 30 and len(styles) >= 15


def test_the_same_rng_gives_the_same_backing() -> None:
    a = render_accompaniment(3.0, 128.0, 4, np.random.default_rng(9), SOUNDFONT)
    b = render_accompaniment(3.0, 128.0, 4, np.random.default_rng(9), SOUNDFONT)
    c = render_accompaniment(3.0, 128.0, 4, np.random.default_rng(10), SOUNDFONT)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c, atol=1e-3)


def tone(freq: float, seconds: float, channels: int | None = None) -> np.ndarray:
    x = 0.3 * np.sin(2 * np.pi * freq * np.arange(int(seconds * SR)) / SR).astype(np.float32)
    return x if channels is None else np.stack([x] * channels)


def amplitude(mix: np.ndarray, freq: float) -> float:
    t = np.arange(mix.shape[1]) / SR
    return float(2 * np.abs(np.mean(mix[0] * np.exp(-2j * np.pi * freq * t))))


@pytest.mark.parametrize("ratio_db", [-6.0, 0.0, 9.0])
def test_mixing_sets_the_drums_to_backing_ratio_and_the_peak(ratio_db: float) -> None:
    drums = tone(200.0, 2.0)  # mono drums
    backing = tone(1000.0, 3.0, channels=2) * 0.1  # longer than the drums: cut
    mix = mix_with_drums(drums, backing, ratio_db)
    assert mix.shape == (2, drums.size) and mix.dtype == np.float32
    assert 20 * np.log10(np.abs(mix).max()) == pytest.approx(MIX_PEAK_DBFS, abs=0.01)
    measured = 20 * np.log10(amplitude(mix, 200.0) / amplitude(mix, 1000.0))
    assert measured == pytest.approx(ratio_db, abs=0.1)


def test_a_short_backing_is_padded_with_silence() -> None:
    mix = mix_with_drums(tone(200.0, 2.0, channels=2), tone(1000.0, 1.0, channels=2), 0.0)
    assert mix.shape == (2, 2 * SR)
    assert np.abs(mix[:, int(1.5 * SR) :]).max() == pytest.approx(
        np.abs(mix[:, : SR // 2]).max() / 2, rel=0.05
    )


@pytest.fixture(scope="module")
def separator():
    # One thread: on a shared 2-core machine torch's spinning threads cost more than they give.
    return load_separator(model="demucs_unittest", threads=1)


def test_separation_runs_the_workers_demucs_and_keeps_a_mono_stem(separator) -> None:
    from groovesheet_worker.config import WorkerSettings
    from groovesheet_worker.pipeline.separation import DrumSeparator

    assert isinstance(separator, DrumSeparator)
    assert separator.shifts == WorkerSettings.model_fields["demucs_shifts"].default
    assert separator.overlap == WorkerSettings.model_fields["demucs_overlap"].default
    rng = np.random.default_rng(0)
    drums = (rng.standard_normal(2 * SR) * np.exp(-np.arange(2 * SR) % (SR // 4) / 800)).astype(np.float32)
    mix = mix_with_drums(drums, tone(220.0, 2.0, channels=2), 3.0)

    before = random.getstate()
    stem = separate_drums(mix, separator, seed=1)
    assert random.getstate() == before  # the global random state is left as it was
    assert stem.shape == (2 * SR,) and stem.dtype == np.float32
    assert np.all(np.isfinite(stem))
    # Deterministic for a seed, and exactly what the worker computes (stem mean of channels).
    np.testing.assert_array_equal(stem, separate_drums(mix, separator, seed=1))
    random.seed(1)
    np.testing.assert_allclose(stem, separator.separate_drums(mix).mean(axis=0), atol=1e-6)
    # The random test model cannot give back the mix: a raw-mix fallback would be caught.
    assert not np.allclose(stem, mix.mean(axis=0), atol=1e-3)


def test_a_missing_htdemucs_folder_is_the_workers_clear_error(tmp_path: Path) -> None:
    from groovesheet_shared.errors import TranscriptionError

    with pytest.raises(TranscriptionError, match="make models"):
        load_separator(tmp_path / "nowhere")
