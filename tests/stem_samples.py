"""Real stems for tests: a groove (the drums) over a tone (the rest), encoded by ffmpeg as the worker does."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from groovesheet_shared.jobs import JobResult, Stems
from groovesheet_shared.outputs import STEM_FILES
from groovesheet_worker.pipeline.stems import StemEncoder
from tests.audio_samples import SR, groove

TONE_HZ = 220.0


def mix_and_drums(seconds: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """(mix, drums), each (2, samples) float32: the drums are the groove, the rest a steady tone."""
    drums = np.stack([groove(seconds), groove(seconds, seed=1)])
    t = np.arange(drums.shape[1]) / SR
    tone = (0.3 * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.float32)
    return drums + tone, drums


def encode_stems(folder: Path, seconds: float = 4.0) -> dict[str, Path]:
    """Both stems as MP3 files in ``folder``, keyed by stored object name."""
    folder.mkdir(parents=True, exist_ok=True)
    mix, drums = mix_and_drums(seconds)
    return StemEncoder().encode_stems(mix, drums, SR, folder)


def result_with(stems: Stems | None) -> JobResult:
    return JobResult(
        total_notes=3, bpm=120, duration_seconds=4, notes_per_instrument={"kick": 3}, stems=stems
    )


__all__ = ["STEM_FILES", "encode_stems", "mix_and_drums", "result_with"]
