"""Build the training and validation sets: ``python -m training.dataset`` (``make train-data``).

A piece is a GMD excerpt, varied (``arrange.vary``), played on a kit (one kit, or each class from a
different kit), augmented (``augment.augment``), and stored as the model's input spectrogram plus its
strokes (time, class, velocity) in ``{out}/{split}/{index:05d}.npz``. Everything is drawn from
``numpy.random.default_rng((seed, split_id, index))``, so a piece is the same on every run and any
subset can be rebuilt alone. Part of the training pieces are mixed with generated accompaniment and
go through the worker's own Demucs separation (``--separated``), so the model hears that sound too,
and ``produced`` pieces are mixed part by part like a record (``training.production``: reverb on the
snare and toms, gated or not, the snare wires buzzing under kick and toms, kick and snare unisons).

Kits: FluidR3_GM's seven drum presets and procedurally synthesised kits (seeds below
SYNTH_TRAIN_SEEDS) for ``train``; MuldjordKit, the one real recorded kit, for ``real_kit`` pieces
(alone or mixed with the others: the only real hi-hats, cymbals and toms the model hears). Held out:
``heldout_synth`` plays GMD's validation split on synthesised kits from seeds no training piece uses;
``validation`` plays it on MuldjordKit (held out for the recipe without ``real_kit`` pieces), with
synthesised kits from a disjoint seed range filling classes it lacks (cross-stick, pedal hi-hat).
``varied`` pieces take their closed hi-hat and cross-stick from synthesised kits with a wider range
of those sounds (tight or loose, dark or bright, tip or shoulder; ``synth_kit(varied_timbres=True)``);
only a member trained with ``training.train --splits ... varied`` hears them.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from groovesheet_worker.hitnet.spectrogram import log_spectrogram

from .arrange import GmdEntry, Performance, excerpt, gmd_entries, read_performance, vary
from .augment import augment
from .classes import CLASS_INDEX, CLASSES
from .kit import Kit
from .production import add_unisons, produce
from .render import render
from .sources import fluid_kits, muldjord_kit, soundfont_kit

SPLIT_IDS = {
    "train": 0,
    "validation": 1,
    "separated": 2,
    "real_kit": 3,
    "heldout_synth": 4,
    "produced": 5,
    "varied": 6,
}
SYNTH_TRAIN_SEEDS = 48
SYNTH_VALIDATION_SEED0 = 100_000
EXCERPT_SECONDS = (8.0, 20.0)
VALIDATION_SECONDS = 20.0


@dataclass(frozen=True)
class BuildConfig:
    out: Path
    cache: Path
    seed: int = 1234
    holdout: str = "muldjord"
    # Where training kits come from: FluidR3_GM's presets and/or synthesised kits.
    kit_sources: tuple[str, ...] = ("fluid", "synth")
    synth_seeds: int = SYNTH_TRAIN_SEEDS


@lru_cache(maxsize=1)
def _fluid(cache: Path) -> tuple[Kit, ...]:
    return tuple(soundfont_kit(spec, cache / "kits") for spec in fluid_kits())


@lru_cache(maxsize=64)
def _synth(seed: int, varied_timbres: bool = False) -> Kit:
    from .synth_kit import synth_kit

    return synth_kit(seed, varied_timbres)


@lru_cache(maxsize=1)
def _holdout(name: str) -> Kit:
    if name != "muldjord":
        raise ValueError(f"unknown held-out kit {name!r}")
    return muldjord_kit()


def _training_kits(cfg: BuildConfig, rng: np.random.Generator) -> dict[str, Kit]:
    """Which kit plays each class: one whole kit (40 %), or each class from its own kit."""
    fluid = _fluid(cfg.cache) if "fluid" in cfg.kit_sources else ()
    synth = "synth" in cfg.kit_sources

    def any_kit() -> Kit:
        if fluid and (not synth or rng.random() < 0.5):
            return fluid[int(rng.integers(len(fluid)))]
        return _synth(int(rng.integers(cfg.synth_seeds)))

    if rng.random() < 0.4:
        kit = any_kit()
        return {cls: kit for cls in CLASSES}
    return {cls: any_kit() for cls in CLASSES}


def _real_kit_kits(cfg: BuildConfig, rng: np.random.Generator) -> dict[str, Kit]:
    """MuldjordKit, a real recorded kit, for every class it has: alone (half the pieces) or mixed."""
    real = _holdout("muldjord")
    other = _training_kits(cfg, rng)
    whole = rng.random() < 0.5
    return {cls: real if real.has(cls) and (whole or rng.random() < 0.5) else other[cls] for cls in CLASSES}


def _varied_kits(cfg: BuildConfig, rng: np.random.Generator) -> dict[str, Kit]:
    """Training kits whose closed hi-hat and cross-stick come from a synthesised kit with varied
    timbres (``synth_kit(varied_timbres=True)``), half the time with that kit's open and pedal
    hi-hat too, so the model hears one pair of cymbals struck closed, open and with the foot."""
    kits = _training_kits(cfg, rng)
    varied = _synth(int(rng.integers(cfg.synth_seeds)), True)
    classes = ["hihat_closed", "cross_stick"]
    if rng.random() < 0.5:
        classes += ["hihat_open", "hihat_pedal"]
    return kits | dict.fromkeys(classes, varied)


def _validation_kits(cfg: BuildConfig, rng: np.random.Generator) -> dict[str, Kit]:
    held = _holdout(cfg.holdout)
    filler = _synth(SYNTH_VALIDATION_SEED0 + int(rng.integers(8)))
    return {cls: held if held.has(cls) else filler for cls in CLASSES}


def _pick_excerpt(
    entries: list[GmdEntry], rng: np.random.Generator, length: tuple[float, float]
) -> Performance:
    weights = np.array([e.duration for e in entries])
    entry = entries[int(rng.choice(len(entries), p=weights / weights.sum()))]
    perf = read_performance(entry)
    seconds = float(rng.uniform(*length))
    start = float(rng.uniform(0, max(0.0, perf.duration - seconds)))
    # Start on a bar line so bar-based variations (crashes, fills) land on the music's bars.
    bar = perf.beat_seconds * perf.beats_per_bar
    start = np.floor(start / bar) * bar
    return excerpt(perf, start, seconds)


def _heldout_synth_kits(rng: np.random.Generator) -> dict[str, Kit]:
    """A synthesised kit from seeds no training piece uses: a kit the model has never heard."""
    kit = _synth(SYNTH_VALIDATION_SEED0 + 1000 + int(rng.integers(1000)))
    return dict.fromkeys(CLASSES, kit)


def performance_for(
    cfg: BuildConfig, split: str, index: int
) -> tuple[Performance, dict[str, Kit], np.random.Generator]:
    rng = np.random.default_rng((cfg.seed, SPLIT_IDS[split], index))
    if split in ("validation", "heldout_synth"):
        perf = vary(_pick_excerpt(_entries("validation"), rng, (VALIDATION_SECONDS, VALIDATION_SECONDS)), rng)
        kits = _validation_kits(cfg, rng) if split == "validation" else _heldout_synth_kits(rng)
        return perf, kits, rng
    perf = vary(_pick_excerpt(_entries("train"), rng, EXCERPT_SECONDS), rng)
    if split == "real_kit" or (split == "produced" and rng.random() < 0.3):
        return perf, _real_kit_kits(cfg, rng), rng
    if split == "varied":
        return perf, _varied_kits(cfg, rng), rng
    return perf, _training_kits(cfg, rng), rng


@lru_cache(maxsize=4)
def _entries(split: str) -> list[GmdEntry]:
    return gmd_entries(split)


def _class_gains(rng: np.random.Generator) -> dict[str, float]:
    return {cls: float(rng.normal(0.0, 2.5)) for cls in CLASSES}


def drum_audio(
    cfg: BuildConfig, split: str, index: int
) -> tuple[np.ndarray, Performance, np.random.Generator]:
    perf, kits, rng = performance_for(cfg, split, index)
    if split == "produced":  # mixed part by part, with the unisons GMD lacks (training.production)
        perf = add_unisons(perf, rng)
        return augment(produce(perf, kits, rng, _class_gains(rng)), rng, allow_mp3=True), perf, rng
    audio = render(perf, kits, rng, _class_gains(rng))
    return augment(audio, rng, allow_mp3=True), perf, rng


def save_piece(path: Path, spec: np.ndarray, perf: Performance, meta: dict) -> None:
    times = np.array([s.time for s in perf.strokes], dtype=np.float32)
    classes = np.array([CLASS_INDEX[s.cls] for s in perf.strokes], dtype=np.int8)
    velocities = np.array([s.velocity for s in perf.strokes], dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, spec=spec.astype(np.float16), times=times, classes=classes, velocities=velocities,
             meta=json.dumps(meta))  # fmt: skip
    tmp.replace(path)


def build_piece(cfg: BuildConfig, split: str, index: int) -> Path:
    path = cfg.out / split / f"{index:05d}.npz"
    if path.exists():
        return path
    audio, perf, _ = drum_audio(cfg, split, index)
    save_piece(path, log_spectrogram(audio), perf, {"name": perf.name, "bpm": perf.bpm})
    return path


def build_separated_piece(cfg: BuildConfig, index: int, separator, soundfont: Path) -> Path:
    """A training piece mixed with generated accompaniment and separated by the worker's Demucs."""
    from .accompaniment import mix_with_drums, render_accompaniment, separate_drums

    path = cfg.out / "separated" / f"{index:05d}.npz"
    if path.exists():
        return path
    perf, kits, rng = performance_for(cfg, "separated", index)
    drums = augment(render(perf, kits, rng, _class_gains(rng)), rng, allow_mp3=False)
    backing = render_accompaniment(len(drums) / 44_100, perf.bpm, perf.beats_per_bar, rng, soundfont)
    mix = mix_with_drums(np.stack([drums, drums]), backing, float(rng.uniform(-6.0, 6.0)))
    stem = separate_drums(mix, separator, seed=index)
    save_piece(path, log_spectrogram(stem), perf, {"name": perf.name, "bpm": perf.bpm, "separated": True})
    return path


