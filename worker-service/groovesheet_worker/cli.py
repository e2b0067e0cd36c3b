"""Transcribe one song on this machine, no server: `python -m groovesheet_worker.cli song.mp3 --out dir/`.

Writes output.musicxml, output.mid and events.json into --out, with a progress bar. The options go
through the same JobOptions rules as an upload to the API (bpm 30-300, the API's time signatures, a
title sheet music can hold).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from groovesheet_shared.errors import InvalidJobOptions, TranscriptionError
from groovesheet_shared.jobs import JobOptions
from groovesheet_shared.options import BPM_MAX, BPM_MIN, TIME_SIGNATURES
from groovesheet_shared.progress import CHECKPOINTS

from .transcription import Pipeline

# Exit codes: 0 done, 1 the song could not be transcribed, 2 bad command line.
EXIT_FAILED = 1
EXIT_USAGE = 2


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="groovesheet-transcribe", description=__doc__)
    parser.add_argument("audio", type=Path, help="MP3, WAV, FLAC or OGG file")
    parser.add_argument("--out", type=Path, default=Path("out"), help="folder for the three outputs")
    parser.add_argument(
        "--bpm", default=None, help=f"tempo, {BPM_MIN:g}-{BPM_MAX:g}, if you know it (else estimated)"
    )
    parser.add_argument(
        "--time-signature",
        default=None,
        help=f"one of {', '.join(TIME_SIGNATURES)}, if you know it (else read from the music)",
    )
    parser.add_argument(
        "--drums-only", action="store_true", help="the file is a drum recording: skip separation"
    )
    parser.add_argument("--title", default=None, help="title on the sheet (default: the file name)")
    return parser.parse_args(argv)


def options_from_args(args: argparse.Namespace) -> JobOptions:
    """The job options, checked exactly as the API checks an upload's form fields."""
    return JobOptions.from_fields(
        title=args.title,
        bpm=args.bpm,
        time_signature=args.time_signature,
        drums_only=args.drums_only,
        filename=args.audio.name,
    )


def load_transcriber() -> Pipeline:
    from .config import WorkerSettings
    from .pipeline.transcriber import Transcriber

    return Transcriber(WorkerSettings())


def main(argv: list[str] | None = None, load: Callable[[], Pipeline] = load_transcriber) -> int:
    args = parse_args(argv)
    try:
        options = options_from_args(args)
    except InvalidJobOptions as exc:
        print(f"error ({exc.code}): {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    if not args.audio.is_file():
        print(f"error: {args.audio} does not exist", file=sys.stderr)
        return EXIT_USAGE

    from tqdm import tqdm

    bar = tqdm(total=100, unit="%", bar_format="{l_bar}{bar}| {n_fmt}% [{elapsed}]", file=sys.stderr)
    bar.set_description("Loading models")
    transcriber = load()
    started = CHECKPOINTS["started"]
    bar.update(started.percent)

    def progress(percent: int, stage: str, message: str) -> None:
        bar.n = max(bar.n, percent)
        bar.set_description(message)  # also redraws the bar at the new percent

    args.out.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix="groovesheet-") as work:
            output = transcriber(args.audio, options, Path(work), progress)
            written = {name: Path(shutil.copy(path, args.out / name)) for name, path in output.files.items()}
    except TranscriptionError as exc:
        bar.close()
        print(f"error ({exc.code}): {exc.message}", file=sys.stderr)
        return EXIT_FAILED
    done = CHECKPOINTS["completed"]
    progress(done.percent, "completed", done.message)
    bar.close()
    for path in written.values():
        print(path)
    print(json.dumps(output.result.model_dump(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
