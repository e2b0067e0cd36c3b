"""`make eval`: transcribe the MDB Drums development recordings and score them.

    python bench/eval_mdb.py --data ../shared/eval/mdb-dev --out eval-out
        [--sets drum_only full_mix rawsum_mix] [--tracks MusicDelta_Rock ...]
        [--hits-only [--rules ours|reference]] [--fit [--write-tuning FILE]] [--cache DIR]

Default: the whole pipeline (Transcriber, as a job would run it) per recording; drum_only with
drums_only=True, the mixes with Demucs separation. Each track's events.json is written to
<out>/<set>/<Track>.json with every instrument named by its evaluation class (types.FIVE_CLASS:
hihat_open -> hihat, tom_floor -> toms, ...), and every set is scored with
../shared/tools/adt_eval.py (onset F at +-50 ms, pooled over tracks), printing per-instrument F.

--hits-only runs only decode -> separation -> hits (no tempo/notation), caching the separated
drum stems in --cache (outside the repository), which makes trying hit rules fast.
--rules reference reproduces the published AnNOTEator rules (0.5 rounding, argmax fallback,
inter-onset tempo, hop 1024/512; bench/annoteator_reference.py). --fit fits per-class thresholds
(and the re-scorer) on the model's probabilities and prints leave-one-track-out cross-validated F
next to the in-sample F; --write-tuning writes the fitted numbers to the versioned tuning file the
worker reads (worker-service/groovesheet_worker/pipeline/annoteator_tuning.json).
This script measures the AnNOTEator path; `make eval` (bench/eval_hits.py) compares the hit models.

The evaluation audio is never copied into the repository.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for sub in ("shared", "worker-service", "bench"):
    sys.path.insert(0, str(ROOT / sub))

from groovesheet_worker.pipeline.constants import MODEL_CLASSES, SAMPLE_RATE  # noqa: E402
from groovesheet_worker.pipeline.hits import (  # noqa: E402
    HitRules,
    decide,
    label_hits,
    rescore_features,
    write_tuning,
)
from groovesheet_worker.pipeline.types import FIVE_CLASS  # noqa: E402

SETS = ("drum_only", "full_mix", "rawsum_mix")
EVAL_CLASSES = ("kick", "snare", "hihat", "toms", "cymbals")
# A hit's instrument -> MDB class is types.FIVE_CLASS (ride, bell and crash are all 'cymbals').
# Fine steps at the low end, where the model's hi-hat probabilities live.
THRESHOLD_GRID = np.round(
    np.concatenate([np.arange(0.02, 0.12, 0.02), [0.12], np.arange(0.15, 0.96, 0.05)]), 2
)


def load_adt_eval(tools: Path):
    sys.path.insert(0, str(tools))
    import adt_eval  # type: ignore[import-not-found]

    return adt_eval


def write_events(path: Path, hits) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    events = [
        {"time": h.time, "instrument": FIVE_CLASS[h.instrument], "confidence": h.confidence} for h in hits
    ]
    path.write_text(json.dumps({"events": events}))


def write_scored_events(path: Path, events_json: Path) -> None:
    """The pipeline's events.json with each instrument replaced by its evaluation class, for adt_eval."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = json.loads(events_json.read_text())
    events = [{**e, "instrument": FIVE_CLASS[e["instrument"]]} for e in document["events"]]
    path.write_text(json.dumps({**document, "events": events}))


# --------------------------------------------------------------------------- running
def run_pipeline(rows, data: Path, out: Path, settings) -> None:
    from groovesheet_shared.jobs import JobOptions
    from groovesheet_worker.pipeline.transcriber import Transcriber

    transcriber = Transcriber(settings)
    for row in rows:
        options = JobOptions(title=row["track"], drums_only=row["set"] == "drum_only")
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as work:
            output = transcriber(data / row["path"], options, Path(work), lambda *_: None)
            write_scored_events(out / row["set"] / f"{row['track']}.json", output.files["events.json"])
        print(
            f"  {row['set']:<10} {row['track']:<24} {time.perf_counter() - t0:6.1f} s  "
            f"bpm {output.result.bpm:.1f}  notes {output.result.total_notes}",
            flush=True,
        )


