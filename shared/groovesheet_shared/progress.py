"""The progress a job reports, in one table: the API shows it, the worker and the pipeline write it."""

from __future__ import annotations

from typing import NamedTuple


class Checkpoint(NamedTuple):
    percent: int
    message: str


# Before a worker takes the job (and again when it is given back to the queue).
QUEUED_STAGE = "queued"
QUEUED = Checkpoint(0, "Waiting for a worker")

# Stage name -> (percent, message) written to metadata.json, in order. Job.started and
# Job.completed use the first and last; the pipeline reports the ones in between.
CHECKPOINTS: dict[str, Checkpoint] = {
    "started": Checkpoint(30, "Transcription started"),
    "separating": Checkpoint(35, "Separating the drums from the mix"),
    "separated": Checkpoint(55, "Drums separated"),
    "preprocessed": Checkpoint(65, "Audio preprocessed"),
    "classified": Checkpoint(80, "Drum hits classified"),
    "building": Checkpoint(90, "Building the sheet music"),
    "musicxml_saved": Checkpoint(95, "MusicXML saved"),
    "checked": Checkpoint(97, "Notation checked"),
    "completed": Checkpoint(100, "Your drum sheet music is ready"),
}
