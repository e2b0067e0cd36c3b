"""Songs that jump to another tempo or keep speeding up: is each bar written at its own tempo?

    python bench/eval_tempo_steps.py [--steps 0.15 0.25 0.35] [--ramps 0.1 0.2 0.3] [--seeds 1 2 3 4]

Generated pieces of the notation benchmark's grooves (training/notation_pieces.py, ``drift=True``:
the tempo moves two thirds in) with the move set to each ``--steps`` (a fraction, up or down as the
piece's seed draws it; the benchmark's own drift pieces move 6-10 %), played on the tests' synthesised
kit and read from their true strokes without hints, so only the reading is measured. Prints, per step,
the notation F (bench/notation_score.py) and how many pieces wrote a tempo change within 4 % of the
section's tempo. ``--ramps``: the same grooves sped up evenly from start to end by each fraction
(an accelerando); prints the notation F and the share of bars whose written metronome mark is within
5 % of the tempo they are played at.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for sub in ("shared", "worker-service", "bench", "."):
    sys.path.insert(0, str(ROOT / sub))

from notation_score import notation_f, notes_on, true_notes  # noqa: E402

from groovesheet_worker.pipeline.beat_grid import estimate_tempo_grid  # noqa: E402
from tests.pipeline.generated_music import SR, audio_of, groove_piece, hits_of  # noqa: E402
from training import notation_pieces  # noqa: E402
from training.notation_pieces import NotationPiece  # noqa: E402

STYLES = ("rock", "waltz", "shuffle", "6/8", "half time")


def score_step(step: float, style: str, seed: int) -> tuple[float, bool]:
    """Notation F of the piece read without hints, and whether a change to the section's tempo is written."""
    notation_pieces.DRIFT_RANGE = (step, step)
    piece = groove_piece(style, seed, drift=True)
    hits = hits_of(piece)
    grid = estimate_tempo_grid(audio_of(piece), SR, hits, None, None)
    late = 60.0 / float(np.median(np.diff(piece.score.beats)[-8:]))
    beats_per_pulse = 3 if piece.score.time_signature in ("6/8", "12/8") else 1
    late /= beats_per_pulse
    changed = any(abs(c.bpm / late - 1.0) <= 0.04 for c in grid.tempo_changes)
    match = notation_f(notes_on(hits, grid), true_notes(piece.performance.strokes, piece.score))
    return match.f, changed


def ramped(piece: NotationPiece, ramp: float) -> NotationPiece:
    """``piece`` sped up evenly from its start to its last beat by ``ramp`` (its tempo times 1 + ramp there)."""
    end = piece.score.beats[-1]

    def warp(t: float) -> float:  # the time at which a stroke of the steady piece is played
        return t if t <= 0 else end / ramp * math.log1p(ramp * t / end)

    strokes = tuple(replace(s, time=warp(s.time)) for s in piece.performance.strokes)
    beats = tuple(warp(b) for b in piece.score.beats)
    return replace(
        piece,
        performance=replace(piece.performance, strokes=strokes),
        score=replace(piece.score, beats=beats),
    )


def score_ramp(ramp: float, style: str, seed: int) -> tuple[float, float]:
    """Notation F of the sped-up piece read without hints, and the share of its bars whose written
    mark is within 5 % of the tempo they are played at."""
    piece = ramped(groove_piece(style, seed), ramp)
    hits = hits_of(piece)
    grid = estimate_tempo_grid(audio_of(piece), SR, hits, None, None)
    match = notation_f(notes_on(hits, grid), true_notes(piece.performance.strokes, piece.score))
    score, per_bar = piece.score, int(piece.score.time_signature.split("/")[0])
    beats_per_pulse = 3 if score.time_signature in ("6/8", "12/8") else 1
    marks = [(1, grid.bpm)] + [(c.bar, c.bpm) for c in grid.tempo_changes]
    near = []
    for bar in range(1, (len(score.beats) - score.downbeat - 1) // per_bar + 1):
        start = score.downbeat + (bar - 1) * per_bar
        played = 60.0 / float(np.median(np.diff(score.beats[start : start + per_bar + 1]))) / beats_per_pulse
        written = [bpm for first, bpm in marks if first <= bar][-1]
        near.append(abs(written / played - 1.0) <= 0.05)
    return match.f, float(np.mean(near))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", nargs="+", type=float, default=[0.15, 0.25, 0.35])
    parser.add_argument("--ramps", nargs="+", type=float, default=[0.1, 0.2, 0.3])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3, 4])
    args = parser.parse_args(argv)
    original = notation_pieces.DRIFT_RANGE
    print("| tempo step | pieces | notation F (mean) | F >= 0.95 | change written |\n|---|---|---|---|---|")
    try:
        for step in args.steps:
            results = [score_step(step, style, seed) for style in STYLES for seed in args.seeds]
            f = [r[0] for r in results]
            print(
                f"| {step:.0%} | {len(results)} | {np.mean(f):.3f} | {sum(x >= 0.95 for x in f)} "
                f"| {sum(r[1] for r in results)} |",
                flush=True,
            )
    finally:
        notation_pieces.DRIFT_RANGE = original
    print("\n| speeding up by | pieces | notation F (mean) | bars near their mark |\n|---|---|---|---|")
    for ramp in args.ramps:
        results = [score_ramp(ramp, style, seed) for style in STYLES for seed in args.seeds]
        print(
            f"| {ramp:.0%} | {len(results)} | {np.mean([r[0] for r in results]):.3f} "
            f"| {np.mean([r[1] for r in results]):.0%} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
