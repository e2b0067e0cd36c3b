"""Train HitNet on the built pieces: ``python -m training.train`` (``make train``).

Batches are random 4-second crops of the training pieces; a share of them (``--separated-share``)
comes from the pieces mixed with accompaniment and separated by Demucs. Targets
are each stroke's frame set to 1 and its two neighbours to 0.5 (ADTOF's widening); the loss is
class-weighted binary cross-entropy plus the velocity error on stroke frames. A hi-hat or ride
stroke played together with a kick or snare, which the louder drum masks, counts
``--coincident-boost`` times. After training, each class's peak threshold is chosen on the tuning
pieces (training kits, pieces never trained on) and the MuldjordKit pieces, then
the model is scored on the held-out-kit pieces (``heldout_synth``: kits no training piece uses) and on
MuldjordKit playing GMD's validation split. The result is written as
``{out}/hitnet.pt`` (weights, config, classes, thresholds) and ``{out}/metrics.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from groovesheet_worker.hitnet.network import HitNet
from groovesheet_worker.hitnet.peaks import peak_rules, pick_peaks
from groovesheet_worker.hitnet.spectrogram import FRAME_RATE, n_bands
from groovesheet_worker.model_files import sha256_of

from .classes import CLASS_INDEX, CLASSES
from .metrics import pooled_f, score

TUNING_PIECES = 100
CROP_FRAMES = 400
THRESHOLD_GRID = np.round(np.arange(0.15, 0.80, 0.05), 2)
# Passes over one drum's articulations when their thresholds are chosen together (tune_thresholds).
SAME_DRUM_ROUNDS = 2
# Time-keeping strokes a kick or snare at the same moment can mask, and the drums that mask them.
MASKED = tuple(CLASS_INDEX[c] for c in ("hihat_closed", "hihat_open", "ride", "ride_bell"))
MASKERS = tuple(CLASS_INDEX[c] for c in ("kick", "snare"))
# Articulations of one drum that cannot sound together (hitnet.peaks), as class indices.
RULES = peak_rules(CLASSES)


class Piece:
    def __init__(self, path: Path) -> None:
        with np.load(path) as z:
            self.spec = z["spec"].astype(np.float32)
            self.times = z["times"].astype(np.float64)
            self.classes = z["classes"].astype(np.int64)
            self.velocities = z["velocities"].astype(np.int64)
        n = len(self.spec)
        self.target = np.zeros((n, len(CLASSES)), dtype=np.float32)
        self.velocity = np.zeros((n, len(CLASSES)), dtype=np.float32)
        frames = np.round(self.times * FRAME_RATE).astype(np.int64)
        for f, c, v in zip(frames, self.classes, self.velocities, strict=True):
            for df, w in ((-1, 0.5), (1, 0.5), (0, 1.0)):
                if 0 <= f + df < n:
                    self.target[f + df, c] = max(self.target[f + df, c], w)
            if 0 <= f < n:
                self.velocity[f, c] = max(self.velocity[f, c], v / 127.0)

    def events(self) -> list[tuple[float, str, int]]:
        return [
            (float(t), CLASSES[c], int(v))
            for t, c, v in zip(self.times, self.classes, self.velocities, strict=True)
        ]


def load_pieces(folder: Path) -> list[Piece]:
    return [Piece(p) for p in sorted(folder.glob("*.npz"))] if folder.exists() else []


@dataclass
class Sets:
    """The built pieces as training and scoring use them (``make train-data``)."""

    train: list[Piece]  # trained on
    separated: list[Piece]  # trained on, a share of the batches
    tuning: list[Piece]  # the last training pieces, never trained on: thresholds are chosen here
    validation: list[Piece]  # held-out kits
    muldjord: list[Piece]  # GMD's validation split on MuldjordKit


# Training splits besides ``train`` (whose last pieces are the tuning set) and ``separated``.
TRAINING_SPLITS: tuple[str, ...] = ("real_kit", "produced")


def load_sets(
    data: Path, tuning: int = TUNING_PIECES, training: bool = True, splits: tuple[str, ...] = TRAINING_SPLITS
) -> Sets:
    """The pieces of ``data``; ``training=False`` loads only the ones thresholds and scores need, and
    ``splits`` are the training splits besides ``train`` and ``separated``."""
    files = sorted((data / "train").glob("*.npz"))
    n_tuning = min(tuning, len(files) // 2)
    train_files, tuning_files = files[: len(files) - n_tuning], files[len(files) - n_tuning :]
    if not train_files:
        raise SystemExit(f"no training pieces in {data}: run `make train-data` first")
    train_pieces: list[Piece] = []
    separated: list[Piece] = []
    if training:
        train_pieces = [Piece(p) for p in train_files]
        for split in splits:
            train_pieces += load_pieces(data / split)
        separated = load_pieces(data / "separated")
    return Sets(
        train=train_pieces,
        separated=separated,
        tuning=[Piece(p) for p in tuning_files],
        validation=load_pieces(data / "heldout_synth"),
        muldjord=load_pieces(data / "validation"),
    )


def class_weights(pieces: list[Piece]) -> np.ndarray:
    counts = np.zeros(len(CLASSES))
    for p in pieces:
        counts += np.bincount(p.classes, minlength=len(CLASSES))
    freq = np.maximum(counts, 1) / counts.sum()
    return np.clip((np.median(freq) / freq) ** 0.5, 0.5, 3.0).astype(np.float32)


def coincidence_weights(target: torch.Tensor, boost: float) -> torch.Tensor:
    """Loss weights: ``boost`` on the target frames of a masked class that a masker shares, else 1."""
    weights = torch.ones_like(target)
    if boost == 1.0:
        return weights
    under = (target[..., list(MASKERS)] > 0).any(dim=-1, keepdim=True)
    masked = (target[..., list(MASKED)] > 0) & under
    weights[..., list(MASKED)] += (boost - 1.0) * masked.float()
    return weights


def batch(pieces: list[Piece], rng: np.random.Generator, size: int) -> tuple[torch.Tensor, ...]:
    specs, targets, vels = [], [], []
    for _ in range(size):
        p = pieces[int(rng.integers(len(pieces)))]
        n = len(p.spec)
        if n <= CROP_FRAMES:
            pad = CROP_FRAMES - n
            s, t, v = (np.pad(a, ((0, pad), (0, 0))) for a in (p.spec, p.target, p.velocity))
        else:
            start = int(rng.integers(n - CROP_FRAMES))
            s, t, v = (a[start : start + CROP_FRAMES] for a in (p.spec, p.target, p.velocity))
        specs.append(s)
        targets.append(t)
        vels.append(v)
    return tuple(torch.from_numpy(np.stack(a)) for a in (specs, targets, vels))


@torch.no_grad()
def activations(model: nn.Module, spec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    model.eval()
    onset, velocity = model(torch.from_numpy(np.asarray(spec, dtype=np.float32))[None])
    return torch.sigmoid(onset)[0].numpy(), velocity[0].numpy()


def predict_events(act: np.ndarray, vel: np.ndarray, thresholds) -> list[tuple[float, str, int]]:
    peaks = pick_peaks(act, vel, thresholds, RULES)
    return [(p.time, CLASSES[p.cls], round(p.velocity * 127)) for p in peaks]


def tune_thresholds(model: nn.Module, pieces: list[Piece]) -> list[float]:
    """Per class, the grid threshold with the best pooled F on ``pieces``; then, drum by drum, the
    articulations that share a stroke (``RULES.same_drum``) chosen again together.

    pick_peaks keeps one articulation of a drum per stroke, so a class's threshold also decides how
    many strokes of its neighbours it takes: a pedal hi-hat chosen on its own F at a low threshold
    wins closed strokes it is only faintly heard in. The second pass moves each threshold of the
    group in turn, the others at their current values, to the best pooled F of the drum's classes.
    """
    outs = [activations(model, p.spec) for p in pieces]
    best = []
    for c, cls in enumerate(CLASSES):
        scores = []
        for th in THRESHOLD_GRID:
            ths = [1.1] * len(CLASSES)
            ths[c] = float(th)
            s = score((p.events(), predict_events(a, v, ths)) for p, (a, v) in zip(pieces, outs, strict=True))
            scores.append(s[f"F_{cls}"])
        best.append(float(THRESHOLD_GRID[int(np.argmax(scores))]))
    for group in RULES.same_drum:
        names = [CLASSES[g] for g in group]
        for _ in range(SAME_DRUM_ROUNDS):
            for c in group:
                scores = []
                for th in THRESHOLD_GRID:
                    ths = [best[g] if g in group else 1.1 for g in range(len(CLASSES))]
                    ths[c] = float(th)
                    events = (
                        (p.events(), predict_events(a, v, ths))
                        for p, (a, v) in zip(pieces, outs, strict=True)
                    )
                    scores.append(pooled_f(events, names))
                best[c] = float(THRESHOLD_GRID[int(np.argmax(scores))])
    return best


def evaluate(model: nn.Module, pieces: list[Piece], thresholds) -> dict[str, float]:
    return score((p.events(), predict_events(*activations(model, p.spec), thresholds)) for p in pieces)


def tune_and_score(model: nn.Module, sets: Sets) -> tuple[list[float], dict]:
    """Thresholds, then the scores on tuning, held-out kits and MuldjordKit.

    The thresholds are chosen on the tuning pieces (training kits, pieces never trained on) together
    with the MuldjordKit pieces (a real kit recorded with microphones, playing performances never
    trained on): synthesised kits alone set the snare and cross-stick thresholds too low for real
    drums, whose snare wires and room answer every stroke of the kit.
    """
    choosing = sets.tuning + sets.muldjord
    thresholds = tune_thresholds(model, choosing) if choosing else [0.5] * len(CLASSES)
    return thresholds, {
        "tuning": evaluate(model, sets.tuning, thresholds) if sets.tuning else {},
        "validation_heldout_kit": evaluate(model, sets.validation, thresholds) if sets.validation else {},
        "muldjord_gmd_validation": evaluate(model, sets.muldjord, thresholds) if sets.muldjord else {},
        "thresholds": dict(zip(CLASSES, thresholds, strict=True)),
    }


def save_model(model: HitNet, thresholds, path: Path, extra: dict) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    torch.save({"config": model.config(), "classes": list(CLASSES), "thresholds": list(thresholds),
                "state_dict": state, "info": json.dumps(extra)}, path)  # fmt: skip
    return sha256_of(path)


def train(args: argparse.Namespace) -> dict:
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)  # tiny activations otherwise slow the CPU down many times
    sets = load_sets(args.data, args.tuning, splits=tuple(args.splits))
    train_pieces, separated = sets.train, sets.separated
    model = HitNet(n_bands(), len(CLASSES), width=args.width)
    weights = torch.from_numpy(class_weights(train_pieces))
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    bce = nn.BCEWithLogitsLoss(reduction="none")
    start = time.time()
    print(f"{len(train_pieces)} training pieces (+{len(separated)} separated), {len(sets.tuning)} tuning, "
          f"{len(sets.validation)} validation; "
          f"{sum(p.numel() for p in model.parameters())} parameters", flush=True)  # fmt: skip
    for step in range(args.steps):
        lr = (
            args.lr * 0.5 * (1 + math.cos(math.pi * step / args.steps))
            if step > 200
            else args.lr * step / 200
        )
        for g in opt.param_groups:
            g["lr"] = lr
        model.train()
        source = separated if separated and rng.random() < args.separated_share else train_pieces
        spec, target, vel = batch(source, rng, args.batch)
        onset, v_out = model(spec)
        loss_onset = (
            bce(onset, target) * weights * coincidence_weights(target, args.coincident_boost)
        ).mean()
        mask = (target == 1.0).float()
        loss_vel = ((v_out - vel) ** 2 * mask).sum() / mask.sum().clamp(min=1)
        loss = loss_onset + args.velocity_weight * loss_vel
        opt.zero_grad()
        loss.backward()
        opt.step()
        if args.checkpoint_every and step and step % args.checkpoint_every == 0:
            save_model(model, [0.5] * len(CLASSES), args.out / f"checkpoint-{step}.pt", {"steps": step})
        if step % 100 == 0 or step == args.steps - 1:
            print(f"step {step} loss {loss_onset.item():.4f} vel {loss_vel.item():.4f} lr {lr:.5f} "
                  f"{time.time() - start:.0f}s", flush=True)  # fmt: skip
    minutes = (time.time() - start) / 60
    thresholds, metrics = tune_and_score(model, sets)
    metrics = {
        **metrics,
        "train_minutes": round(minutes, 1),
        "steps": args.steps,
        "batch": args.batch,
        "train_pieces": len(train_pieces),
        "separated_pieces": len(separated),
        "separated_share": args.separated_share if separated else 0.0,
        "seed": args.seed,
        "splits": ["train", "separated", *args.splits],
        "coincident_boost": args.coincident_boost,
    }
    sha = save_model(model, thresholds, args.out / "hitnet.pt", {"steps": args.steps, "seed": args.seed})
    (args.out / "hitnet.pt.sha256").write_text(f"{sha}  hitnet.pt\n")
    metrics["sha256"] = sha
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=Path("training-data"))
    p.add_argument("--out", type=Path, default=Path("worker-service/groovesheet_worker/hitnet/weights"))
    p.add_argument("--steps", type=int, default=12_000)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--width", type=int, default=96)
    p.add_argument("--velocity-weight", type=float, default=1.0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument(
        "--separated-share", type=float, default=0.15, help="share of batches from separated pieces"
    )
    p.add_argument(
        "--coincident-boost",
        type=float,
        default=2.0,
        help="loss weight of hi-hats/rides under a kick or snare",
    )
    p.add_argument(
        "--splits",
        nargs="+",
        default=list(TRAINING_SPLITS),
        help="training splits besides train and separated (make train-data's varied pieces: add varied)",
    )
    p.add_argument("--checkpoint-every", type=int, default=0, help="also save weights every N steps")
    p.add_argument(
        "--tuning", type=int, default=TUNING_PIECES, help="last N training pieces kept for thresholds"
    )
    return p


def main(argv: list[str] | None = None) -> None:
    metrics = train(build_parser().parse_args(argv))
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
