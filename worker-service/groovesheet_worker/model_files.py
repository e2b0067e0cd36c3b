"""Put the model weights in place, checked by sha256, before the worker starts.

Development machines copy them from ``../shared/models``; production images download the
official files at build time (``--download``). Nothing downloads weights at run time.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ModelFile:
    path: str  # relative to the models folder
    sha256: str
    url: str | None = None  # official upstream file, for production images
    url_sha256: str | None = None  # the upstream file's own sha256 when it differs


MODEL_FILES = (
    ModelFile(
        "annoteator/complete_network.h5",
        "03d46bdddeb827615b7846a218f3e82b46066f95b88e256ac0007d9422fed845",
        "https://raw.githubusercontent.com/cb-42/AnNOTEator/main/inference/pretrained_models/"
        "annoteators/complete_network.h5",
    ),
    ModelFile(
        "demucs/htdemucs/955717e8.th",
        "8e7fb4bea0c025cd50683573f0c1323607171afd2d2bb77d516fefd69b8b3bc5",
        "https://dl.fbaipublicfiles.com/demucs/hybrid_transformer/955717e8-8726e21a.th",
        "8726e21a993978c7ba086d3872e7608d7d5bfca646ca4aca459ffda844faa8b4",
    ),
    ModelFile("demucs/htdemucs/htdemucs.yaml", ""),
)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verified(path: Path, expected: str) -> bool:
    return path.is_file() and (not expected or sha256_of(path) == expected)


def install(source: Path | None, dest: Path, download: bool) -> list[str]:
    problems: list[str] = []
    for model in MODEL_FILES:
        target = dest / model.path
        if _verified(target, model.sha256):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        candidate = source / model.path if source else None
        if candidate is not None and _verified(candidate, model.sha256):
            shutil.copyfile(candidate, target)
        elif download and model.url:
            tmp = target.with_suffix(target.suffix + ".part")
            with urllib.request.urlopen(model.url, timeout=600) as response, open(tmp, "wb") as out:
                shutil.copyfileobj(response, out)
            expected = model.url_sha256 or model.sha256
            if sha256_of(tmp) != expected:
                tmp.unlink()
                problems.append(f"{model.path}: sha256 of {model.url} is not {expected}")
                continue
            tmp.replace(target)
        elif download and model.path.endswith(".yaml"):
            # The official htdemucs repository file lists the one checkpoint by its signature.
            target.write_text("models: ['955717e8']\n")
        else:
            problems.append(f"{model.path}: not found (or wrong sha256) in {source}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", type=Path, help="folder holding a copy (../shared/models)")
    parser.add_argument("--dest", type=Path, default=Path("models"))
    parser.add_argument("--download", action="store_true", help="fetch official files (build time)")
    args = parser.parse_args(argv)
    source = args.source if args.source and args.source.is_dir() else None
    problems = install(source, args.dest, args.download)
    for problem in problems:
        print(f"models: {problem}", file=sys.stderr)
    if not problems:
        print(f"models: ready in {args.dest}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
