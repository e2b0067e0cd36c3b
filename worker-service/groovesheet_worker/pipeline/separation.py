"""Separate the drums from a mix with Demucs: the model is loaded once, only the drums stem is kept.

Two backends run the same htdemucs weights through the same segmenting code (demucs.apply):

* ``torch``: float32, the reference (what plain ``demucs`` computes); overlap ``DEMUCS_OVERLAP``.
* ``bf16``: the model under torch's CPU bfloat16 autocast (convolutions, the transformer's matrix
  products and attention run in bfloat16 on oneDNN; the STFT, iSTFT and normalisation stay float32),
  with segment overlap ``SEPARATION_FAST_OVERLAP`` (0.1, the value the Demucs authors call "probably
  enough"). On a CPU without native bfloat16 (avx512_bf16 or AMX) it runs float32 with that overlap.
  ``make bench`` measures both on the same file; README "Speed" has the numbers.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import math
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import torch
from demucs.apply import BagOfModels, apply_model
from demucs.pretrained import get_model

from groovesheet_shared.errors import TranscriptionError

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
# Long songs are separated in windows of this length, cross-faded over WINDOW_OVERLAP_SECONDS:
# apply_model holds all four stems of its whole input (4 x 2 x samples float32, plus a copy per
# shift), which for a 10-minute song alone is 1.7 GB; per window it stays near 0.2 GB.
WINDOW_SECONDS = 60.0
WINDOW_OVERLAP_SECONDS = 2.0


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
        self.model = model
        self.model_name = model_name
        self.device = device
        self.shifts = shifts
        self.overlap = overlap
        self.num_workers = num_workers
        self.sample_rate: int = int(model.samplerate)
        self.audio_channels: int = int(model.audio_channels)
        self._drums_index = list(model.sources).index(DRUMS)
        # A pool of one thread runs segments one after another, exactly like no pool, but costs
        # ~0.5 GB more peak RSS (measured, 30 s of htdemucs): only use a pool for real parallelism.
        self._pool_workers = num_workers if num_workers > 1 and device == "cpu" else 0
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

    def _segment_count(self, samples: int) -> int:
        """How many segment passes apply_model will run, to turn 'segment finished' into a fraction."""
        models = self.model.models if isinstance(self.model, BagOfModels) else [self.model]
        total = 0
        for model in models:
            segment = float(model.segment)
            stride = max(1, int((1 - self.overlap) * int(self.sample_rate * segment)))
            # A shifted pass separates up to half a second more than the song.
            length = samples + (int(0.5 * self.sample_rate) if self.shifts else 0)
            total += max(1, self.shifts) * math.ceil(length / stride)
        return total

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
        mix = (mix - mean) / std

        windows = _windows(
            mix.shape[1],
            int(WINDOW_SECONDS * self.sample_rate),
            int(WINDOW_OVERLAP_SECONDS * self.sample_rate),
        )
        total = sum(self._segment_count(end - start) for start, end in windows)
        done = 0
        lock = threading.Lock()

        def on_segment(info: dict) -> None:
            nonlocal done
            if info.get("state") != "end" or progress is None:
                return
            with lock:
                done += 1
                fraction = min(done / total, 0.99)
            progress(fraction)

        drums = np.zeros((mix.shape[0], mix.shape[1]), dtype=np.float32)
        try:
            for start, end in windows:
                with torch.inference_mode(), self._precision():
                    sources = apply_model(
                        self.model,
                        mix[None, :, start:end],
                        shifts=self.shifts,
                        split=True,
                        overlap=self.overlap,
                        device=self.device,
                        num_workers=self._pool_workers,
                        progress=False,
                        callback=on_segment,
                    )
                part = sources[0, self._drums_index].float().cpu().numpy()
                del sources
                drums[:, start:end] += part * _crossfade(start, end, windows)
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
        _release_freed_memory()
        if not np.all(np.isfinite(drums)):
            raise _failed("Drum separation produced invalid audio for this song.", retryable=False)
        if progress is not None:
            progress(1.0)
        if drums.shape[0] == 1:
            drums = np.repeat(drums, 2, axis=0)
        return drums


def _windows(samples: int, window: int, overlap: int) -> list[tuple[int, int]]:
    """(start, end) of windows covering ``samples``, each overlapping the next by ``overlap``."""
    if samples <= window:
        return [(0, samples)]
    step = window - overlap
    starts = list(range(0, samples - overlap, step))
    return [(start, min(start + window, samples)) for start in starts]


def _crossfade(start: int, end: int, windows: list[tuple[int, int]]) -> np.ndarray:
    """Weights for one window: linear ramps where it overlaps its neighbours, summing to 1 there."""
    weight = np.ones(end - start, dtype=np.float32)
    for other_start, other_end in windows:
        if other_end <= start or other_start >= end or (other_start, other_end) == (start, end):
            continue
        lo, hi = max(start, other_start), min(end, other_end)
        ramp = np.linspace(0.0, 1.0, hi - lo + 2, dtype=np.float32)[1:-1]
        # Fade in where the previous window ends, fade out where the next one begins.
        weight[lo - start : hi - start] *= ramp if other_start < start else ramp[::-1]
    return weight


def _release_freed_memory() -> None:
    """Hand the separation's freed buffers back to the OS (glibc keeps them otherwise).

    Measured: RSS after separating 37 s drops from 897 to 460 MB, so the later stages of a long
    song do not stack their peak on top of Demucs' leftovers.
    """
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)
