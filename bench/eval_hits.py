"""`make eval`: the hit models side by side, on real recordings and on a kit they never heard.

    python bench/eval_hits.py [--models hitnet annoteator] [--sets drum_only full_mix rawsum_mix]
        [--validation 100] [--data ../shared/eval/mdb-dev] [--out eval-out] [--cache DIR]

1. MDB Drums development recordings (../shared/eval/mdb-dev, CC BY-NC-SA, evaluation only): the
   drum track (drum_only) or htdemucs' drum stem of the mix (cached in --cache), hits from each model,
   scored by ../shared/tools/adt_eval.py (onset F at +-50 ms, pooled over tracks), per class.
   For HitNet also "leave-one-track-out" on drum_only: one peak threshold per MDB class fitted on six
   tracks, scored on the seventh (the only thing tuned on MDB), next to the untouched thresholds.
2. Synthetic sets, regenerated as audio from their seeds (training.dataset), scored with
   training.metrics: per class, toms and cymbals, hi-hat recall under a kick or snare, ghost-snare
   recall, open hi-hat F. ``heldout_synth``: GMD's validation split played on synthesised kits from
   seeds no training piece uses (the held-out kits). ``validation``: the same split on MuldjordKit,
   a real recorded kit (HitNet also trains on other MuldjordKit pieces, so there it is not held out).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for sub in ("shared", "worker-service", "", "bench"):
    sys.path.insert(0, str(ROOT / sub))

from eval_mdb import drum_stem, load_adt_eval  # noqa: E402

from groovesheet_worker.pipeline.types import FIVE_CLASS, INSTRUMENTS  # noqa: E402

SETS = ("drum_only", "full_mix", "rawsum_mix")
FIVE = ("kick", "snare", "hihat", "toms", "cymbals")
LOTO_GRID = np.round(np.arange(0.1, 0.85, 0.05), 2)


def finder_for(model: str, settings):
    from groovesheet_worker.pipeline.hit_finding import load_hit_finder

    return load_hit_finder(settings.model_copy(update={"hit_model": model}))


def write_events(path: Path, hits) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    events = [{"time": h.time, "instrument": FIVE_CLASS[h.instrument]} for h in hits]
    path.write_text(json.dumps({"events": events}))


# --------------------------------------------------------------------------- MDB
def run_mdb(models, sets, data: Path, out: Path, cache: Path, settings, adt) -> dict:
    import mdb  # type: ignore[import-not-found]

    results: dict = {}
    activations: dict = {}
    holder: dict = {}
    for model in models:
        finder = finder_for(model, settings)
        for set_name in sets:
            t0 = time.perf_counter()
            for row in mdb.tracks_for_set(set_name, data):
                drums = drum_stem({**row, "set": set_name}, data, cache, settings, holder)
                prepared = finder.prepare(drums, 44_100)
                if model == "hitnet" and set_name == "drum_only":
                    activations[row["track"]] = finder.activations(prepared)
                write_events(out / model / set_name / f"{row['track']}.json", finder.classify(prepared))
            results[(model, set_name)] = adt.evaluate(out / model / set_name, set_name, data=data)
            print(f"  {model:<10} {set_name:<10} {time.perf_counter() - t0:6.1f} s", flush=True)
        if model == "hitnet" and "drum_only" in sets:
            results[("hitnet", "drum_only LOTO")] = loto(finder, activations, data, adt)
    return results


def _score_tracks(activations, tracks, data, adt, thresholds) -> dict:
    """adt_eval's per-track scores of the peaks picked with ``thresholds``."""
    import mdb  # type: ignore[import-not-found]

    from groovesheet_worker.hitnet.peaks import peak_rules, pick_peaks

    per_track = {}
    for track in tracks:
        act, vel = activations[track]
        est: dict[str, list[float]] = {c: [] for c in FIVE}
        for p in pick_peaks(act, vel, thresholds, peak_rules(INSTRUMENTS)):
            est[FIVE_CLASS[INSTRUMENTS[p.cls]]].append(p.time)
        per_track[track] = adt.score_track(mdb.reference_events(track, data), est, 0.05)
    return per_track


def _score_with(finder, activations, tracks, data, adt, thresholds) -> dict:
    return adt.aggregate(_score_tracks(activations, tracks, data, adt, thresholds))


def _thresholds(finder, by_class: dict[str, float]) -> list[float]:
    return [
        by_class.get(FIVE_CLASS[name], base)
        for name, base in zip(INSTRUMENTS, finder.thresholds, strict=True)
    ]


