"""Transcribe one song on this machine, no server: `python -m groovesheet_worker.cli song.mp3 --out dir/`.

Writes output.musicxml, output.mid and events.json into --out, with a progress bar.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from groovesheet_shared.errors import TranscriptionError
from groovesheet_shared.jobs import JobOptions


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="groovesheet-transcribe", description=__doc__)
    parser.add_argument("audio", type=Path, help="MP3, WAV, FLAC or OGG file")
    parser.add_argument("--out", type=Path, default=Path("out"), help="folder for the three outputs")
    parser.add_argument("--bpm", type=float, default=None, help="tempo, if you know it (else estimated)")
    parser.add_argument("--time-signature", default=None, help="e.g. 4/4, 3/4, 6/8 (default 4/4)")
    parser.add_argument(
        "--drums-only", action="store_true", help="the file is a drum recording: skip separation"
    )
    parser.add_argument("--title", default=None, help="title on the sheet (default: the file name)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.audio.is_file():
        print(f"error: {args.audio} does not exist", file=sys.stderr)
        return 2

    from tqdm import tqdm

    from .config import WorkerSettings
    from .pipeline.transcriber import Transcriber

    bar = tqdm(total=100, unit="%", bar_format="{l_bar}{bar}| {n_fmt}% [{elapsed}]", file=sys.stderr)
    bar.set_description("Loading models")
    transcriber = Transcriber(WorkerSettings())
    bar.update(30)

    def progress(percent: int, stage: str, message: str) -> None:
        bar.n = max(bar.n, percent)
        bar.set_description(message)  # also redraws the bar at the new percent

    options = JobOptions(
        title=args.title, bpm=args.bpm, time_signature=args.time_signature, drums_only=args.drums_only
    )
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix="groovesheet-") as work:
            output = transcriber(args.audio, options, Path(work), progress)
            written = {name: Path(shutil.copy(path, args.out / name)) for name, path in output.files.items()}
    except TranscriptionError as exc:
        bar.close()
        print(f"error ({exc.code}): {exc.message}", file=sys.stderr)
        return 1
    progress(100, "completed", "Completed")
    bar.close()
    for path in written.values():
        print(path)
    print(json.dumps(output.result.model_dump(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
