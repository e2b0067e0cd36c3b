"""The beat grid on real recordings: tempo, time signature and bar 1 on the 17 MDB Drums recordings.

    python bench/eval_mdb_tempo.py [--data ../shared/eval/mdb-dev] [--cache DIR] [--hit-model hitnet|annoteator]

Each recording's drum track (the drum-only file, or htdemucs' drum stem of the mix, cached in
``--cache`` exactly as ``eval_mdb.py`` caches it), hits from the worker's hit finder, then the beat
grid without hints (``beat_grid.estimate_tempo_grid``), against the annotated beats
(``annotations/beats``: time and beat number; beat 1 is a downbeat): tempo from the median
inter-beat interval, within 4 %; time signature from the highest beat number; bar 1 on an annotated
downbeat (within a fifth of a beat). Notation F, without hints and with the annotated bpm and time
signature given: the sheet's notes (bar, exact position, instrument) against the annotated onsets
written on the annotated beats by the same quantizer, allowing one whole-bar shift, on MDB's five
classes (kick, snare, hi-hat, toms, cymbals); hit F on those classes at +-50 ms beside it, so
reading errors show apart from hearing errors. Real drummers on real kits: the reading's check on
music the notation benchmark's generated and GMD pieces are not.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for sub in ("shared", "worker-service", "bench", "."):
    sys.path.insert(0, str(ROOT / sub))

from eval_mdb import drum_stem  # noqa: E402
from notation_score import matched_pairs, notation_f, notes_on  # noqa: E402

from groovesheet_worker.pipeline.beat_grid import estimate_tempo_grid, extend  # noqa: E402
from groovesheet_worker.pipeline.constants import SAMPLE_RATE  # noqa: E402
from groovesheet_worker.pipeline.types import FIVE_CLASS, Hit, TempoGrid  # noqa: E402

TEMPO_TOLERANCE = 0.04
BAR_LINE_TOLERANCE_BEATS = 0.2
# MDB's classes as the five evaluation classes every instrument of ours belongs to (types.FIVE_CLASS).
MDB_CLASSES = {"KD": "kick", "SD": "snare", "HH": "hihat", "TT": "toms", "CY": "cymbals"}


def read_beats(path: Path) -> np.ndarray:
    """An MDB beats file's rows: (time, beat number; beat 1 is a downbeat)."""
    return np.loadtxt(path)


def annotated(rows: np.ndarray) -> tuple[float, str, np.ndarray]:
    """(tempo, time signature, downbeat times) of an MDB beats file's rows."""
    times, numbers = rows[:, 0], rows[:, 1].astype(int)
    return 60.0 / float(np.median(np.diff(times))), f"{numbers.max()}/4", times[numbers == 1]


def annotated_grid(rows: np.ndarray, end: float) -> TempoGrid:
    """The annotated beats as the grid the true notes are written on (bar 1 at the first beat 1)."""
    times, numbers = rows[:, 0], rows[:, 1].astype(int)
    per_bar = int(numbers.max())
    first_one = int(np.argmax(numbers == 1))
    margin = 2 * per_bar
    beats = extend(times, min(0.0, times[0]), max(end, times[-1]), margin_beats=margin)
    before = int(np.searchsorted(beats, times[0] - 1e-6))
    return TempoGrid(
        bpm=60.0 / float(np.median(np.diff(times))),
        beats=tuple(float(b) for b in beats),
        downbeat=before + first_one,
        beats_per_bar=per_bar,
        beat_unit=4,
        pickup_beats=0,
    )


def annotated_hits(path: Path) -> list[Hit]:
    """The annotated onsets of MDB's five classes as hits (OT, "other", left out)."""
    hits = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1] in MDB_CLASSES:
            hits.append(Hit(float(parts[0]), MDB_CLASSES[parts[1]], 1.0, 100))
    return hits


def as_classes(hits: list[Hit]) -> list[Hit]:
    """Found hits as their evaluation class (types.FIVE_CLASS), MDB's classes."""
    return [Hit(h.time, FIVE_CLASS[h.instrument], h.confidence, h.velocity) for h in hits]


def class_hit_f(found: list[Hit], truth: list[Hit]) -> float:
    """F of found onsets against annotated ones per class, matched one to one as the notation
    benchmark matches them (notation_score.matched_pairs, +-50 ms), pooled over the classes."""
    matched = 0
    for name in set(MDB_CLASSES.values()):
        found_times = sorted(h.time for h in found if h.instrument == name)
        true_times = sorted(h.time for h in truth if h.instrument == name)
        matched += len(matched_pairs(found_times, true_times))
    total = len(found) + len(truth)
    return 2.0 * matched / total if total else 1.0


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
    print(
        "| recording | audio | annotated bpm | bpm | error | time signature | bar 1 "
        "| notation F | with bpm + time signature | hit F |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    worst, tempo_right, signature_right, bar_right = 0.0, 0, 0, 0
    scores: dict[str, list[float]] = {"none": [], "given": [], "hits": []}
    for row in rows:
        beat_rows = read_beats(args.data / row["beats_annotation"])
        bpm, signature, downbeats = annotated(beat_rows)
        drums = drum_stem(row, args.data, args.cache, settings, holder)
        hits = finder.classify(finder.prepare(drums, SAMPLE_RATE))
        grid = estimate_tempo_grid(drums, SAMPLE_RATE, hits, None, None)
        hinted = estimate_tempo_grid(drums, SAMPLE_RATE, hits, bpm, signature)
        truth = annotated_hits(args.data / row["class_annotation"])
        true_notes = notes_on(truth, annotated_grid(beat_rows, len(drums) / SAMPLE_RATE))
        found = as_classes(hits)
        scores["none"].append(notation_f(notes_on(found, grid), true_notes).f)
        scores["given"].append(notation_f(notes_on(found, hinted), true_notes).f)
        scores["hits"].append(class_hit_f(found, truth))
        error = grid.bpm / bpm - 1.0
        bar_one = grid.beats[grid.downbeat]
        on_line = np.min(np.abs(downbeats - bar_one)) <= BAR_LINE_TOLERANCE_BEATS * 60.0 / bpm
        worst = max(worst, abs(error))
        tempo_right += abs(error) <= TEMPO_TOLERANCE
        signature_right += grid.time_signature == signature
        bar_right += bool(on_line)
        print(
            f"| {row['track']} | {row['set']} | {bpm:.1f} | {grid.bpm:.1f} | {error:+.1%} | "
            f"{grid.time_signature} ({signature}) | {'right' if on_line else 'wrong'} | "
            f"{scores['none'][-1]:.3f} | {scores['given'][-1]:.3f} | {scores['hits'][-1]:.3f} |",
            flush=True,
        )
    n = len(rows)
    print(
        f"\ntempo within 4 %: {tempo_right}/{n} (largest error {worst:.1%}); "
        f"time signature: {signature_right}/{n}; bar 1: {bar_right}/{n}\n"
        f"notation F (mean over recordings): {np.mean(scores['none']):.3f} without hints, "
        f"{np.mean(scores['given']):.3f} with bpm + time signature; hit F {np.mean(scores['hits']):.3f}"
    )
    return 0 if tempo_right == n else 1


if __name__ == "__main__":
    sys.exit(main())
