"""`make bench IN=song.mp3`: the separation backends side by side on one song, in one run.

    python bench/bench_pipeline.py song.mp3 [--backends torch bf16] [--threads 2] [--repeat 1]
        [--demucs-cli] [--no-mdb] [--mdb-seeds N] [--drums-only] [--shifts N] [--json out.json]

Each backend (SEPARATION_BACKEND) transcribes the song in a fresh process, the backends interleaved
(torch, bf16, torch, bf16 with --repeat 2) so that load from other work on the machine hits both
alike. Per run: cold start (process start to models loaded, what a new worker costs), seconds per
stage, real-time factor, the peak RSS of that process (getrusage; per progress stage too), and the
ratio to the torch run and the SDR of its drum stem against torch's.
--threads 1 2 repeats everything per OMP_NUM_THREADS value. --demucs-cli also times plain
``demucs`` (htdemucs defaults: shifts 1, overlap 0.25, all four stems written) against
``make transcribe`` (groovesheet_worker.cli) on the same file, interleaved.
Then the worker's cold start per backend: `python -m groovesheet_worker.main` started on a local
queue, timed until its /health says the models are loaded (--no-cold-start skips it).
Last, unless --no-mdb, HitNet's 5-class F on the mdb-dev mixes (full_mix, rawsum_mix) with each
backend's drum stems (cached under /tmp/groovesheet-eval-cache like `make eval`) and the SDR of
those stems against the torch ones.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
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


def child(args: argparse.Namespace) -> int:
    """One transcription in this process; writes its numbers to --child-json, the stem to --stem-out."""
    started = float(os.environ["BENCH_SPAWNED_AT"])
    import numpy as np

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
    cold_start = time.time() - started
    rss_after_load = rss_mb()

    stems: list = []
    separate = transcriber.separator.separate_drums

    def keep_stem(stereo, progress=None):
        stem = separate(stereo, progress)
        stems.append(stem)
        return stem

    transcriber.separator.separate_drums = keep_stem  # type: ignore[method-assign]

    def progress(percent: int, stage: str, message: str) -> None:
        sampler.stage = stage

    sampler.stage = "decode"
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        output = transcriber(args.audio, JobOptions(drums_only=args.drums_only), Path(work), progress)
    total = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    sampler.stop()
    if stems and args.stem_out:
        np.save(args.stem_out, stems[0])
    result = output.result
    import torch

    Path(args.child_json).write_text(
        json.dumps(
            {
                "backend": settings.separation_backend,
                "overlap": transcriber.separator.overlap,
                "bf16": transcriber.separator.autocast_bf16,
                "torch_threads": torch.get_num_threads(),
                "duration_seconds": result.duration_seconds,
                "cold_start_seconds": cold_start,
                "load_seconds": load_seconds,
                "rss_after_load_mb": rss_after_load,
                "total_seconds": total,
                # CPU seconds of all threads: less swayed than wall time by other work on the machine.
                "cpu_seconds": cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime,
                # The machine's 1-minute load average (this run included) when the song was done.
                "load_average": os.getloadavg()[0],
                "stage_seconds": result.stage_seconds,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "stage_peak_rss_mb": sampler.peaks,
                "notes": result.total_notes,
                "bpm": result.bpm,
            }
        )
    )
    return 0


def sdr(reference, estimate) -> float:
    """Signal-to-distortion ratio of ``estimate`` against ``reference`` in dB (plain, no scaling)."""
    import numpy as np

    n = min(reference.shape[-1], estimate.shape[-1])
    ref, est = np.asarray(reference)[..., :n].astype(np.float64), np.asarray(estimate)[..., :n]
    noise = float(np.sum((ref - est) ** 2))
    return float("inf") if noise == 0 else 10 * np.log10(float(np.sum(ref**2)) / noise)


def spawn(cmd: list[str], env: dict[str, str]) -> tuple[float, int]:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, check=False)
    return time.perf_counter() - t0, done.returncode


def run_backends(args: argparse.Namespace, work: Path) -> list[dict]:
    import numpy as np

    runs: list[dict] = []
    for threads in args.threads:
        for attempt in range(args.repeat):
            for backend in args.backends:
                tag = f"{backend}-t{threads}-{attempt}"
                env = {
                    **os.environ,
                    "SEPARATION_BACKEND": backend,
                    "OMP_NUM_THREADS": str(threads),
                    "OMP_NUM_THREADS_SETTING": str(threads),
                    "BENCH_SPAWNED_AT": repr(time.time()),
                }
                cmd = [sys.executable, __file__, str(args.audio), "--child", str(work / f"{tag}.json")]
                cmd += ["--stem-out", str(work / f"{tag}.npy")]
                cmd += ["--drums-only"] if args.drums_only else []
                cmd += ["--shifts", str(args.shifts)] if args.shifts is not None else []
                print(f"... {tag}", flush=True)
                wall, code = spawn(cmd, env)
                if code:
                    raise SystemExit(f"the {tag} run failed (exit {code})")
                run = json.loads((work / f"{tag}.json").read_text())
                run.update(tag=tag, threads=threads, attempt=attempt, wall_seconds=wall)
                stem = work / f"{tag}.npy"
                run["stem"] = np.load(stem) if stem.exists() else None
                runs.append(run)
    return runs


def print_backends(runs: list[dict]) -> None:
    first = runs[0]
    print(
        f"\ninput: {first['duration_seconds']:.1f} s of audio, {os.cpu_count()} cores; load: the "
        "1-minute load average as each run ended (this run's threads included)\n"
    )
    print(
        "| run | threads | overlap | bf16 | cold start s | separation s | total s | RTF | "
        "x torch (sep / total) | SDR vs torch dB | peak RSS MB | load |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for run in runs:
        ref = next(
            r
            for r in runs
            if r["backend"] == "torch" and r["threads"] == run["threads"] and r["attempt"] == run["attempt"]
        ) if any(r["backend"] == "torch" for r in runs) else None  # fmt: skip
        sep = run["stage_seconds"].get("separation", 0.0)
        ratio, quality = "–", "–"
        if ref is not None:
            ref_sep = ref["stage_seconds"].get("separation", 0.0)
            ratio = (
                f"{sep / ref_sep:.2f} / {run['total_seconds'] / ref['total_seconds']:.2f}" if ref_sep else "–"
            )
            if run is not ref and run["stem"] is not None and ref["stem"] is not None:
                quality = f"{sdr(ref['stem'], run['stem']):.1f}"
        print(
            f"| {run['tag']} | {run['torch_threads']} | {run['overlap']} | {run['bf16']} | "
            f"{run['cold_start_seconds']:.1f} | {sep:.1f} | {run['total_seconds']:.1f} | "
            f"{run['total_seconds'] / run['duration_seconds']:.3f} | {ratio} | {quality} | "
            f"{run['peak_rss_mb']:.0f} | {run.get('load_average', float('nan')):.1f} |"
        )
    print("\nstages (seconds):")
    for run in runs:
        stages = ", ".join(f"{k} {v:.1f}" for k, v in run["stage_seconds"].items())
        cpu = run.get("cpu_seconds")
        cpu_text = f"; CPU {cpu:.0f} s over {run['torch_threads']} threads" if cpu is not None else ""
        print(f"  {run['tag']}: {stages}; model loading {run['load_seconds']:.1f} s{cpu_text}")


def run_demucs_cli(args: argparse.Namespace, work: Path) -> list[dict]:
    """Plain `demucs` with htdemucs defaults against `make transcribe` on the same file, interleaved.

    Both get the same OMP_NUM_THREADS (each --threads value in turn); demucs' progress bars are hidden.
    """
    model_dir = Path(os.environ.get("DEMUCS_MODEL_DIR", ROOT / "models" / "demucs" / "htdemucs"))
    rows = []
    for threads in args.threads:
        for attempt in range(args.repeat):
            tag = f"t{threads}-{attempt}"
            demucs = [sys.executable, "-m", "demucs", "-n", "htdemucs", "--repo", str(model_dir)]
            demucs += ["-o", str(work / f"demucs-{tag}"), str(args.audio)]
            transcribe = [sys.executable, "-m", "groovesheet_worker.cli", str(args.audio)]
            transcribe += ["--out", str(work / f"transcribe-{tag}")]
            for name, cmd in (("plain demucs (htdemucs, shifts 1, overlap 0.25)", demucs),
                              ("make transcribe (groovesheet_worker.cli)", transcribe)):  # fmt: skip
                print(f"... {name}, {threads} threads", flush=True)
                env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
                t0 = time.perf_counter()
                done = subprocess.run(
                    cmd, env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
                )
                wall = time.perf_counter() - t0
                if done.returncode:
                    raise SystemExit(
                        f"{name} failed (exit {done.returncode}): {done.stderr.decode()[-2000:]}"
                    )
                rows.append({"name": name, "threads": threads, "attempt": attempt, "wall_seconds": wall,
                             "load_average": os.getloadavg()[0]})  # fmt: skip
    print("\n| command (whole process, same file) | threads | wall s | load |")
    print("|---|---|---|---|")
    for row in rows:
        print(f"| {row['name']} | {row['threads']} | {row['wall_seconds']:.1f} | {row['load_average']:.1f} |")
    for threads in args.threads:
        for attempt in range(args.repeat):
            demucs_s, ours = (
                r["wall_seconds"] for r in rows if (r["threads"], r["attempt"]) == (threads, attempt)
            )
            print(
                f"make transcribe / plain demucs, {threads} threads, round {attempt}: {ours / demucs_s:.2f}"
            )
    return rows


def worker_cold_start(backend: str, timeout: float = 300.0) -> float:
    """Seconds from starting ``python -m groovesheet_worker.main`` to its /health saying models_loaded."""
    import socket
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="gs-cold-") as jobs:
        env = {**os.environ, "PORT": str(port), "LOCAL_JOBS_DIR": jobs, "SEPARATION_BACKEND": backend}
        for name in ("USE_CLOUD_STORAGE", "LOCAL_QUEUE_DIR"):
            env.pop(name, None)
        t0 = time.perf_counter()
        worker = subprocess.Popen(
            [sys.executable, "-m", "groovesheet_worker.main"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while time.perf_counter() - t0 < timeout:
                if worker.poll() is not None:
                    raise SystemExit(f"the worker exited with {worker.returncode} before it was ready")
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as answer:
                        if json.loads(answer.read()).get("models_loaded"):
                            return time.perf_counter() - t0
                except (OSError, ValueError):
                    pass
                time.sleep(0.05)
            raise SystemExit(f"the worker was not ready after {timeout:.0f} s")
        finally:
            worker.terminate()
            worker.wait(timeout=30)


def print_cold_starts(backends: list[str], repeat: int) -> dict:
    rows = {b: [worker_cold_start(b) for _ in range(repeat)] for b in backends}
    print("\n| worker cold start (process start to /health models_loaded) | seconds |")
    print("|---|---|")
    for backend, values in rows.items():
        print(f"| SEPARATION_BACKEND={backend} | {' / '.join(f'{v:.1f}' for v in values)} |")
    return rows


MDB_SETS = ("full_mix", "rawsum_mix")


def mdb_stem(separator, path: Path, cache: Path, key: str, seed: int):
    """The mono drum stem of one mdb-dev mix, cached as ``key``; Demucs' random shift drawn from ``seed``."""
    import random

    import numpy as np

    from groovesheet_worker.pipeline.audio import load_song

    cached = cache / "separation-bench" / f"{key}.npy"
    if cached.exists():
        return np.load(cached)
    song = load_song(path, 900.0)
    state = random.getstate()
    random.seed(seed)
    try:
        drums = separator().separate_drums(song.stereo).mean(axis=0)
    finally:
        random.setstate(state)
    cached.parent.mkdir(parents=True, exist_ok=True)
    np.save(cached, drums)
    return drums


