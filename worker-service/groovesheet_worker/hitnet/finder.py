"""NetHitFinder: the drum track -> hits with instrument, confidence and velocity, by HitNet.

The weights are Groovesheet's own (trained by ``make train``, committed in ``weights/`` with a model
card) and are checked against the sha256 committed beside them (``weights/hitnet.pt.sha256``, written
by ``make train``) before they are loaded; a file that does not match is refused, never used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from groovesheet_shared.errors import TranscriptionError

from ..model_files import sha256_of
from ..pipeline.types import INSTRUMENTS, Hit
from .peaks import peak_rules, pick_peaks
from .spectrogram import SAMPLE_RATE, drum_track_spectrogram

WEIGHTS_PATH = Path(__file__).with_name("weights") / "hitnet.pt"
# HitNet hears 0.3 s of silence before the track. A track that starts on a stroke (an opening crash
# on its first sample) otherwise gives the network no frame to hear the stroke rise from: on the
# notation benchmark's dev set it found 11 of 23 such strokes, and 18 with the lead-in.
LEAD_IN_FRAMES = 30


def expected_sha256(weights: Path = WEIGHTS_PATH) -> str | None:
    """The sha256 recorded beside a weights file (``<file>.sha256``), or None when there is none."""
    sidecar = weights.with_name(weights.name + ".sha256")
    return sidecar.read_text().split()[0] if sidecar.is_file() else None


@dataclass(frozen=True)
class Prepared:
    """The model input of one drum track: its spectrogram after LEAD_IN_FRAMES frames of silence."""

    heard: np.ndarray
    sample_rate: int = SAMPLE_RATE

    @property
    def spectrogram(self) -> np.ndarray:
        """The track's own frames (frame i centred on sample i * HOP), as the readers use them."""
        return self.heard[LEAD_IN_FRAMES:]


class NetHitFinder:
    """HitNet loaded once per process; ``prepare`` then ``classify`` per song."""

    def __init__(
        self, model_path: Path = WEIGHTS_PATH, sha256: str | None = None, verify: bool = True
    ) -> None:
        """Load ``model_path``; its sha256 must equal ``sha256`` or the one recorded beside it.

        ``verify=False`` is for evaluating training checkpoints, never for serving.
        """
        import torch

        from .network import load_network

        model_path = Path(model_path)
        if not model_path.is_file():
            raise TranscriptionError(
                f"The drum-hit model {model_path} is missing: run `make train` or set HITNET_MODEL_PATH.",
                code="model_unavailable",
                retryable=False,
            )
        expected = sha256 or expected_sha256(model_path)
        if verify and expected is None:
            raise TranscriptionError(
                f"The drum-hit model {model_path} has no sha256 beside it ({model_path.name}.sha256): "
                "refusing to load unverified weights.",
                code="model_unavailable",
                retryable=False,
            )
        if verify and sha256_of(model_path) != expected:
            raise TranscriptionError(
                f"The drum-hit model {model_path} does not match its sha256 ({expected[:12]}…): "
                "it is damaged or not the committed version.",
                code="model_unavailable",
                retryable=False,
            )
        saved = torch.load(model_path, map_location="cpu", weights_only=True)
        if tuple(saved["classes"]) != INSTRUMENTS:
            raise TranscriptionError(
                f"The drum-hit model {model_path} hears {saved['classes']}, not the worker's instruments.",
                code="model_unavailable",
                retryable=False,
            )
        self.model = load_network(saved)
        self.thresholds: list[float] = [float(t) for t in saved["thresholds"]]
        self.rules = peak_rules(INSTRUMENTS)
        self._torch = torch

    def prepare(self, drums: np.ndarray, sr: int = SAMPLE_RATE, bpm_hint: float | None = None) -> Prepared:
        if sr != SAMPLE_RATE:
            raise ValueError(f"HitNet needs {SAMPLE_RATE} Hz audio, got {sr}")
        return Prepared(drum_track_spectrogram(drums, LEAD_IN_FRAMES), sr)

    def activations(self, prepared: Prepared) -> tuple[np.ndarray, np.ndarray]:
        """(frames, classes) onset probabilities and velocities (0..1) of the track's own frames."""
        torch = self._torch
        with torch.inference_mode():
            onset, velocity = self.model(torch.from_numpy(prepared.heard)[None])
            return torch.sigmoid(onset)[0, LEAD_IN_FRAMES:].numpy(), velocity[0, LEAD_IN_FRAMES:].numpy()

    def classify(self, prepared: Prepared) -> list[Hit]:
        act, vel = self.activations(prepared)
        return [
            Hit(
                time=round(p.time, 4),
                instrument=INSTRUMENTS[p.cls],
                confidence=round(p.activation, 4),
                velocity=int(np.clip(round(p.velocity * 127), 1, 127)),
            )
            for p in pick_peaks(act, vel, self.thresholds, self.rules)
        ]

    def find_hits(self, drums: np.ndarray, sr: int = SAMPLE_RATE, bpm_hint: float | None = None) -> list[Hit]:
        return self.classify(self.prepare(drums, sr, bpm_hint))
