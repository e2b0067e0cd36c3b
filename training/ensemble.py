"""Join HitNets trained apart into the model the worker ships: ``python -m training.ensemble``.

    python -m training.ensemble --members A/hitnet.pt B/hitnet.pt [--data training-data]
        [--out worker-service/groovesheet_worker/hitnet/weights]

Each member is a ``hitnet.pt`` written by ``training.train`` (``make train`` trains them side by side,
one per core, with their own seed and loss weighting), or an ensemble written here: its members join
the new one, so a network trained later is added to the shipped ones without training those again. The ensemble averages their onset
probabilities and velocities (``hitnet.network.HitNetEnsemble``): members trained apart make different
mistakes, so the average is surer than any of them on kits and rooms none of them heard. Its per-class
thresholds are chosen again on the same tuning pieces, it is scored like one model, and written as one
``hitnet.pt`` (each member's config and weights, the classes, the thresholds) with its sha256 and a
``metrics.json`` that keeps each member's own scores.

``--class-members ride,ride_bell,crash=0,1,2`` lets only some members speak for some classes (the
shipped weights: the cymbals are heard by the three networks of the first recipe, which hear real
recorded rides better; drums and hi-hats by all six). ``FILE@0,1,2`` takes only those members of an
ensemble file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from groovesheet_worker.hitnet.network import HitNet, HitNetEnsemble, load_network
from groovesheet_worker.model_files import sha256_of

from .classes import CLASSES
from .train import TUNING_PIECES, Sets, load_sets, tune_and_score

# What the card says about each member, from the member's own metrics.json.
MEMBER_KEYS = (
    "seed",
    "steps",
    "batch",
    "coincident_boost",
    "train_minutes",
    "train_pieces",
    "splits",
    "sha256",
)


def load_members(source: str | Path) -> list[tuple[HitNet, dict]]:
    """The trained HitNets in ``source`` and what their training runs wrote about them.

    A ``hitnet.pt`` of ``training.train`` is one member, with the ``metrics.json`` beside it ({} when
    there is none); an ensemble this module wrote (the shipped weights) gives back each of its members
    with the card's notes on them, so a newly trained network can join the ones already shipped.
    ``ensemble.pt@0,1,2`` takes only those of an ensemble's members (counted from 0).
    """
    path_text, _, chosen = str(source).partition("@")
    path = Path(path_text)
    members = _load_file(path)
    if not chosen:
        return members
    picked = [int(i) for i in chosen.split(",")]
    if not all(0 <= i < len(members) for i in picked):
        raise SystemExit(f"{path} holds {len(members)} networks: no member {chosen}")
    return [members[i] for i in picked]


def _load_file(path: Path) -> list[tuple[HitNet, dict]]:
    saved = torch.load(path, map_location="cpu", weights_only=True)
    if tuple(saved["classes"]) != CLASSES:
        raise SystemExit(f"{path} hears {saved['classes']}, not the training classes")
    network = load_network(saved)
    if isinstance(network, HitNetEnsemble):
        notes = json.loads(saved.get("info") or "{}").get("members", [])
        notes = notes if len(notes) == len(network.members) else [{} for _ in network.members]
        return [
            (member, _as_member_metrics(note)) for member, note in zip(network.members, notes, strict=True)
        ]
    metrics_path = path.with_name("metrics.json")
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    return [(network, metrics)]


def _as_member_metrics(note: dict) -> dict:
    """An ensemble's note on a member in the shape of the member's own metrics.json."""
    metrics = {k: note.get(k) for k in MEMBER_KEYS}
    heldout = note.get("validation_heldout_kit_sum_F5")
    return metrics | ({"validation_heldout_kit": {"sum_F5": heldout}} if heldout is not None else {})


def save_ensemble(ensemble: HitNetEnsemble, thresholds: list[float], path: Path, info: dict) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    limited = {"class_members": ensemble.class_members} if ensemble.class_members else {}
    members = [
        {"config": m.config(), "state_dict": {k: v.detach().clone() for k, v in m.state_dict().items()}}
        for m in ensemble.members
    ]
    torch.save(
        {
            "members": members,
            "classes": list(CLASSES),
            "thresholds": list(thresholds),
            "info": json.dumps(info),
        }
        | limited,
        path,
    )
    return sha256_of(path)


def parse_class_members(specs: list[str]) -> dict[int, list[int]]:
    """``ride,crash=0,1,2`` -> {class index: [member indices]} for each spec (members counted from 0
    in the order they are loaded, an ensemble's members in its own order)."""
    out: dict[int, list[int]] = {}
    for spec in specs:
        names, _, members = spec.partition("=")
        if not members:
            raise SystemExit(f"--class-members {spec!r}: expected CLASS[,CLASS...]=MEMBER[,MEMBER...]")
        for name in names.split(","):
            if name not in CLASSES:
                raise SystemExit(f"--class-members {spec!r}: {name!r} is not one of {', '.join(CLASSES)}")
            out[CLASSES.index(name)] = [int(m) for m in members.split(",")]
    return out


def build(
    member_paths: list[str | Path], sets: Sets, out: Path, class_members: dict[int, list[int]] | None = None
) -> dict:
    loaded = [member for path in member_paths for member in load_members(path)]
    ensemble = HitNetEnsemble([network for network, _ in loaded], class_members).eval()
    thresholds, metrics = tune_and_score(ensemble, sets)
    members = [{k: m.get(k) for k in MEMBER_KEYS} | {
        "validation_heldout_kit_sum_F5": m.get("validation_heldout_kit", {}).get("sum_F5"),
    } for _, m in loaded]  # fmt: skip
    heard_by = {CLASSES[c]: ms for c, ms in ensemble.class_members.items()}
    info = {"members": members} | ({"class_members": heard_by} if heard_by else {})
    sha = save_ensemble(ensemble, thresholds, out / "hitnet.pt", info)
    (out / "hitnet.pt.sha256").write_text(f"{sha}  hitnet.pt\n")
    metrics |= {
        "members": members,
        **({"class_members": heard_by} if heard_by else {}),
        "parameters": sum(p.numel() for p in ensemble.parameters()),
        "sha256": sha,
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--members",
        nargs="+",
        required=True,
        help="hitnet.pt files of training.train, or of an ensemble to add to (FILE@0,1,2: those members only)",
    )
    p.add_argument("--data", type=Path, default=Path("training-data"))
    p.add_argument("--out", type=Path, default=Path("worker-service/groovesheet_worker/hitnet/weights"))
    p.add_argument(
        "--tuning", type=int, default=TUNING_PIECES, help="last N training pieces kept for thresholds"
    )
    p.add_argument(
        "--class-members",
        nargs="*",
        default=[],
        metavar="CLASSES=MEMBERS",
        help="classes heard by some members only, e.g. ride,ride_bell,crash=0,1,2 (members counted from 0)",
    )
    args = p.parse_args(argv)
    torch.set_flush_denormal(True)
    sets = load_sets(args.data, args.tuning, training=False)
    metrics = build(args.members, sets, args.out, parse_class_members(args.class_members))
    print(json.dumps({k: v for k, v in metrics.items() if k != "tuning"}, indent=2))


if __name__ == "__main__":
    main()
