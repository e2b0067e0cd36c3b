"""How long the beat grid (tempo, meter, bar 1) takes on a long song, hits given.

    python bench/bench_reading.py [--piece 3] [--copies 12] [--rounds 3]

A piece of the notation benchmark's test set (bench/eval_notation.py: rendered and its HitNet hits
found once, both cached), laid end to end ``--copies`` times (12 copies of a 24 s GMD excerpt: about
4.5 minutes, 2 400 hits), then ``beat_grid.estimate_tempo_grid`` without hints, ``--rounds`` times;
prints each round's seconds and the median. Only the reading is timed: decoding, separation and the
hit finder are ``make bench``'s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for sub in ("shared", "worker-service", "."):
    sys.path.insert(0, str(ROOT / sub))

from bench.eval_notation import (  # noqa: E402
    DEFAULT_CACHE,
    build_pieces,
    cached_hit_finder,
    drum_track,
    piece_audio,
)
from groovesheet_worker.pipeline import beat_grid  # noqa: E402
from groovesheet_worker.pipeline.constants import SAMPLE_RATE  # noqa: E402
from groovesheet_worker.pipeline.types import Hit  # noqa: E402


def looped(drums: np.ndarray, hits: list[Hit], bpm: float, beats_per_bar: int, copies: int):
    """``copies`` of the piece end to end, each cut to whole bars so the groove runs on unbroken."""
    bar = beats_per_bar * 60.0 / bpm
    span = max(1, round(len(drums) / SAMPLE_RATE / bar)) * bar
    n = int(span * SAMPLE_RATE)
    one = np.pad(drums, (0, max(0, n - len(drums))))[:n]
    kept = [h for h in hits if h.time < span]
    audio = np.concatenate([one] * copies)
    return audio, [
        Hit(h.time + k * span, h.instrument, h.confidence, h.velocity) for k in range(copies) for h in kept
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--piece", type=int, default=3, help="number of the test-set piece (1-based)")
    parser.add_argument("--copies", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args(argv)

    finder = cached_hit_finder(args.cache)
    bench = build_pieces("test", 20, 2, 4, None)[args.piece - 1]
    drums = drum_track(bench, piece_audio(bench, "test", args.cache), None)
    hits = finder.classify(finder.prepare(drums, SAMPLE_RATE))
    score = bench.piece.score
    audio, long_hits = looped(drums, hits, score.bpm, score.beats_per_bar, args.copies)
    print(f"{bench.piece.name} on {bench.kit}: {len(audio) / SAMPLE_RATE:.0f} s, {len(long_hits)} hits")
    seconds = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        grid = beat_grid.estimate_tempo_grid(audio, SAMPLE_RATE, long_hits, None, None)
        seconds.append(time.perf_counter() - start)
        print(f"  {seconds[-1]:.2f} s ({grid.bpm:.1f} bpm, {grid.time_signature})", flush=True)
    print(f"median {statistics.median(seconds):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
