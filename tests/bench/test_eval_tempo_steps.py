"""The tempo-step bench: a piece that jumps to another tempo, read and scored; the generator restored."""

from __future__ import annotations

from bench.eval_tempo_steps import main, score_step
from training import notation_pieces


def test_a_piece_stepping_a_quarter_slower_is_scored_with_its_tempo_change() -> None:
    original = notation_pieces.DRIFT_RANGE
    try:
        f, changed = score_step(0.25, "rock", 2)
    finally:
        notation_pieces.DRIFT_RANGE = original
    assert changed
    assert f >= 0.95


def test_the_bench_prints_a_row_per_step_and_leaves_the_generator_as_it_was(capsys) -> None:
    original = notation_pieces.DRIFT_RANGE
    assert main(["--steps", "0.15", "--seeds", "1"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| 15%")]
    assert len(rows) == 1 and rows[0].split("|")[2].strip() == "5"
    assert original == notation_pieces.DRIFT_RANGE
