"""`make bench IN=song.mp3`: seconds per stage, real-time factor and peak memory of one transcription.

    python bench/bench_pipeline.py song.mp3 [--drums-only] [--shifts N] [--json out.json]

Models are loaded first (timed separately, as a worker does once); then the song is transcribed
once. Peak RSS is the whole process (models included), as the operator sees it: the lifetime peak
from getrusage and, per progress stage, the highest RSS sampled every 20 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for sub in ("shared", "worker-service"):
    sys.path.insert(0, str(ROOT / sub))

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


class RssSampler(threading.Thread):
    """Highest RSS seen while each progress stage was current."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stage = "load"
        self.peaks: dict[str, float] = {}
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            value = rss_mb()
            self.peaks[self.stage] = max(self.peaks.get(self.stage, 0.0), value)
            time.sleep(0.02)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("audio", type=Path)
    parser.add_argument("--drums-only", action="store_true")
    parser.add_argument("--shifts", type=int, default=None, help="override DEMUCS_SHIFTS")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args(argv)

    from groovesheet_shared.jobs import JobOptions
    from groovesheet_worker.config import WorkerSettings
    from groovesheet_worker.pipeline.transcriber import Transcriber

    settings = WorkerSettings()
    if args.shifts is not None:
        settings = settings.model_copy(update={"demucs_shifts": args.shifts})
    sampler = RssSampler()
    sampler.start()
    t0 = time.perf_counter()
    transcriber = Transcriber(settings)
    load_seconds = time.perf_counter() - t0
    rss_after_load = rss_mb()

    def progress(percent: int, stage: str, message: str) -> None:
        sampler.stage = stage

    sampler.stage = "decode"
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        output = transcriber(args.audio, JobOptions(drums_only=args.drums_only), Path(work), progress)
    total = time.perf_counter() - t0
    sampler.stop()

    result = output.result
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"input: {args.audio.name}, {result.duration_seconds:.1f} s of audio, "
        f"{'drums only' if args.drums_only else f'separation shifts={settings.demucs_shifts}'}, "
        f"{os.cpu_count()} cores, torch threads {__import__('torch').get_num_threads()}"
    )
    print(
        f"model loading: {load_seconds:.1f} s (once per worker), RSS after loading {rss_after_load:.0f} MB\n"
    )
    print("| stage | seconds | x real time |")
    print("|---|---|---|")
    for stage, seconds in result.stage_seconds.items():
        print(f"| {stage} | {seconds:.2f} | {seconds / result.duration_seconds:.3f} |")
    print(f"| **total** | **{total:.2f}** | **{total / result.duration_seconds:.3f}** |\n")
    print("| progress stage | peak RSS (MB) |")
    print("|---|---|")
    for stage, value in sampler.peaks.items():
        print(f"| {stage} | {value:.0f} |")
    print(f"\npeak RSS (process lifetime, getrusage): {peak:.0f} MB")
    print(
        f"bpm {result.bpm}, {result.time_signature}, {result.total_notes} notes {result.notes_per_instrument}"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "audio": str(args.audio),
                    "duration_seconds": result.duration_seconds,
                    "load_seconds": load_seconds,
                    "total_seconds": total,
                    "rtf": total / result.duration_seconds,
                    "stage_seconds": result.stage_seconds,
                    "peak_rss_mb": peak,
                    "stage_peak_rss_mb": sampler.peaks,
                    "shifts": settings.demucs_shifts,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