def drum_stem(row, data: Path, cache: Path, settings, separator_holder: dict) -> np.ndarray:
    """Mono drum track of a recording: the file itself for drum_only, else Demucs' stem (cached)."""
    from groovesheet_worker.pipeline.audio import load_song

    song = load_song(data / row["path"], settings.max_duration_seconds)
    if row["set"] == "drum_only":
        return song.mono
    # The torch backend keeps the key its stems always had; a faster backend gets its own.
    backend = getattr(settings, "separation_backend", "torch")
    variant = "" if backend == "torch" else f".{backend}.o{settings.separation_fast_overlap}"
    cached = (
        cache / row["set"] / f"{row['track']}.{settings.demucs_model}.s{settings.demucs_shifts}{variant}.npy"
    )
    if cached.exists():
        return np.load(cached)
    if "separator" not in separator_holder:
        from groovesheet_worker.pipeline.separation import DrumSeparator

        separator_holder["separator"] = DrumSeparator.from_settings(settings)
    drums = separator_holder["separator"].separate_drums(song.stereo).mean(axis=0)
    cached.parent.mkdir(parents=True, exist_ok=True)
    np.save(cached, drums)
    return drums


def run_hits(rows, data: Path, out: Path, cache: Path, settings, reference: bool) -> dict:
    """Hits only; returns {(set, track): (times, probabilities)} for threshold fitting."""
    from groovesheet_worker.pipeline.hits import HitFinder

    if reference:
        from annoteator_reference import ReferenceHitFinder

        finder = ReferenceHitFinder(settings.annoteator_model_path)
    else:
        finder = HitFinder(settings.annoteator_model_path)
    holder: dict = {}
    found = {}
    for row in rows:
        t0 = time.perf_counter()
        drums = drum_stem(row, data, cache, settings, holder)
        onsets = finder.prepare(drums, SAMPLE_RATE)
        probabilities = finder.probabilities(onsets)
        hits = finder.label(onsets, probabilities)
        write_events(out / row["set"] / f"{row['track']}.json", hits)
        found[(row["set"], row["track"])] = (
            onsets.times,
            probabilities,
            onsets.sustain_db,
            onsets.band_db,
        )
        print(
            f"  {row['set']:<10} {row['track']:<24} {time.perf_counter() - t0:6.1f} s  "
            f"clip bpm {onsets.clip_bpm:6.1f}  onsets {len(onsets.times)}  hits {len(hits)}",
            flush=True,
        )
    return found


# --------------------------------------------------------------------------- fitting
def _class_counts(ref: np.ndarray, est: np.ndarray) -> tuple[int, int, int]:
    """(TP, FP, FN) of one class on one track, matched as adt_eval does (mir_eval, +-50 ms)."""
    import mir_eval

    tp = len(mir_eval.util.match_events(ref, est, 0.05)) if len(ref) and len(est) else 0
    return tp, len(est) - tp, len(ref) - tp


def _estimates(found_track, rules: HitRules, model_classes) -> np.ndarray:
    times, probabilities, sustain, band = found_track
    keep, _ = decide(probabilities, rules, sustain, band)
    columns = [MODEL_CLASSES.index(c) for c in model_classes]
    return np.sort(times[keep[:, columns].any(axis=1)]) if len(times) else np.zeros(0)


def _f(counts: list[tuple[int, int, int]]) -> float:
    tp, fp, fn = (sum(c[i] for c in counts) for i in range(3))
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


EVAL_TO_MODEL = {
    "kick": ["kick"],
    "snare": ["snare"],
    "hihat": ["hihat"],
    "toms": ["tom"],
    "cymbals": ["ride", "crash"],
}


