"""make eval-notation's recorded kits: each test-set SoundFont kit plays every drum class it is asked for."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.eval_notation import AVL_KITS, SETS, load_kit
from tests.kit_checks import one_shots_that_are_silent_or_start_late
from training.classes import CLASSES
from training.dataset import SYNTH_TRAIN_SEEDS, SYNTH_VALIDATION_SEED0


@pytest.mark.parametrize("name", sorted(AVL_KITS))
def test_the_avldrums_kits_are_test_kits_and_play_every_class(name: str, tmp_path: Path) -> None:
    assert name in SETS["test"]["kits"]
    kit = load_kit.__wrapped__(name, tmp_path)  # not the benchmark's cached kit: render it here
    assert [cls for cls in CLASSES if cls != "ride_bell" and not kit.has(cls)] == []
    assert one_shots_that_are_silent_or_start_late(kit) == []


def test_each_set_draws_its_own_pieces_and_synthesised_kits() -> None:
    seeds = [spec["seed"] for spec in SETS.values()] + [spec["filler_seed"] for spec in SETS.values()]
    assert len(set(seeds)) == len(seeds)
    synthesised = {
        name: {int(kit.split("-")[1]) for kit in spec["kits"] if kit.startswith("synth-")}
        for name, spec in SETS.items()
    }
    # Training kits are seeds below SYNTH_TRAIN_SEEDS; the held-out ones 2000 from SYNTH_VALIDATION_SEED0.
    used_by_training = set(range(SYNTH_TRAIN_SEEDS)) | set(
        range(SYNTH_VALIDATION_SEED0, SYNTH_VALIDATION_SEED0 + 2000)
    )
    for name, kits in synthesised.items():
        assert kits and not kits & used_by_training, name
        for other, other_kits in synthesised.items():
            assert other == name or not kits & other_kits, (name, other)


def test_the_check_set_plays_the_test_sets_presets_and_recorded_kits() -> None:
    def sampled(name: str) -> set[str]:
        return {kit for kit in SETS[name]["kits"] if not kit.startswith("synth-")}

    assert sampled("check") == sampled("test")
    assert SETS["check"]["gmd_split"] == SETS["test"]["gmd_split"]
