"""Hit finding with the real AnNOTEator model: the right instruments at the right times."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from groovesheet_worker.pipeline.constants import CLIP_SAMPLES, MEL_FRAMES, MODEL_CLASSES, N_MELS, SAMPLE_RATE
from groovesheet_worker.pipeline.features import clip_window, compress_clips, onset_clips
from groovesheet_worker.pipeline.hits import (
    RESCORE_FEATURES,
    RESCORER,
    THRESHOLDS,
    HitFinder,
    HitRules,
    fold_tempo,
    label_hits,
    load_tuning,
    write_tuning,
)
from groovesheet_worker.pipeline.types import INSTRUMENTS
from tests.audio_samples import groove

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "annoteator" / "complete_network.h5"
# MDB Drums recordings (CC BY-NC-SA, never copied into the repository) with hand-made annotations.
MDB = ROOT.parent / "shared" / "eval" / "mdb-dev"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def finder() -> HitFinder:
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make models`")
    return HitFinder(MODEL)


def mdb_excerpt(track: str, seconds: float) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    if not MDB.exists():
        pytest.skip(f"MDB Drums development data not found at {MDB}")
    audio, sr = sf.read(
        MDB / "audio" / "drum_only" / f"{track}_Drum.flac", dtype="float32", frames=int(seconds * SAMPLE_RATE)
    )
    assert sr == SAMPLE_RATE
    labels = {"KD": "kick", "SD": "snare", "HH": "hihat", "CY": "cymbals", "TT": "toms"}
    reference: dict[str, list[float]] = {name: [] for name in labels.values()}
    for line in (MDB / "annotations" / "class" / f"{track}_class.txt").read_text().splitlines():
        if line.split() and line.split()[1] in labels and float(line.split()[0]) < seconds - 0.2:
            reference[labels[line.split()[1]]].append(float(line.split()[0]))
    return audio, {k: np.array(v) for k, v in reference.items()}


def f_measure(reference: np.ndarray, estimated: np.ndarray, window: float = 0.05) -> float:
    """Onset F-measure with greedy one-to-one matching inside +-window."""
    used = np.zeros(len(estimated), dtype=bool)
    matched = 0
    for t in reference:
        candidates = np.flatnonzero(~used & (np.abs(estimated - t) <= window))
        if len(candidates):
            used[candidates[np.argmin(np.abs(estimated[candidates] - t))]] = True
            matched += 1
    return 0.0 if matched == 0 else 2 * matched / (len(reference) + len(estimated))


def times_of(hits, *instruments: str) -> np.ndarray:
    return np.array(sorted(h.time for h in hits if h.instrument in instruments))


def test_clips_are_prepared_as_the_model_was_trained() -> None:
    drums = groove(3.0)
    onsets = np.array([0, SAMPLE_RATE, 2 * SAMPLE_RATE - 10])
    spectrograms = onset_clips(drums, onsets, bpm=110.0)
    assert spectrograms.shape == (3, N_MELS, MEL_FRAMES, 1)
    assert spectrograms.dtype == np.float32 and np.all(np.isfinite(spectrograms))
    # A 16th note at 110 bpm plus 1/32 of a beat before the onset.
    assert clip_window(110.0) == (
        round(60 / 110 / 32 * SAMPLE_RATE),
        round(60 / 110 / 4 * SAMPLE_RATE),
    )
    assert CLIP_SAMPLES == 8820


def test_the_compressor_leaves_quiet_clips_alone_and_turns_loud_ones_down() -> None:
    t = np.arange(CLIP_SAMPLES) / SAMPLE_RATE
    tone = np.sin(2 * np.pi * 200 * t).astype(np.float32)
    quiet, loud = compress_clips(np.stack([0.01 * tone, 0.9 * tone]))
    np.testing.assert_allclose(quiet, 0.01 * tone, atol=1e-7)  # under -27 dB: untouched
    # 4:1 above -27 dB: 0.9 (-0.9 dBFS) comes out near -27 + 26.1 / 4 = -20.5 dBFS once settled.
    settled_peak_db = 20 * np.log10(np.abs(loud[-2000:]).max())
    assert -22.0 < settled_peak_db < -19.0


def test_tempo_for_clip_length_is_folded_into_a_drummers_range() -> None:
    assert fold_tempo(55.0) == 110.0
    assert fold_tempo(225.0) == 112.5
    assert fold_tempo(27.5) == 110.0
    assert fold_tempo(float("nan")) == 120.0


def test_every_instrument_above_its_threshold_is_kept() -> None:
    rules = HitRules(
        thresholds={"kick": 0.3, "snare": 0.35, "hihat": 0.1, "ride": 1.01, "crash": 0.2, "tom": 0.95}
    )
    probabilities = np.zeros((3, len(MODEL_CLASSES)), dtype=np.float32)
    probabilities[0, MODEL_CLASSES.index("kick")] = 0.8
    probabilities[0, MODEL_CLASSES.index("hihat")] = 0.15  # kick + hi-hat: both kept
    probabilities[1, MODEL_CLASSES.index("tom")] = 0.9  # under the tom minimum: nothing
    probabilities[2, MODEL_CLASSES.index("hihat")] = 0.6  # rings on: a ride
    hits = label_hits([1.0, 2.0, 3.0], probabilities, rules, sustain_db=np.array([-20.0, -20.0, -2.0]))
    assert sorted((h.time, h.instrument) for h in hits) == [
        (1.0, "hihat_closed"),
        (1.0, "kick"),
        (3.0, "ride"),
    ]
    assert next(h for h in hits if h.instrument == "ride").confidence == pytest.approx(0.6)
    assert {h.instrument for h in hits} <= set(INSTRUMENTS)


def test_the_fitted_numbers_come_from_the_versioned_tuning_file(tmp_path) -> None:
    tuning = load_tuning()
    assert tuning.thresholds == THRESHOLDS and tuning.rescorer == RESCORER
    assert tuning.features == RESCORE_FEATURES and set(tuning.thresholds) == set(MODEL_CLASSES)
    written = tmp_path / "tuning.json"
    write_tuning(written, {**THRESHOLDS, "kick": 0.3}, RESCORER, {"fitted_on": "a test"})
    again = load_tuning(written)
    assert again.thresholds["kick"] == 0.3 and again.rescorer == RESCORER
    doc = json.loads(written.read_text())
    assert doc["fitted_on"] == "a test" and doc["rescore_features"] == list(RESCORE_FEATURES)
    written.write_text(json.dumps({**doc, "version": 99}))
    with pytest.raises(ValueError, match="version"):
        load_tuning(written)


def test_silence_has_no_hits(finder: HitFinder) -> None:
    assert finder.find_hits(np.zeros(3 * SAMPLE_RATE, dtype=np.float32)) == []


def test_a_synthesized_kick_is_found_on_the_beat(finder: HitFinder) -> None:
    # tests.audio_samples.groove at 100 bpm: kick on beats 1 and 3 (every 1.2 s), hi-hat on every 8th.
    hits = finder.find_hits(groove(6.0, bpm=100.0))
    kicks = times_of(hits, "kick")
    true_kicks = np.arange(0.0, 6.0, 1.2)
    assert len(kicks) >= 3
    assert all(np.min(np.abs(true_kicks - t)) < 0.03 for t in kicks)
    assert len(times_of(hits, "hihat_closed")) >= 10


def test_real_rock_groove_kick_hihat_and_their_overlaps(finder: HitFinder) -> None:
    drums, reference = mdb_excerpt("MusicDelta_Rockabilly", 12.0)
    hits = finder.find_hits(drums)
    assert f_measure(reference["kick"], times_of(hits, "kick")) > 0.8
    assert f_measure(reference["hihat"], times_of(hits, "hihat_closed")) > 0.8
    # Kicks played with a hi-hat come out as two hits at one time, not one.
    both = set(times_of(hits, "kick")) & set(times_of(hits, "hihat_closed"))
    assert len(both) >= 5
    assert all(0.0 <= h.confidence <= 1.0 for h in hits)


def test_real_backbeat_snare_and_kick(finder: HitFinder) -> None:
    drums, reference = mdb_excerpt("MusicDelta_80sRock", 15.0)
    hits = finder.find_hits(drums)
    assert f_measure(reference["kick"], times_of(hits, "kick")) > 0.85
    assert f_measure(reference["snare"], times_of(hits, "snare")) > 0.6
    assert len(times_of(hits, "tom_mid")) <= 2  # no toms in this song: the tom minimum holds them back


def test_ride_cymbal_is_not_written_as_hihat(finder: HitFinder) -> None:
    drums, reference = mdb_excerpt("MusicDelta_Shadows", 15.0)
    hits = finder.find_hits(drums)
    rides = times_of(hits, "ride", "crash")
    assert f_measure(reference["cymbals"], rides) > 0.5
    assert len(times_of(hits, "hihat_closed")) < len(rides) / 2
