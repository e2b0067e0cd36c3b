"""How loud the training pieces are: ``python -m training.levels`` (prints their active-RMS spread).

HitNet's input, log(1 + magnitude), is not level-invariant, so the worker brings every drum track to
the median level printed here (``hitnet.spectrogram.TARGET_ACTIVE_RMS_DBFS``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from groovesheet_worker.hitnet.spectrogram import active_rms_dbfs

from . import dataset


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cache", type=Path, default=Path("training-data/cache"))
    p.add_argument("--pieces", type=int, default=40)
    p.add_argument("--seed", type=int, default=1234)
    args = p.parse_args(argv)
    cfg = dataset.BuildConfig(out=Path("unused"), cache=args.cache, seed=args.seed)
    levels = [active_rms_dbfs(dataset.drum_audio(cfg, "train", i)[0]) for i in range(args.pieces)]
    print(
        f"active RMS of {args.pieces} training pieces: median {np.median(levels):.1f} dBFS, "
        f"p10 {np.percentile(levels, 10):.1f}, p90 {np.percentile(levels, 90):.1f}"
    )


if __name__ == "__main__":
    main()
