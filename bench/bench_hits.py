"""Cost of hit finding alone: seconds per song minute and the memory it adds to a worker.

    python bench/bench_hits.py [--model hitnet|annoteator] [--seconds 180] [IN.wav]

The worker already holds torch and Demucs, so the baseline is a process that has loaded the Demucs
separator; the script then loads the hit model, finds the hits of IN (or of `--seconds` of a
synthetic groove), and prints the wall time, the real-time factor and the RSS it added (current and
peak). Run one model per process: each pays only for what it loads.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for sub in ("shared", "worker-service", "", "bench"):
    sys.path.insert(0, str(ROOT / sub))

from bench_pipeline import rss_mb  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("audio", nargs="?", type=Path)
    p.add_argument("--model", choices=("hitnet", "annoteator"), default="hitnet")
    p.add_argument("--seconds", type=float, default=180.0)
    args = p.parse_args(argv)

    from groovesheet_worker.config import WorkerSettings
    from groovesheet_worker.pipeline.hit_finding import load_hit_finder
    from groovesheet_worker.pipeline.separation import DrumSeparator

    settings = WorkerSettings().model_copy(update={"hit_model": args.model})
    DrumSeparator.from_settings(settings)  # what every worker holds anyway
    if args.audio:
        from groovesheet_worker.pipeline.audio import load_song

        drums = load_song(args.audio, settings.max_duration_seconds).mono
    else:
        from tests.audio_samples import groove

        drums = groove(args.seconds, bpm=112.0)
    base_rss, base_peak = rss_mb(), peak_mb()
    t0 = time.perf_counter()
    finder = load_hit_finder(settings)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    hits = finder.classify(finder.prepare(drums, 44_100))
    run_s = time.perf_counter() - t0
    duration = len(drums) / 44_100
    print(
        f"model {args.model}: load {load_s:.1f} s; {duration:.0f} s of drums -> {len(hits)} hits in {run_s:.1f} s "
        f"({run_s / duration:.3f} x real time)"
    )
    print(
        f"RSS with Demucs loaded {base_rss:.0f} MB; +{rss_mb() - base_rss:.0f} MB after the hit model ran; "
        f"peak {peak_mb():.0f} MB (+{peak_mb() - base_peak:.0f} MB)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