def _build_range(args: tuple[BuildConfig, str, int, int]) -> int:
    cfg, split, lo, hi = args
    for i in range(lo, hi):
        build_piece(cfg, split, i)
    return hi - lo


def build(cfg: BuildConfig, split: str, count: int, workers: int) -> None:
    if "fluid" in cfg.kit_sources:
        _fluid(cfg.cache)  # render the SoundFont kits once, before the workers fork
    chunks = [(cfg, split, lo, min(lo + 20, count)) for lo in range(0, count, 20)]
    if workers <= 1:
        for c in chunks:
            _build_range(c)
        return
    with ProcessPoolExecutor(workers) as pool:
        done = 0
        for n in pool.map(_build_range, chunks):
            done += n
            print(f"{split}: {done}/{count}", flush=True)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("training-data"))
    p.add_argument("--cache", type=Path, default=Path("training-data/cache"))
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--train", type=int, default=1600, help="training pieces")
    p.add_argument("--validation", type=int, default=120, help="held-out-kit validation pieces")
    p.add_argument("--separated", type=int, default=0, help="training pieces through Demucs")
    p.add_argument("--real-kit", type=int, default=0, help="training pieces played on MuldjordKit")
    p.add_argument("--produced", type=int, default=0, help="training pieces mixed part by part")
    p.add_argument("--heldout-synth", type=int, default=0, help="validation pieces on never-used synth kits")
    p.add_argument(
        "--varied",
        type=int,
        default=0,
        help="training pieces whose closed hi-hats and cross-sticks vary more",
    )
    p.add_argument("--demucs-dir", type=Path, default=Path("models/demucs/htdemucs"))
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--kits", default="fluid,synth", help="training kit sources: fluid, synth or both")
    args = p.parse_args(argv)
    cfg = BuildConfig(out=args.out, cache=args.cache, seed=args.seed, kit_sources=tuple(args.kits.split(",")))
    start = time.time()
    build(cfg, "validation", args.validation, args.workers)
    build(cfg, "train", args.train, args.workers)
    build(cfg, "real_kit", args.real_kit, args.workers)
    build(cfg, "produced", args.produced, args.workers)
    build(cfg, "heldout_synth", args.heldout_synth, args.workers)
    build(cfg, "varied", args.varied, args.workers)
    if args.separated:
        from .accompaniment import load_separator
        from .sources import FLUID_R3

        separator = load_separator(args.demucs_dir)
        for i in range(args.separated):
            build_separated_piece(cfg, i, separator, FLUID_R3)
            print(f"separated: {i + 1}/{args.separated}", flush=True)
    print(f"built in {time.time() - start:.0f} s -> {cfg.out}")


if __name__ == "__main__":
    main()
