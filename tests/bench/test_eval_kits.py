"""make eval-notation's recorded kits: each test-set SoundFont kit plays every drum class it is asked for."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.eval_notation import AVL_KITS, SETS, load_kit

CLASSES = ("kick", "snare", "cross_stick", "hihat_closed", "hihat_open", "hihat_pedal", "ride", "crash",
           "tom_high", "tom_mid", "tom_floor")  # fmt: skip


@pytest.mark.parametrize("name", sorted(AVL_KITS))
def test_the_avldrums_kits_are_test_kits_and_play_every_class(name: str, tmp_path: Path) -> None:
    assert name in SETS["test"]["kits"]
    kit = load_kit.__wrapped__(name, tmp_path)  # not the benchmark's cached kit: render it here
    for cls in CLASSES:
        shots = kit.shots.get(cls, [])
        assert shots, f"{name} has no {cls}"
        assert all(float(np.abs(s.audio).max()) > 1e-3 for s in shots), f"{name}: a silent {cls}"
        assert all(np.argmax(np.abs(s.audio) > 0.1 * np.abs(s.audio).max()) < 0.06 * 44_100 for s in shots)
