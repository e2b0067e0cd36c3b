"""The contract between the job runner and the transcription pipeline.

The runner owns files, storage and the job record; the pipeline gets a local audio file and a
folder to write into, reports progress through a callback, and returns what it wrote. The progress
checkpoints, the options and the output names are the shared job contract (groovesheet_shared).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from groovesheet_shared.jobs import JobOptions, JobResult
from groovesheet_shared.progress import CHECKPOINTS, Checkpoint

__all__ = ["CHECKPOINTS", "Checkpoint", "Pipeline", "PipelineOutput", "ProgressCallback"]


class ProgressCallback(Protocol):
    def __call__(self, percent: int, stage: str, message: str) -> None: ...


@dataclass
class PipelineOutput:
    """Files written by the pipeline, keyed by the stored object name, and the job's result.

    ``extra`` holds diagnostics that are not part of the result (e.g. the tempo the clips were cut
    at); the runner writes them into the job's 'completed' log line.
    """

    files: dict[str, Path]
    result: JobResult
    extra: dict[str, object] = field(default_factory=dict)


class Pipeline(Protocol):
    """A loaded transcription pipeline: models are loaded once, then called once per job."""

    def __call__(
        self,
        audio_path: Path,
        options: JobOptions,
        work_dir: Path,
        progress: ProgressCallback,
    ) -> PipelineOutput: ...
