"""NetHitFinder: the committed weights load only when their sha256 matches; hits carry velocity."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from groovesheet_shared.errors import TranscriptionError
from groovesheet_worker.config import WorkerSettings
from groovesheet_worker.hitnet.finder import WEIGHTS_PATH, NetHitFinder, expected_sha256
from groovesheet_worker.pipeline.hit_finding import load_hit_finder
from groovesheet_worker.pipeline.types import INSTRUMENTS


def test_the_committed_weights_match_their_sha256_and_model_card() -> None:
    digest = hashlib.sha256(WEIGHTS_PATH.read_bytes()).hexdigest()
    assert digest == expected_sha256()
    assert digest in WEIGHTS_PATH.with_name("MODEL_CARD.md").read_text()


def test_weights_without_a_recorded_sha256_are_refused(tmp_path: Path) -> None:
    shutil.copyfile(WEIGHTS_PATH, tmp_path / "hitnet.pt")
    with pytest.raises(TranscriptionError, match="no sha256"):
        NetHitFinder(tmp_path / "hitnet.pt")


def test_a_damaged_weights_file_is_refused(tmp_path: Path) -> None:
    damaged = tmp_path / "hitnet.pt"
    shutil.copyfile(WEIGHTS_PATH, damaged)
    shutil.copyfile(WEIGHTS_PATH.with_name("hitnet.pt.sha256"), tmp_path / "hitnet.pt.sha256")
    with open(damaged, "r+b") as f:
        f.seek(200)
        f.write(b"\x00\x01\x02")
    with pytest.raises(TranscriptionError) as err:
        NetHitFinder(damaged)
    assert err.value.code == "model_unavailable" and "sha256" in str(err.value)


def test_a_missing_weights_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(TranscriptionError, match="make train"):
        NetHitFinder(tmp_path / "nope.pt")


def test_hit_model_hitnet_loads_hitnet_and_it_finds_a_kick_and_snare_groove() -> None:
    finder = load_hit_finder(WorkerSettings(hit_model="hitnet"))
    assert isinstance(finder, NetHitFinder)
    sr = 44_100
    t = np.arange(int(0.4 * sr)) / sr
    kick = np.sin(2 * np.pi * (50 + 100 * np.exp(-t / 0.03)) * t) * np.exp(-t / 0.15)
    rng = np.random.default_rng(0)
    snare = (0.6 * rng.standard_normal(len(t)) + np.sin(2 * np.pi * 190 * t)) * np.exp(-t / 0.08)
    audio = np.zeros(4 * sr)
    for i in range(8):
        start = int((0.25 + i * 0.45) * sr)
        part = kick if i % 2 == 0 else snare
        audio[start : start + len(part)] += 0.5 * part[: len(audio) - start]
    hits = finder.find_hits(audio.astype(np.float32))
    assert all(h.instrument in INSTRUMENTS and 1 <= h.velocity <= 127 for h in hits)
    found = {round(h.time / 0.45 - 0.25 / 0.45) for h in hits if h.instrument in ("kick", "snare")}
    assert len(found & set(range(8))) >= 6


def test_a_stroke_on_the_tracks_first_sample_is_heard_like_any_other() -> None:
    """HitNet hears silence before the track (LEAD_IN_FRAMES), so an opening crash on sample 0 counts."""
    from training.synth_kit import synth_kit

    finder = NetHitFinder()
    sr = 44_100
    missed: list[tuple[int, str, float]] = []
    for seed in range(4):
        kit = synth_kit(seed)
        rng = np.random.default_rng(seed)
        for instrument in ("crash", "ride", "kick", "tom_high"):
            shot, gain = kit.pick(instrument, 110, rng)
            audio = np.zeros(3 * sr, dtype=np.float32)
            for start in (0, sr, 2 * sr):  # on the first sample, then twice more with silence before
                n = min(len(shot), len(audio) - start)
                audio[start : start + n] += 0.5 * gain * shot[:n]
            hits = finder.find_hits(audio)
            for second in (0.0, 1.0, 2.0):
                if not any(h.instrument == instrument and abs(h.time - second) < 0.05 for h in hits):
                    missed.append((seed, instrument, second))
    assert missed == []


def test_the_readers_get_the_tracks_own_frames_without_the_lead_in() -> None:
    from groovesheet_worker.hitnet.finder import LEAD_IN_FRAMES
    from groovesheet_worker.hitnet.spectrogram import drum_track_spectrogram, n_frames

    finder = NetHitFinder()
    audio = np.random.default_rng(1).standard_normal(44_100).astype(np.float32) * 0.1
    prepared = finder.prepare(audio)
    assert prepared.heard.shape[0] == LEAD_IN_FRAMES + n_frames(len(audio))
    np.testing.assert_allclose(prepared.spectrogram, drum_track_spectrogram(audio), atol=1e-5)
    assert len(finder.activations(prepared)[0]) == n_frames(len(audio))
