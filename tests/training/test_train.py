"""The trainer end to end on a tiny generated set: data, training, thresholds, weights the worker loads."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from groovesheet_worker.hitnet.finder import NetHitFinder
from groovesheet_worker.pipeline.types import INSTRUMENTS
from training import dataset, ensemble, model_card, train
from training.classes import CLASS_INDEX, CLASSES
from training.train import coincidence_weights

GMD = Path(__file__).resolve().parents[3] / "shared" / "training" / "gmd"
MULDJORD = Path(__file__).resolve().parents[3] / "shared" / "training" / "kits" / "muldjord"


@pytest.mark.skipif(
    not (GMD.exists() and MULDJORD.exists()), reason="../shared/training is not beside the repository"
)
def test_training_runs_end_to_end_and_the_worker_loads_the_result(tmp_path: Path) -> None:
    cfg = dataset.BuildConfig(
        out=tmp_path / "data", cache=tmp_path / "cache", kit_sources=("synth",), synth_seeds=2
    )
    for i in range(4):
        dataset.build_piece(cfg, "train", i)
    dataset.build_piece(cfg, "validation", 0)
    dataset.build_piece(cfg, "heldout_synth", 0)
    out = tmp_path / "model"
    metrics = train.train(
        train.build_parser().parse_args(
            ["--data", str(cfg.out), "--out", str(out), "--steps", "3", "--batch", "2", "--tuning", "1",
             "--width", "16", "--threads", "1"]
        )
    )  # fmt: skip
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["sha256"] == metrics["sha256"] and len(saved["thresholds"]) == len(INSTRUMENTS)
    for held_out in ("validation_heldout_kit", "muldjord_gmd_validation"):
        assert set(metrics[held_out]) >= {"sum_F5", "recall_ghost_snare", "F_open_hihat"}

    assert (out / "hitnet.pt.sha256").read_text().split()[0] == metrics["sha256"]
    finder = NetHitFinder(out / "hitnet.pt")
    with np.load(cfg.out / "validation" / "00000.npz") as z:
        n_frames = len(z["spec"])
    rng = np.random.default_rng(0)
    hits = finder.find_hits(rng.standard_normal(n_frames * 441).astype(np.float32) * 0.1)
    assert all(h.instrument in INSTRUMENTS and 1 <= (h.velocity or 0) <= 127 for h in hits)

    model_card.main(["--weights", str(out)])
    card = (out / "MODEL_CARD.md").read_text()
    assert metrics["sha256"] in card and "CC BY 4.0" in card and "MIT" in card
    assert all(f"| {name} |" in card for name in INSTRUMENTS)

    # A second member with its own seed and loss weighting, then the ensemble the worker ships.
    second = tmp_path / "model-b"
    train.train(
        train.build_parser().parse_args(
            ["--data", str(cfg.out), "--out", str(second), "--steps", "3", "--batch", "2", "--tuning", "1",
             "--width", "16", "--threads", "1", "--seed", "8", "--coincident-boost", "1"]
        )
    )  # fmt: skip
    joined = tmp_path / "ensemble"
    ensemble.main(["--members", str(out / "hitnet.pt"), str(second / "hitnet.pt"),
                   "--data", str(cfg.out), "--out", str(joined), "--tuning", "1"])  # fmt: skip
    together = json.loads((joined / "metrics.json").read_text())
    assert [m["seed"] for m in together["members"]] == [7, 8]
    assert [m["coincident_boost"] for m in together["members"]] == [2.0, 1.0]
    assert (joined / "hitnet.pt.sha256").read_text().split()[0] == together["sha256"]
    assert set(together["validation_heldout_kit"]) >= {"sum_F5", "recall_ghost_snare"}
    finder = NetHitFinder(joined / "hitnet.pt")
    assert len(finder.model.members) == 2
    hits = finder.find_hits(rng.standard_normal(n_frames * 441).astype(np.float32) * 0.1)
    assert all(h.instrument in INSTRUMENTS for h in hits)
    model_card.main(["--weights", str(joined)])
    card = (joined / "MODEL_CARD.md").read_text()
    assert together["sha256"] in card and "ensemble of 2 HitNets" in card and "seed 8" in card

    # A network trained later joins the shipped ensemble without its members being trained again.
    third = tmp_path / "model-c"
    train.train(
        train.build_parser().parse_args(
            ["--data", str(cfg.out), "--out", str(third), "--steps", "3", "--batch", "2", "--tuning", "1",
             "--width", "16", "--threads", "1", "--seed", "9"]
        )
    )  # fmt: skip
    grown = tmp_path / "ensemble-3"
    ensemble.main(["--members", str(joined / "hitnet.pt"), str(third / "hitnet.pt"),
                   "--data", str(cfg.out), "--out", str(grown), "--tuning", "1"])  # fmt: skip
    three = json.loads((grown / "metrics.json").read_text())
    assert [m["seed"] for m in three["members"]] == [7, 8, 9]
    assert [m["sha256"] for m in three["members"][:2]] == [m["sha256"] for m in together["members"]]
    assert len(NetHitFinder(grown / "hitnet.pt").model.members) == 3

    # The cymbals heard by two of the members only (the first and the third, taken from the ensemble
    # above): kept in the weights, the metrics and the card.
    limited = tmp_path / "ensemble-limited"
    ensemble.main(["--members", f"{grown / 'hitnet.pt'}@0,2", str(second / "hitnet.pt"), "--data", str(cfg.out),
                   "--out", str(limited), "--tuning", "1", "--class-members", "ride,crash=0,1"])  # fmt: skip
    picked = json.loads((limited / "metrics.json").read_text())
    assert [m["seed"] for m in picked["members"]] == [7, 9, 8]
    assert picked["class_members"] == {"ride": [0, 1], "crash": [0, 1]}
    heard = NetHitFinder(limited / "hitnet.pt").model
    assert heard.class_members == {CLASS_INDEX["ride"]: [0, 1], CLASS_INDEX["crash"]: [0, 1]}
    model_card.main(["--weights", str(limited)])
    assert "ride, crash: members 1, 2 only" in (limited / "MODEL_CARD.md").read_text()
    with pytest.raises(SystemExit, match="not one of"):
        ensemble.parse_class_members(["cowbell=0"])
    with pytest.raises(SystemExit, match="holds 3 networks"):
        ensemble.load_members(f"{grown / 'hitnet.pt'}@3")


def test_hi_hats_under_a_kick_or_snare_weigh_more_in_the_loss() -> None:
    target = torch.zeros((1, 4, len(CLASSES)))
    hh, kick, ride = CLASS_INDEX["hihat_closed"], CLASS_INDEX["kick"], CLASS_INDEX["ride"]
    target[0, 1, [hh, kick]] = 1.0  # hi-hat with a kick: masked
    target[0, 2, ride] = 1.0  # ride alone
    weights = coincidence_weights(target, 3.0)
    assert weights[0, 1, hh] == 3.0 and weights[0, 1, kick] == 1.0
    assert weights[0, 2, ride] == 1.0 and weights[0, 0].eq(1.0).all()
    assert coincidence_weights(target, 1.0).eq(1.0).all()


class _Heard(torch.nn.Module):
    """A stand-in network: the "spectrogram" is already the onset logits of every class."""

    def forward(self, spec: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return spec, torch.full_like(spec, 0.5)


class _Played:
    def __init__(self, heard: np.ndarray, strokes: list[tuple[int, str]]) -> None:
        self.spec = np.log(heard / (1 - heard)).astype(np.float32)
        self.strokes = strokes

    def events(self) -> list[tuple[float, str, int]]:
        return [(frame / 100, cls, 100) for frame, cls in self.strokes]


def test_one_drums_articulations_get_thresholds_chosen_together() -> None:
    # Eight closed hi-hat strokes, each also faintly heard as a pedal; two pedal strokes, as faint,
    # each also heard a little as a closed hi-hat.
    closed, pedal, kick = CLASS_INDEX["hihat_closed"], CLASS_INDEX["hihat_pedal"], CLASS_INDEX["kick"]
    heard = np.full((400, len(CLASSES)), 0.01)
    strokes = []
    for i in range(10):
        frame = 20 + 35 * i
        heard[frame, pedal] = 0.2
        heard[frame, closed] = 0.37 if i < 8 else 0.3
        strokes.append((frame, "hihat_closed" if i < 8 else "hihat_pedal"))
        heard[frame + 10, kick] = 0.9
        strokes.append((frame + 10, "kick"))
    piece = _Played(heard, strokes)
    model = _Heard()

    def written(thresholds: list[float]) -> list[tuple[int, str]]:
        return sorted(
            (round(t * 100), c)
            for t, c, _ in train.predict_events(*train.activations(model, piece.spec), thresholds)
        )

    # Each chosen on its own F: the closed hi-hat 0.35 (above its faint pedal strokes), the pedal
    # the lowest (its two strokes, eight false); together the pedal then takes every closed stroke.
    alone = [0.5] * len(CLASSES)
    alone[closed], alone[pedal] = 0.35, float(train.THRESHOLD_GRID[0])
    assert {c for _, c in written(alone)} == {"kick", "hihat_pedal"}
    assert written(train.tune_thresholds(model, [piece])) == sorted(strokes)