def _fit(finder, activations, tracks, data, adt) -> dict[str, float]:
    """One threshold per MDB class, each chosen in turn for that class's pooled F on ``tracks``."""
    chosen: dict[str, float] = {}
    for group in FIVE:
        best, best_f = None, -1.0
        for th in LOTO_GRID:
            res = _score_with(
                finder, activations, tracks, data, adt, _thresholds(finder, {**chosen, group: th})
            )
            f = res["per_class"][group]["sum_F"] or 0.0
            if res["per_class"][group]["n_ref"] == 0:
                break  # nothing to fit on: keep the trained threshold
            if f > best_f + 1e-9:
                best, best_f = float(th), f
        if best is not None:
            chosen[group] = best
    return chosen


def loto(finder, activations, data: Path, adt) -> dict:
    tracks = sorted(activations)
    per_track = {}
    for held in tracks:
        fitted = _fit(finder, activations, [t for t in tracks if t != held], data, adt)
        per_track.update(_score_tracks(activations, [held], data, adt, _thresholds(finder, fitted)))
        print(f"  LOTO without {held:<24} {fitted}", flush=True)
    return adt.aggregate(per_track)


# --------------------------------------------------------------------------- synthetic held-out kit
def run_heldout(models, count: int, settings, split: str) -> dict:
    from training import dataset
    from training.metrics import score

    cfg = dataset.BuildConfig(
        out=Path(tempfile.gettempdir()) / "unused", cache=Path(tempfile.gettempdir()) / "gs-kits"
    )
    pieces = []
    for i in range(count):
        audio, perf, _ = dataset.drum_audio(cfg, split, i)
        pieces.append((audio, [(s.time, s.cls, s.velocity) for s in perf.strokes]))
    results = {}
    for model in models:
        finder = finder_for(model, settings)
        t0 = time.perf_counter()
        pairs = []
        for audio, ref in pieces:
            hits = finder.classify(finder.prepare(audio, 44_100))
            pairs.append((ref, [(h.time, h.instrument, h.velocity or 0) for h in hits]))
        results[model] = score(pairs)
        print(f"  {model:<10} {split}, {count} pieces {time.perf_counter() - t0:6.1f} s", flush=True)
    return results


# --------------------------------------------------------------------------- report
def _cell(per_class: dict) -> str:
    """F, or for a class the recordings do not have (toms on mdb-dev), the hits invented for it."""
    if not per_class["n_ref"]:
        return f"– ({per_class['FP']} false)"
    return f"{per_class['sum_F']:.3f}"


def mdb_table(results: dict) -> str:
    lines = ["| audio | model | " + " | ".join(FIVE) + " | 5-class sum F |", "|---|---|" + "---|" * 6]
    for (model, set_name), res in results.items():
        cells = " | ".join(_cell(res["per_class"][c]) for c in FIVE)
        lines.append(f"| {set_name} | {model} | {cells} | **{res['sum_5class']['F']:.3f}** |")
    return "\n".join(lines)


def heldout_table(results: dict) -> str:
    keys = [f"F_{c}" for c in INSTRUMENTS] + [f"F5_{c}" for c in FIVE] + [
        "sum_F5", "recall_hihat_under_kick_snare", "recall_ghost_snare", "F_open_hihat"]  # fmt: skip
    models = list(results)
    lines = ["| score | " + " | ".join(models) + " |", "|---|" + "---|" * len(models)]
    for k in keys:
        lines.append(f"| {k} | " + " | ".join(f"{results[m][k]:.3f}" for m in models) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=["hitnet", "annoteator"], choices=["hitnet", "annoteator"])
    p.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS))
    p.add_argument("--validation", type=int, default=100, help="pieces per synthetic set (0: skip)")
    p.add_argument(
        "--synthetic",
        nargs="+",
        default=["heldout_synth", "validation"],
        choices=["heldout_synth", "validation"],
    )
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "eval" / "mdb-dev")
    p.add_argument("--out", type=Path, default=ROOT / "eval-out")
    p.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "groovesheet-eval-cache")
    args = p.parse_args(argv)

    from groovesheet_worker.config import WorkerSettings

    settings = WorkerSettings()
    adt = load_adt_eval(args.data.resolve().parents[1] / "tools")
    report = {}
    if args.sets:
        mdb_results = run_mdb(args.models, args.sets, args.data, args.out, args.cache, settings, adt)
        print("\nMDB Drums (onset F at +-50 ms, pooled over tracks)\n" + mdb_table(mdb_results))
        report["mdb"] = {f"{m}/{s}": r for (m, s), r in mdb_results.items()}
    titles = {
        "heldout_synth": "Held-out kits (synthesised kits no training piece uses, GMD validation split)",
        "validation": "MuldjordKit, GMD validation split (a real kit; HitNet trains on other pieces played on it)",
    }
    for split in args.synthetic if args.validation else []:
        held = run_heldout(args.models, args.validation, settings, split)
        print(f"\n{titles[split]}\n" + heldout_table(held))
        report[split] = held
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "hits.score.json").write_text(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
