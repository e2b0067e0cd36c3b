"""The training-data engine: GMD mapping, variations, rendering, determinism, and the scores."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from training import dataset
from training.arrange import Performance, Stroke, gmd_entries, read_performance, vary
from training.classes import CLASSES, GMD_NOTES
from training.kit import SAMPLE_RATE, Kit
from training.metrics import score
from training.render import render

GMD = Path(__file__).resolve().parents[3] / "shared" / "training" / "gmd"
needs_gmd = pytest.mark.skipif(not GMD.exists(), reason="../shared/training/gmd is not beside the repository")


def test_gmd_map_keeps_rim_58_a_floor_tom_and_edges_as_hi_hats() -> None:
    assert GMD_NOTES[58] == "tom_floor"
    assert GMD_NOTES[22] == "hihat_closed" and GMD_NOTES[26] == "hihat_open"
    assert set(GMD_NOTES.values()) <= set(CLASSES)


@needs_gmd
def test_reading_a_performance_maps_every_stroke_and_keeps_its_tempo() -> None:
    entry = gmd_entries("test")[0]
    perf = read_performance(entry)
    assert perf.bpm == entry.bpm and len(perf.strokes) > 50
    assert abs(perf.duration - entry.duration) < 1.0
    assert all(s.cls in CLASSES and 1 <= s.velocity <= 127 for s in perf.strokes)


def _groove(seconds: float = 8.0, bpm: float = 120.0) -> Performance:
    beat = 60 / bpm
    strokes = []
    for i in range(int(seconds / beat * 2)):
        t = round(i * beat / 2, 5)
        strokes.append(Stroke(t, "hihat_closed", 80))
        if i % 4 == 0:
            strokes.append(Stroke(t, "kick", 100))
        if i % 4 == 2:
            strokes.append(Stroke(t, "snare", 100))
    return Performance("groove", bpm, 4, seconds, tuple(strokes))


def test_variations_follow_the_labels_and_the_tempo() -> None:
    base = _groove()
    seen: set[str] = set()
    for seed in range(40):
        varied = vary(base, np.random.default_rng(seed))
        factor = varied.bpm / base.bpm
        assert 0.79 < factor < 1.26
        assert varied.duration == pytest.approx(base.duration / factor)
        assert all(0 <= s.time < varied.duration for s in varied.strokes)
        assert list(varied.strokes) == sorted(varied.strokes, key=lambda s: s.time)
        seen |= {s.cls for s in varied.strokes}
    # Over a few seeds the variations bring in what plain grooves lack.
    assert {"ride", "hihat_open", "crash", "tom_high", "tom_mid", "tom_floor"} <= seen


def _click_kit() -> Kit:
    kit = Kit("clicks", "CC0")
    t = np.arange(int(0.5 * SAMPLE_RATE)) / SAMPLE_RATE
    for i, cls in enumerate(CLASSES):
        kit.add(cls, np.sin(2 * np.pi * (200 + 300 * i) * t) * np.exp(-t / 0.3), 100)
    return kit


def test_render_places_strokes_and_an_open_hi_hat_is_choked_by_the_next_closed_one() -> None:
    kit = _click_kit()
    kits = dict.fromkeys(CLASSES, kit)
    open_only = Performance("o", 120, 4, 1.0, (Stroke(0.1, "hihat_open", 100),))
    pedal = (Stroke(0.3, "hihat_pedal", 60),)
    a = render(open_only, kits, np.random.default_rng(0))
    b = render(replace(open_only, strokes=open_only.strokes + pedal), kits, np.random.default_rng(0))
    c = render(replace(open_only, strokes=pedal), kits, np.random.default_rng(0))
    start = int(0.1 * SAMPLE_RATE)
    assert np.abs(a[: start - 1]).max() == 0 and np.abs(a[start : start + 50]).max() > 0
    late = slice(int(0.35 * SAMPLE_RATE), int(0.5 * SAMPLE_RATE))
    assert np.abs(a[late]).max() > 0.1  # the open hi-hat alone still rings here
    np.testing.assert_allclose(b[late], c[late], atol=1e-6)  # choked: only the pedal is left


def test_soft_strokes_render_softer() -> None:
    kits = dict.fromkeys(CLASSES, _click_kit())
    loud = render(Performance("l", 120, 4, 0.6, (Stroke(0.0, "snare", 120),)), kits, np.random.default_rng(0))
    soft = render(Performance("s", 120, 4, 0.6, (Stroke(0.0, "snare", 40),)), kits, np.random.default_rng(0))
    assert np.abs(soft).max() < 0.3 * np.abs(loud).max()


@needs_gmd
def test_pieces_are_deterministic_from_the_seed(tmp_path: Path) -> None:
    def build(out: Path, seed: int) -> dict[str, np.ndarray]:
        cfg = dataset.BuildConfig(
            out=out, cache=tmp_path / "cache", seed=seed, kit_sources=("synth",), synth_seeds=2
        )
        with np.load(dataset.build_piece(cfg, "train", 3)) as z:
            return {k: z[k] for k in z.files}

    a, b, c = build(tmp_path / "a", 1), build(tmp_path / "b", 1), build(tmp_path / "c", 2)
    for key in ("spec", "times", "classes", "velocities"):
        np.testing.assert_array_equal(a[key], b[key])
    assert a["spec"].shape != c["spec"].shape or not np.array_equal(a["spec"], c["spec"])
    assert a["spec"].shape[1] == 81 and len(a["times"]) == len(a["classes"]) > 10


def test_scores_count_hits_together_ghosts_and_open_hi_hats() -> None:
    ref = [(0.0, "kick", 100), (0.0, "hihat_closed", 80), (0.5, "snare", 30), (1.0, "hihat_open", 90)]
    perfect = score([(ref, ref)])
    assert perfect["sum_F5"] == 1.0 and perfect["recall_ghost_snare"] == 1.0
    assert perfect["recall_hihat_under_kick_snare"] == 1.0 and perfect["F_open_hihat"] == 1.0
    lossy = [(0.01, "kick", 100), (1.0, "hihat_closed", 90)]  # hi-hat under the kick and the ghost lost
    s = score([(ref, lossy)])
    assert s["recall_hihat_under_kick_snare"] == 0.0 and s["recall_ghost_snare"] == 0.0
    assert s["F5_kick"] == 1.0 and s["F_open_hihat"] == 0.0 and s["F5_hihat"] == pytest.approx(2 / 3)


def test_varied_pieces_play_closed_hi_hats_of_a_varied_kit_and_train_only_when_asked(tmp_path: Path) -> None:
    cfg = dataset.BuildConfig(
        out=tmp_path / "data", cache=tmp_path / "cache", kit_sources=("synth",), synth_seeds=2
    )
    kits = dataset.performance_for(cfg, "varied", 0)[1]
    assert kits["hihat_closed"].name.endswith("-varied") and kits["cross_stick"] is kits["hihat_closed"]
    assert not kits["kick"].name.endswith("-varied")
    # Drawn from their own stream: building them leaves the other splits' pieces as they were.
    assert dataset.SPLIT_IDS["varied"] not in {v for k, v in dataset.SPLIT_IDS.items() if k != "varied"}
    for split, index in (("train", 0), ("train", 1), ("varied", 0)):
        dataset.build_piece(cfg, split, index)
    from training.train import load_sets

    plain = load_sets(cfg.out, tuning=1)
    with_varied = load_sets(cfg.out, tuning=1, splits=("real_kit", "produced", "varied"))
    assert len(with_varied.train) == len(plain.train) + 1
