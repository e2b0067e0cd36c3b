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
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for sub in ("shared", "worker-service", "bench", "."):
    sys.path.insert(0, str(ROOT / sub))

from eval_mdb import drum_stem  # noqa: E402
from notation_score import Note, notation_f  # noqa: E402

from groovesheet_worker.pipeline.beat_grid import estimate_tempo_grid, extend  # noqa: E402
from groovesheet_worker.pipeline.constants import SAMPLE_RATE  # noqa: E402
from groovesheet_worker.pipeline.quantize import place_hits  # noqa: E402
from groovesheet_worker.pipeline.types import Hit, TempoGrid  # noqa: E402

TEMPO_TOLERANCE = 0.04
BAR_LINE_TOLERANCE_BEATS = 0.2
HIT_WINDOW_SECONDS = 0.05
# MDB's classes, each written as one instrument of ours (so both sides merge alike on the staff).
MDB_CLASSES = {"KD": "kick", "SD": "snare", "HH": "hihat_closed", "TT": "tom_mid", "CY": "crash"}
CLASS_OF = {
    "kick": "kick",
    "snare": "snare",
    "cross_stick": "snare",
    "hihat_closed": "hihat_closed",
    "hihat_open": "hihat_closed",
    "hihat_pedal": "hihat_closed",
    "tom_high": "tom_mid",
    "tom_mid": "tom_mid",
    "tom_floor": "tom_mid",
    "crash": "crash",
    "ride": "crash",
    "ride_bell": "crash",
}


def annotated(path: Path) -> tuple[float, str, np.ndarray]:
    """(tempo, time signature, downbeat times) of an MDB beats file."""
    rows = np.loadtxt(path)
    times, numbers = rows[:, 0], rows[:, 1].astype(int)
    return 60.0 / float(np.median(np.diff(times))), f"{numbers.max()}/4", times[numbers == 1]


def annotated_grid(path: Path, end: float) -> TempoGrid:
    """The annotated beats as the grid the true notes are written on (bar 1 at the first beat 1)."""
    rows = np.loadtxt(path)
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
    """Found hits as MDB's classes (each written as its class's one instrument)."""
    return [
        Hit(h.time, CLASS_OF[h.instrument], h.confidence, h.velocity)
        for h in hits
        if h.instrument in CLASS_OF
    ]


def notes_of(hits: list[Hit], grid: TempoGrid) -> list[Note]:
    return [
        (p.bar, Fraction(p.beat - 1) + Fraction(p.slot, p.division), p.hit.instrument)
        for p in place_hits(hits, grid)
    ]


def class_hit_f(found: list[Hit], truth: list[Hit]) -> float:
    """F of found onsets against annotated ones per class at +-50 ms, pooled (one match per onset)."""
    matched = 0
    for name in set(MDB_CLASSES.values()):
        true_times = sorted(h.time for h in truth if h.instrument == name)
        used = [False] * len(true_times)
        for t in sorted(h.time for h in found if h.instrument == name):
            free = [i for i, x in enumerate(true_times) if not used[i] and abs(x - t) <= HIT_WINDOW_SECONDS]
            if free:
                used[min(free, key=lambda i: abs(true_times[i] - t))] = True
                matched += 1
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
        bpm, signature, downbeats = annotated(args.data / row["beats_annotation"])
        drums = drum_stem(row, args.data, args.cache, settings, holder)
        hits = finder.classify(finder.prepare(drums, SAMPLE_RATE))
        grid = estimate_tempo_grid(drums, SAMPLE_RATE, hits, None, None)
        hinted = estimate_tempo_grid(drums, SAMPLE_RATE, hits, bpm, signature)
        truth = annotated_hits(args.data / row["class_annotation"])
        true_notes = notes_of(
            truth, annotated_grid(args.data / row["beats_annotation"], len(drums) / SAMPLE_RATE)
        )
        found = as_classes(hits)
        scores["none"].append(notation_f(notes_of(found, grid), true_notes).f)
        scores["given"].append(notation_f(notes_of(found, hinted), true_notes).f)
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