def fit_thresholds(
    tracks: list[str], refs: dict, found: dict, set_name: str, base: HitRules | None = None
) -> dict[str, float]:
    """Per eval class in turn, the threshold(s) maximising that class's pooled F over ``tracks``.

    One threshold each for kick, snare, hi-hat, tom; a 2-D grid for ride x crash (both cymbals),
    fitted after hi-hat because ringing hi-hats become rides. A class with no reference events
    is switched off (1.01): there is nothing to fit it on.
    """
    rules = base or HitRules()
    chosen = dict.fromkeys(MODEL_CLASSES, 0.5)
    for eval_class, model_classes in EVAL_TO_MODEL.items():
        grids = [[*THRESHOLD_GRID, 1.01]] * len(model_classes)
        best, best_f = None, -1.0
        ref_by_track = {t: np.asarray(refs[t].get(eval_class, []), dtype=float) for t in tracks}
        for combo in np.array(np.meshgrid(*grids)).reshape(len(model_classes), -1).T:
            trial = replace(
                rules, thresholds={**chosen, **dict(zip(model_classes, map(float, combo), strict=True))}
            )
            counts = [
                _class_counts(ref_by_track[t], _estimates(found[(set_name, t)], trial, model_classes))
                for t in tracks
            ]
            f = _f(counts)
            # Ties go to the higher threshold: fewer invented notes for the same F.
            if f > best_f + 1e-9 or (abs(f - best_f) <= 1e-9 and best is not None and sum(combo) > sum(best)):
                best, best_f = combo, f
        chosen.update(zip(model_classes, map(float, best), strict=True))
    return chosen


def _counts(adt, ref: dict, found_track, rules: HitRules) -> dict:
    hits = label_hits(*found_track[:2], rules, *found_track[2:])
    est: dict[str, list[float]] = {c: [] for c in EVAL_CLASSES}
    for h in hits:
        est[FIVE_CLASS[h.instrument]].append(h.time)
    return adt.score_track(ref, est, 0.05)


def _pooled_f(scores: list[dict], classes) -> float:
    tp = sum(s[c]["TP"] for s in scores for c in classes)
    fp = sum(s[c]["FP"] for s in scores for c in classes)
    fn = sum(s[c]["FN"] for s in scores for c in classes)
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


RESCORED = ("kick", "snare", "hihat")


def fit_rescorer(tracks: list[str], refs: dict, found: dict, set_name: str) -> dict:
    """Logistic regression per re-scored instrument: is there a reference hit within 50 ms?"""
    from sklearn.linear_model import LogisticRegression

    features, labels = [], []
    for t in tracks:
        times, probabilities, sustain, band = found[(set_name, t)]
        features.append(rescore_features(probabilities, sustain, band))
        near = []
        for name in RESCORED:
            ref = np.asarray(refs[t].get(name, []), dtype=float)
            near.append(
                np.array([len(ref) > 0 and np.min(np.abs(ref - x)) <= 0.05 for x in times], dtype=bool)
            )
        labels.append(np.column_stack(near))
    x, y = np.concatenate(features), np.concatenate(labels)
    rescorer = {}
    for k, name in enumerate(RESCORED):
        model = LogisticRegression(C=1.0, max_iter=5000).fit(x, y[:, k])
        rescorer[name] = (
            tuple(round(float(w), 4) for w in model.coef_[0]),
            round(float(model.intercept_[0]), 4),
        )
    return rescorer


def fit_all(tracks, refs, found, set_name, rules: HitRules) -> HitRules:
    """Re-scorer (if the rules use one), then thresholds, on ``tracks`` only."""
    if rules.rescorer is not None:
        rules = replace(rules, rescorer=fit_rescorer(tracks, refs, found, set_name))
    return replace(rules, thresholds=fit_thresholds(tracks, refs, found, set_name, rules))


