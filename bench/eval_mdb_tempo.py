"""The beat grid on real recordings: tempo, time signature and bar 1 on the 17 MDB Drums recordings.

    python bench/eval_mdb_tempo.py [--data ../shared/eval/mdb-dev] [--cache DIR] [--hit-model hitnet|annoteator]

Each recording's drum track (the drum-only file, or htdemucs' drum stem of the mix, cached in
``--cache`` exactly as ``eval_mdb.py`` caches it), hits from the worker's hit finder, then the beat
grid without hints (``beat_grid.estimate_tempo_grid``), against the annotated beats
(``annotations/beats``: time and beat number; beat 1 is a downbeat): tempo from the median
inter-beat interval, within 4 %; time signature from the highest beat number; bar 1 on an annotated
downbeat (within a fifth of a beat).
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for sub in ("shared", "worker-service", "bench"):
    sys.path.insert(0, str(ROOT / sub))

from eval_mdb import drum_stem  # noqa: E402

from groovesheet_worker.pipeline.beat_grid import estimate_tempo_grid  # noqa: E402
from groovesheet_worker.pipeline.constants import SAMPLE_RATE  # noqa: E402

TEMPO_TOLERANCE = 0.04
BAR_LINE_TOLERANCE_BEATS = 0.2


def annotated(path: Path) -> tuple[float, str, np.ndarray]:
    """(tempo, time signature, downbeat times) of an MDB beats file."""
    rows = np.loadtxt(path)
    times, numbers = rows[:, 0], rows[:, 1].astype(int)
    return 60.0 / float(np.median(np.diff(times))), f"{numbers.max()}/4", times[numbers == 1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "eval" / "mdb-dev")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "groovesheet-eval-cache")
    parser.add_argument("--hit-model", choices=("hitnet", "annoteator"), help="default: the worker's")
    args = parser.parse_args(argv)

    from groovesheet_worker.config import WorkerSettings
    from groovesheet_worker.pipeline.hit_finding import load_hit_finder

    settings = WorkerSettings()
    if args.hit_model:
        settings = settings.model_copy(update={"hit_model": args.hit_model})
    finder = load_hit_finder(settings)
    holder: dict = {}
    with open(args.data / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    print(f"hit finder: {settings.hit_model}\n")
    print("| recording | audio | annotated bpm | bpm | error | time signature | bar 1 |")
    print("|---|---|---|---|---|---|---|")
    worst, tempo_right, signature_right, bar_right = 0.0, 0, 0, 0
    for row in rows:
        bpm, signature, downbeats = annotated(args.data / row["beats_annotation"])
        drums = drum_stem(row, args.data, args.cache, settings, holder)
        hits = finder.classify(finder.prepare(drums, SAMPLE_RATE))
        grid = estimate_tempo_grid(drums, SAMPLE_RATE, hits, None, None)
        error = grid.bpm / bpm - 1.0
        bar_one = grid.beats[grid.downbeat]
        on_line = np.min(np.abs(downbeats - bar_one)) <= BAR_LINE_TOLERANCE_BEATS * 60.0 / bpm
        worst = max(worst, abs(error))
        tempo_right += abs(error) <= TEMPO_TOLERANCE
        signature_right += grid.time_signature == signature
        bar_right += bool(on_line)
        print(
            f"| {row['track']} | {row['set']} | {bpm:.1f} | {grid.bpm:.1f} | {error:+.1%} | "
            f"{grid.time_signature} ({signature}) | {'right' if on_line else 'wrong'} |",
            flush=True,
        )
    n = len(rows)
    print(
        f"\ntempo within 4 %: {tempo_right}/{n} (largest error {worst:.1%}); "
        f"time signature: {signature_right}/{n}; bar 1: {bar_right}/{n}"
    )
    return 0 if tempo_right == n else 1


if __name__ == "__main__":
    sys.exit(main())
