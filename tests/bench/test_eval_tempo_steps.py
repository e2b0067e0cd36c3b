"""The tempo-step bench: pieces that jump to another tempo or speed up, read and scored."""

from __future__ import annotations

import numpy as np
import pytest

from bench.eval_tempo_steps import main, ramped, score_step
from tests.pipeline.generated_music import groove_piece
from training import notation_pieces


def test_a_piece_stepping_a_quarter_slower_is_scored_with_its_tempo_change() -> None:
    original = notation_pieces.DRIFT_RANGE
    try:
        f, changed = score_step(0.25, "rock", 2)
    finally:
        notation_pieces.DRIFT_RANGE = original
    assert changed
    assert f >= 0.95


def test_a_ramped_piece_speeds_up_evenly_by_the_ramp() -> None:
    piece = groove_piece("rock", 1)
    faster = ramped(piece, 0.3)
    first = np.diff(faster.score.beats[faster.score.downbeat : faster.score.downbeat + 2])[0]
    last = np.diff(faster.score.beats[-2:])[0]
    steady = np.diff(piece.score.beats[-2:])[0]
    assert first == pytest.approx(steady, rel=0.02)
    assert steady / last == pytest.approx(1.3, rel=0.02)
    assert len(faster.performance.strokes) == len(piece.performance.strokes)


def test_the_bench_prints_a_row_per_step_and_ramp_and_leaves_the_generator_as_it_was(capsys) -> None:
    original = notation_pieces.DRIFT_RANGE
    assert main(["--steps", "0.15", "--ramps", "0.2", "--seeds", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split("|")[2].strip() for line in out if line.startswith(("| 15%", "| 20%"))] == ["5", "5"]
    assert original == notation_pieces.DRIFT_RANGE