def report_fit(adt, data: Path, set_name: str, found: dict, rules: HitRules | None = None) -> HitRules:
    import mdb  # type: ignore[import-not-found]

    tracks = sorted(t for s, t in found if s == set_name)
    refs = {t: mdb.reference_events(t, data) for t in tracks}
    rules = rules or HitRules()
    full = fit_all(tracks, refs, found, set_name, rules)
    in_sample = [_counts(adt, refs[t], found[(set_name, t)], full) for t in tracks]
    cv_scores = []
    for held_out in tracks:
        rest = [t for t in tracks if t != held_out]
        fold = fit_all(rest, refs, found, set_name, rules)
        cv_scores.append(_counts(adt, refs[held_out], found[(set_name, held_out)], fold))
        print(
            f"  fold without {held_out:<24} " + " ".join(f"{k}={v:.2f}" for k, v in fold.thresholds.items())
        )
    print(
        f"\nFitted on all {len(tracks)} {set_name} tracks: THRESHOLDS = "
        + repr({k: round(v, 2) for k, v in full.thresholds.items()})
    )
    if full.rescorer:
        print("RESCORER = {")
        for name, (weights, bias) in full.rescorer.items():
            print(f"    {name!r}: ({weights!r}, {bias!r}),")
        print("}")
    print("| scoring | " + " | ".join(EVAL_CLASSES) + " | 5-class sum F | 3-class mean |")
    print("|---|" + "---|" * (len(EVAL_CLASSES) + 2))
    for name, scores in (("in-sample", in_sample), ("leave-one-track-out", cv_scores)):
        per = [_pooled_f(scores, [c]) for c in EVAL_CLASSES]
        print(
            f"| {name} | "
            + " | ".join(f"{f:.3f}" for f in per)
            + f" | {_pooled_f(scores, EVAL_CLASSES):.3f} | {np.mean(per[:3]):.3f} |"
        )
    return full


# --------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "eval" / "mdb-dev")
    parser.add_argument("--tools", type=Path, default=None, help="folder with adt_eval.py")
    parser.add_argument("--out", type=Path, default=ROOT / "eval-out")
    parser.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS))
    parser.add_argument("--tracks", nargs="+", default=None)
    parser.add_argument("--hits-only", action="store_true")
    parser.add_argument("--rules", choices=("ours", "reference"), default="ours")
    parser.add_argument("--fit", action="store_true", help="fit thresholds (implies --hits-only)")
    parser.add_argument("--write-tuning", type=Path, default=None, help="with --fit: write the tuning file")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "groovesheet-eval-cache")
    parser.add_argument("--shifts", type=int, default=None, help="override DEMUCS_SHIFTS")
    args = parser.parse_args(argv)

    from groovesheet_worker.config import WorkerSettings

    settings = WorkerSettings()
    if args.shifts is not None:
        settings = settings.model_copy(update={"demucs_shifts": args.shifts})
    tools = args.tools or args.data.resolve().parents[1] / "tools"
    adt = load_adt_eval(tools)
    import mdb  # type: ignore[import-not-found]

    rows = []
    for set_name in args.sets:
        for row in mdb.tracks_for_set(set_name, args.data):
            if not args.tracks or row["track"] in args.tracks:
                rows.append({**row, "set": set_name})

    if args.rules == "reference":
        from annoteator_reference import reference_rules

        rules = reference_rules()
    else:
        rules = HitRules()
    t0 = time.perf_counter()
    if args.hits_only or args.fit:
        found = run_hits(rows, args.data, args.out, args.cache, settings, args.rules == "reference")
    else:
        found = {}
        run_pipeline(rows, args.data, args.out, settings)
    print(f"transcribed {len(rows)} recordings in {time.perf_counter() - t0:.1f} s\n")

    for set_name in args.sets:
        result = adt.evaluate(args.out / set_name, set_name, data=args.data, tracks=args.tracks)
        label = "reference rules" if args.rules == "reference" else "groovesheet"
        print(adt.markdown(result, system=label + (" (hits only)" if args.hits_only else "")))
        (args.out / f"{set_name}.score.json").write_text(json.dumps(result, indent=2))
        print()
        if args.fit:
            fitted = report_fit(adt, args.data, set_name, found, rules)
            if args.write_tuning and args.rules == "ours":
                write_tuning(
                    args.write_tuning,
                    fitted.thresholds,
                    fitted.rescorer or {},
                    {
                        "written_by": "python bench/eval_mdb.py --fit --write-tuning "
                        + str(args.write_tuning),
                        "fitted_on": f"MDB Drums {args.data.name}, {set_name}, {len({t for s, t in found if s == set_name})} tracks",
                    },
                )
            print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