def run_mdb_quality(backends: list[str], cache: Path, noise_floor: bool, seeds: int = 1) -> dict:
    """HitNet's 5-class F on the mdb-dev mixes with each backend's stems, and their SDR to torch's.

    Demucs draws one random time shift per pass, and on these short mixes one shift moves F by about
    0.01 on its own, as much as the tolerance the backends are held to. So every backend separates
    with the same ``seeds`` shifts (seeds 0 .. seeds-1): row by row only the backend differs, and
    the mean over the shifts is compared. With one seed and ``noise_floor`` the torch path also runs
    with seed 1: how far the reference moves from itself.
    """
    from eval_hits import FIVE, write_events
    from eval_mdb import load_adt_eval

    from groovesheet_worker.config import WorkerSettings
    from groovesheet_worker.pipeline.hit_finding import load_hit_finder
    from groovesheet_worker.pipeline.separation import DrumSeparator

    data = ROOT.parent / "shared" / "eval" / "mdb-dev"
    adt = load_adt_eval(data.resolve().parents[1] / "tools")
    import mdb  # type: ignore[import-not-found]

    settings = WorkerSettings()
    finder = load_hit_finder(settings)

    def row_label(backend: str, seed: int) -> str:
        """A run's row label; with one seed a backend's own run is its bare name."""
        return f"{backend}, shift seed {seed}" if seeds > 1 or seed else backend

    if seeds > 1:
        variants = [(row_label(b, seed), b, seed) for b in backends for seed in range(seeds)]
    else:
        variants = [(row_label(b, 0), b, 0) for b in backends]
        if noise_floor and "torch" in backends:
            variants.append((row_label("torch", 1), "torch", 1))
    scores: dict = {}
    stems: dict = {}
    for label, backend, seed in variants:
        config = settings.model_copy(update={"separation_backend": backend})
        overlap = config.demucs_overlap if backend == "torch" else config.separation_fast_overlap
        holder: dict = {}

        def separator(config=config, holder=holder):
            if "s" not in holder:
                holder["s"] = DrumSeparator.from_settings(config)
            return holder["s"]

        with tempfile.TemporaryDirectory() as out:
            for set_name in MDB_SETS:
                for row in mdb.tracks_for_set(set_name, data):
                    key = f"{set_name}/{row['track']}.{config.demucs_model}.{backend}.o{overlap}.seed{seed}"
                    stem = mdb_stem(separator, data / row["path"], cache, key, seed)
                    stems[(label, set_name, row["track"])] = stem
                    hits = finder.classify(finder.prepare(stem, 44_100))
                    write_events(Path(out) / set_name / f"{row['track']}.json", hits)
                scores[(label, set_name)] = adt.evaluate(Path(out) / set_name, set_name, data=data)
        print(f"  mdb-dev {label}: done", flush=True)

    print("\nMDB Drums mixes, HitNet, onset F at +-50 ms pooled over tracks; SDR of each track's stem")
    print("against the torch stem with the same shift")
    print(
        "| set | separation | "
        + " | ".join(FIVE)
        + " | 5-class sum F | F - torch | SDR vs torch dB (min / median) |"
    )
    print("|---|---|" + "---|" * (len(FIVE) + 3))
    report: dict = {}

    for set_name in MDB_SETS:
        for label, _backend, seed in variants:
            res = scores[(label, set_name)]
            per = " | ".join(
                f"{res['per_class'][c]['sum_F']:.3f}" if res["per_class"][c]["n_ref"] else "–" for c in FIVE
            )
            f5 = res["sum_5class"]["F"]
            ref = row_label("torch", seed if seeds > 1 else 0)
            values = [
                sdr(stems[(ref, s2, t)], stem)
                for (name, s2, t), stem in stems.items()
                if name == label and s2 == set_name and name != ref and (ref, s2, t) in stems
            ]
            span = f"{min(values):.1f} / {statistics.median(values):.1f}" if values else "–"
            reference = scores.get((ref, set_name))
            delta = f"{f5 - reference['sum_5class']['F']:+.3f}" if reference and label != ref else "–"
            print(f"| {set_name} | {label} | {per} | **{f5:.3f}** | {delta} | {span} |")
            report[f"{label}/{set_name}"] = {"F5": f5, "sdr_db": values}
        if seeds > 1:
            means = {
                b: statistics.mean(
                    scores[(lab, set_name)]["sum_5class"]["F"] for lab, bb, _ in variants if bb == b
                )
                for b in backends
            }
            for backend, mean in means.items():
                delta = f"{mean - means['torch']:+.3f}" if "torch" in means and backend != "torch" else "–"
                blank = " | ".join("" for _ in FIVE)
                print(
                    f"| {set_name} | **{backend}, mean of {seeds} shifts** | {blank} | **{mean:.3f}** | {delta} | |"
                )
                report[f"{backend}, mean/{set_name}"] = {"F5": mean}
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("audio", type=Path)
    parser.add_argument("--backends", nargs="+", default=["torch", "bf16"], choices=["torch", "bf16"])
    parser.add_argument("--threads", nargs="+", type=int, default=[os.cpu_count() or 1])
    parser.add_argument("--repeat", type=int, default=1, help="interleaved rounds of the backends")
    parser.add_argument(
        "--demucs-cli", action="store_true", help="also time plain demucs and make transcribe"
    )
    parser.add_argument("--no-mdb", action="store_true", help="skip the mdb-dev F and SDR comparison")
    parser.add_argument(
        "--no-noise-floor", action="store_true", help="skip torch with a second random shift on mdb-dev"
    )
    parser.add_argument(
        "--mdb-seeds", type=int, default=1, help="random shifts per backend on mdb-dev, F averaged over them"
    )
    parser.add_argument("--no-cold-start", action="store_true", help="skip the worker's cold start")
    parser.add_argument("--no-backends", action="store_true", help="only --demucs-cli and the mdb-dev part")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "groovesheet-eval-cache")
    parser.add_argument("--drums-only", action="store_true")
    parser.add_argument("--shifts", type=int, default=None, help="override DEMUCS_SHIFTS")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--stem-out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        args.child_json = args.child
        return child(args)

    report: dict = {}
    with tempfile.TemporaryDirectory(prefix="gs-bench-") as tmp:
        work = Path(tmp)
        if not args.no_backends:
            runs = run_backends(args, work)
            print_backends(runs)
            report["runs"] = [{k: v for k, v in r.items() if k != "stem"} for r in runs]
        if args.demucs_cli:
            report["demucs_cli"] = run_demucs_cli(args, work)
    if not args.no_cold_start:
        report["worker_cold_start_seconds"] = print_cold_starts(args.backends, args.repeat)
    if not args.no_mdb:
        sys.path.insert(0, str(ROOT.parent / "shared" / "tools"))
        report["mdb"] = run_mdb_quality(args.backends, args.cache, not args.no_noise_floor, args.mdb_seeds)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
