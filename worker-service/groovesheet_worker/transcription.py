"""The contract between the job runner and the transcription pipeline.

The runner owns files, storage and the job record; the pipeline gets a local audio file and a
folder to write into, reports progress through a callback, and returns what it wrote.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from groovesheet_shared.jobs import JobOptions, JobResult

# Progress checkpoints (percent, stage, message) written to metadata.json, in order.
CHECKPOINTS: dict[str, tuple[int, str]] = {
    "started": (30, "Transcription started"),
    "separating": (35, "Separating the drums from the mix"),
    "separated": (55, "Drums separated"),
    "preprocessed": (65, "Audio preprocessed"),
    "classified": (80, "Drum hits classified"),
    "building": (90, "Building the sheet music"),
    "musicxml_saved": (95, "MusicXML saved"),
    "checked": (97, "Notation checked"),
    "completed": (100, "Completed"),
}


class ProgressCallback(Protocol):
    def __call__(self, percent: int, stage: str, message: str) -> None: ...


@dataclass
class PipelineOutput:
    """Files written by the pipeline, keyed by the stored object name, and the job's result."""

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
