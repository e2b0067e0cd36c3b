"""Separate the drums from a mix with Demucs: the model is loaded once, only the drums stem is kept.

Two backends run the same htdemucs weights through the same segmenting code (``demucs_segments``,
apply_model's arithmetic keeping only the drums, so a whole song is one pass):

* ``torch``: float32, the reference (what plain ``demucs`` computes); overlap ``DEMUCS_OVERLAP``.
* ``bf16``: the model under torch's CPU bfloat16 autocast (convolutions, the transformer's matrix
  products and attention run in bfloat16 on oneDNN; the STFT, iSTFT and normalisation stay float32),
  with segment overlap ``SEPARATION_FAST_OVERLAP`` (0.2: 0.1, the value the Demucs authors call
  "probably enough", cost 0.012 of F on the raw-sum mdb-dev mixes averaged over three random shifts,
  0.2 costs 0.004). On a CPU without native bfloat16 (avx512_bf16 or AMX) it runs float32 with that
  overlap.
  ``make bench`` measures both on the same file; README "Speed" has the numbers.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import torch
from demucs.pretrained import get_model

from groovesheet_shared.errors import TranscriptionError
from groovesheet_worker.pipeline.demucs_segments import segment_passes, separate_source

if TYPE_CHECKING:
    from groovesheet_worker.config import WorkerSettings

logger = logging.getLogger(__name__)

SeparationBackend = Literal["torch", "bf16"]
BACKENDS: tuple[SeparationBackend, ...] = ("torch", "bf16")

# Called with the fraction of segments finished, 0..1 (the transcriber maps it to 35..55 %).
SeparationProgress = Callable[[float], None]

# Demucs' tiny random test model: real separation code, no weights, no model repository.
UNITTEST_MODEL = "demucs_unittest"
DRUMS = "drums"


def _failed(message: str, *, retryable: bool) -> TranscriptionError:
    return TranscriptionError(message, code="separation_failed", retryable=retryable)


def native_bf16() -> bool:
    """Whether this CPU computes bfloat16 in hardware (avx512_bf16 or AMX), where oneDNN gains from it."""
    cpu = torch.cpu
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(cpu, name, lambda: False)()) for name in checks)


class DrumSeparator:
    """Demucs drums separation, loaded once per worker process.

    ``shifts`` random time shifts are averaged (0 and 1 cost the same: one pass), segments overlap
    by ``overlap``, and ``num_workers`` threads run segments in parallel on the CPU. ``backend`` is
    ``"torch"`` (float32, the reference) or ``"bf16"`` (bfloat16 autocast where the CPU has it).
    """

    @classmethod
    def from_settings(cls, settings: WorkerSettings) -> DrumSeparator:
        backend = settings.separation_backend
        return cls(
            settings.demucs_model,
            settings.demucs_model_dir,
            device=settings.demucs_device,
            shifts=settings.demucs_shifts,
            overlap=settings.demucs_overlap if backend == "torch" else settings.separation_fast_overlap,
            num_workers=settings.demucs_num_workers,
            threads=settings.omp_num_threads,
            backend=backend,
        )

    def __init__(
        self,
        model_name: str = "htdemucs",
        model_dir: Path | None = None,
        *,
        device: str = "cpu",
        shifts: int = 1,
        overlap: float = 0.25,
        num_workers: int = 1,
        threads: int | None = None,
        backend: SeparationBackend = "torch",
    ) -> None:
        if backend not in BACKENDS:
            raise _failed(f"Unknown separation backend {backend!r}: use one of {BACKENDS}.", retryable=False)
        if threads:
            # OMP_NUM_THREADS only counts before torch starts its pool; set both for child libraries.
            os.environ.setdefault("OMP_NUM_THREADS", str(threads))
            torch.set_num_threads(threads)
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise _failed("DEMUCS_DEVICE is 'cuda' but this machine has no usable GPU.", retryable=False)
        try:
            if model_name == UNITTEST_MODEL:
                model = get_model(model_name)
            else:
                if model_dir is None or not Path(model_dir).is_dir():
                    raise FileNotFoundError(f"Demucs model folder {model_dir} does not exist")
                model = get_model(model_name, repo=Path(model_dir))
        except Exception as exc:
            raise _failed(
                f"The drum separation model '{model_name}' could not be loaded from {model_dir}: {exc}. "
                "Run `make models` (or fix DEMUCS_MODEL / DEMUCS_MODEL_DIR).",
                retryable=False,
            ) from exc
        if DRUMS not in model.sources:
            raise _failed(f"Demucs model '{model_name}' has no drums stem.", retryable=False)
        model.eval()
        model.to(device)
        self.model = model
        self.model_name = model_name
        self.device = device
        self.shifts = shifts
        self.overlap = overlap
        self.num_workers = num_workers
        self.sample_rate: int = int(model.samplerate)
        self.audio_channels: int = int(model.audio_channels)
        self._drums_index = list(model.sources).index(DRUMS)
        self.backend: SeparationBackend = backend
        # bfloat16 only where the hardware has it: emulated (avx512 without bf16) it is not expected to
        # beat float32 (not measured: this machine has it).
        self.autocast_bf16 = backend == "bf16" and (device != "cpu" or native_bf16())
        if backend == "bf16" and not self.autocast_bf16:
            logger.warning("this CPU has no native bfloat16: the bf16 separation backend runs float32")
        logger.info(
            "separation: %s backend, %s, overlap %s, %d torch threads",
            backend,
            "bfloat16 autocast" if self.autocast_bf16 else "float32",
            overlap,
            torch.get_num_threads(),
        )

    def _precision(self) -> contextlib.AbstractContextManager:
        if not self.autocast_bf16:
            return contextlib.nullcontext()
        return torch.autocast(self.device.split(":")[0], dtype=torch.bfloat16)

    def separate_drums(self, stereo: np.ndarray, progress: SeparationProgress | None = None) -> np.ndarray:
        """Return the drums stem of ``stereo`` ((channels, samples) at the model rate) as (2, samples)."""
        if stereo.ndim != 2 or stereo.shape[1] == 0:
            raise _failed("There is no audio to separate.", retryable=False)
        mix = torch.from_numpy(np.ascontiguousarray(stereo[: self.audio_channels], dtype=np.float32))
        if mix.shape[0] < self.audio_channels:
            mix = mix.expand(self.audio_channels, -1).contiguous()
        # Demucs was trained on standardised audio: normalise by the mono mix, undo it afterwards.
        ref = mix.mean(0)
        mean, std = float(ref.mean()), float(ref.std())
        std = std if std > 1e-8 else 1.0
        mix = (mix - mean).div_(std)  # a new buffer: ``stereo`` may share memory with ``mix``

        total = segment_passes(
            self.model, self._drums_index, mix.shape[1], overlap=self.overlap, shifts=self.shifts
        )
        done = 0

        def on_segment() -> None:
            nonlocal done
            done += 1
            if progress is not None:
                progress(min(done / total, 0.99))

        try:
            with torch.inference_mode():
                drums_tensor = separate_source(
                    self.model,
                    mix,
                    source=self._drums_index,
                    overlap=self.overlap,
                    shifts=self.shifts,
                    on_segment=on_segment,
                    device=self.device,
                    workers=self.num_workers,
                    precision=self._precision,
                )
            drums = drums_tensor.float().numpy()
            drums *= std
            drums += mean
        except (MemoryError, torch.OutOfMemoryError) as exc:
            raise _failed(
                "Drum separation ran out of memory. The job will be retried; a shorter song also helps.",
                retryable=True,
            ) from exc
        except TranscriptionError:
            raise
        except Exception as exc:
            raise _failed(f"Drum separation failed: {exc}", retryable=True) from exc
        if not np.all(np.isfinite(drums)):
            raise _failed("Drum separation produced invalid audio for this song.", retryable=False)
        if progress is not None:
            progress(1.0)
        if drums.shape[0] == 1:
            drums = np.repeat(drums, 2, axis=0)
        return drums
