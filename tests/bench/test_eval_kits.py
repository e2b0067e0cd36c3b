"""make eval-notation's recorded kits: each test-set SoundFont kit plays every drum class it is asked for."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.eval_notation import AVL_KITS, SETS, load_kit
from tests.kit_checks import one_shots_that_are_silent_or_start_late
from training.classes import CLASSES


@pytest.mark.parametrize("name", sorted(AVL_KITS))
def test_the_avldrums_kits_are_test_kits_and_play_every_class(name: str, tmp_path: Path) -> None:
    assert name in SETS["test"]["kits"]
    kit = load_kit.__wrapped__(name, tmp_path)  # not the benchmark's cached kit: render it here
    assert [cls for cls in CLASSES if cls != "ride_bell" and not kit.has(cls)] == []
    assert one_shots_that_are_silent_or_start_late(kit) == []
