"""The published AnNOTEator pipeline, replayed for comparison (never on the production path).

What cb-42/AnNOTEator's inference code does with the same model: one full-band onset envelope at
hop 1024 (512 for songs above 110 bpm) picked with librosa's default windows, the clip tempo from the
most common inter-onset gap refined by librosa (no folding), every probability rounded at 0.5, and the
single most likely class when nothing is left. `python bench/eval_mdb.py --rules reference` uses it.
"""

from __future__ import annotations

import librosa
import numpy as np

from groovesheet_worker.pipeline.constants import MODEL_CLASSES, SAMPLE_RATE
from groovesheet_worker.pipeline.features import onset_clips
from groovesheet_worker.pipeline.hits import HitFinder, HitRules, Onsets, decide
from groovesheet_worker.pipeline.types import ANNOTEATOR_TO_INSTRUMENT, Hit


def reference_rules() -> HitRules:
    """0.5 on every class, no ride-by-ring, no re-scoring."""
    return HitRules(thresholds=dict.fromkeys(MODEL_CLASSES, 0.5), ride_sustain_db=None, rescorer=None)


def detect_onsets(drums: np.ndarray, sr: int, hop: int, pick_hop: int | None = None) -> np.ndarray:
    """Onsets in samples from librosa's full-band onset envelope.

    ``pick_hop`` sizes the peak-picking windows; the reference leaves it at librosa's 512 whatever the
    envelope's hop, which doubles its minimum gap between onsets at hop 1024.
    """
    envelope = librosa.onset.onset_strength(y=drums, sr=sr, hop_length=hop)
    frames = librosa.onset.onset_detect(onset_envelope=envelope, sr=sr, hop_length=pick_hop or hop)
    return np.asarray(frames, dtype=np.int64) * hop


def reference_tempo(drums: np.ndarray, sr: int, onsets: np.ndarray) -> float:
    """The most common inter-onset gap taken as an 8th note, refined by librosa."""
    start = None
    if len(onsets) > 1:
        values, counts = np.unique(np.diff(onsets), return_counts=True)
        start = 60.0 / (values[np.argmax(counts)] / sr * 2)
    kwargs = {"start_bpm": start} if start else {}
    return float(librosa.feature.tempo(y=drums, sr=sr, **kwargs)[0])


def argmax_fallback(keep: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """Where no class reached its threshold, keep the single most likely one."""
    keep = keep.copy()
    none = ~keep.any(axis=1)
    keep[none, np.argmax(confidence[none], axis=1)] = True
    return keep


class ReferenceHitFinder(HitFinder):
    """HitFinder with the published preparation and labelling rules."""

    def __init__(self, model_path) -> None:
        super().__init__(model_path, reference_rules())

    def prepare(self, drums: np.ndarray, sr: int = SAMPLE_RATE, bpm_hint: float | None = None) -> Onsets:
        bpm = float(bpm_hint) if bpm_hint else reference_tempo(drums, sr, detect_onsets(drums, sr, 1024, 512))
        hop = 512 if bpm > 110 else 1024  # finer onsets for fast songs
        onsets = detect_onsets(drums, sr, hop, 512)
        return Onsets(
            samples=onsets, clip_bpm=bpm, spectrograms=onset_clips(drums, onsets, bpm, sr), sample_rate=sr
        )

    def label(self, onsets: Onsets, probabilities: np.ndarray) -> list[Hit]:
        keep, confidence = decide(probabilities, self.rules)
        keep = argmax_fallback(keep, confidence)
        return [
            Hit(
                round(float(t), 4),
                ANNOTEATOR_TO_INSTRUMENT[MODEL_CLASSES[k]],
                round(float(confidence[i, k]), 4),
            )
            for i, t in enumerate(onsets.times)
            for k in np.flatnonzero(keep[i])
        ]
