"""A small pipeline for runner tests: writes the three outputs and reports every checkpoint.

The real pipeline plugs into the same call (groovesheet_worker.transcription.Pipeline).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from groovesheet_shared.jobs import OUTPUT_FILES, JobOptions, JobResult, Stems
from groovesheet_worker.transcription import CHECKPOINTS, PipelineOutput, ProgressCallback

PIPELINE_STAGES = [s for s in CHECKPOINTS if s not in ("started", "completed")]


class FakePipeline:
    def __init__(self, seconds_per_stage: float = 0.0, log: Path | None = None, stems: bool = False) -> None:
        self.seconds_per_stage = seconds_per_stage
        self.log = log
        # Real MP3 stems (ffmpeg) of a made-up song, as after separation; also with FAKE_STEMS=1.
        self.stems = stems or os.environ.get("FAKE_STEMS") == "1"
        self.calls: list[Path] = []
        self.options: list[JobOptions] = []

    def __call__(
        self, audio_path: Path, options: JobOptions, work_dir: Path, progress: ProgressCallback
    ) -> PipelineOutput:
        self.calls.append(audio_path)
        self.options.append(options)
        if self.log is not None:
            # O_APPEND writes of one short line are atomic, so several processes can share the log.
            with open(self.log, "a") as handle:
                handle.write(f"{work_dir.name.split('-', 1)[1][:36]} {os.getpid()}\n")
        for stage in PIPELINE_STAGES:
            time.sleep(self.seconds_per_stage)
            percent, message = CHECKPOINTS[stage]
            progress(percent, stage, message)
        files = {}
        # FAKE_MUSICXML=path writes a real score (for the browser test's preview); default: a stub.
        fake_musicxml = os.environ.get("FAKE_MUSICXML")
        musicxml = Path(fake_musicxml).read_text() if fake_musicxml else "<score-partwise/>"
        for kind, text in (("musicxml", musicxml), ("midi", "MThd"), ("json", "{}")):
            name = OUTPUT_FILES[kind]
            files[name] = work_dir / name
            files[name].write_text(text)
        # As the real reading: the uploader's tempo, else 120 with the half tempo offered as an alternative.
        result = JobResult(
            total_notes=1,
            bpm=options.bpm or 120.0,
            alternative_bpm=None if options.bpm else 60.0,
            duration_seconds=audio_path.stat().st_size / 1e5,
        )
        if self.stems:
            from tests.stem_samples import encode_stems

            files.update(encode_stems(work_dir, seconds=3.0))
            result.stems = Stems(available=True)
        return PipelineOutput(files=files, result=result, extra={"clip_bpm": 120.0})
