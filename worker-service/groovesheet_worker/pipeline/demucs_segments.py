"""One Demucs source of a whole song, segment by segment, without holding the other stems.

``separate_source`` computes exactly what ``demucs.apply.apply_model(model, mix, shifts, split=True,
overlap)`` returns for one source (tests compare them sample for sample): the same random shifts
(drawn from Python's ``random`` in the same order), the same segment offsets, the same context
padding around each segment and the same triangular cross-fade weights. What differs is what it
keeps: ``apply_model`` holds all four stems of its whole input (4 x 2 x samples float32 and a copy
per shift, 1.7 GB for a 10-minute song), so the song used to be cut into 60 s windows, and every
window paid for a partly empty last segment (at overlap 0.1, 29 segment passes for a 3-minute song
instead of 26).
Here only the wanted source is accumulated, so the song is one piece and its memory is two
song-length stereo buffers.
"""

from __future__ import annotations

import contextlib
import math
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import torch
import torch.nn.functional as F
from demucs.apply import BagOfModels
from demucs.utils import center_trim

# Called once after each segment pass.
SegmentDone = Callable[[], None]
# Entered around each model call: torch.autocast and inference_mode are per thread, so a pool
# thread must enter them itself.
Precision = Callable[[], contextlib.AbstractContextManager]
# apply_model's random time shift: up to half a second.
MAX_SHIFT_SECONDS = 0.5


def sub_models(model: torch.nn.Module, source: int) -> list[tuple[torch.nn.Module, float]]:
    """(model, weight of ``source``) for each model of a bag, or for a single model."""
    if isinstance(model, BagOfModels):
        return [
            (sub, float(weights[source])) for sub, weights in zip(model.models, model.weights, strict=True)
        ]
    return [(model, 1.0)]


def segment_passes(model: torch.nn.Module, source: int, samples: int, *, overlap: float, shifts: int) -> int:
    """How many segment passes ``separate_source`` runs for ``samples`` (for progress fractions)."""
    total = 0
    for sub, weight in sub_models(model, source):
        if weight == 0.0:
            continue
        stride = _stride(sub, overlap)
        # A shifted pass separates up to MAX_SHIFT_SECONDS more than the song: count the longest.
        length = samples + (_max_shift(sub) if shifts else 0)
        total += max(1, shifts) * math.ceil(length / stride)
    return total


def separate_source(
    model: torch.nn.Module,
    mix: torch.Tensor,
    *,
    source: int,
    overlap: float,
    shifts: int,
    on_segment: SegmentDone | None = None,
    device: str = "cpu",
    workers: int = 1,
    precision: Precision = contextlib.nullcontext,
) -> torch.Tensor:
    """Source ``source`` of ``mix`` ((channels, samples), already normalised) as (channels, samples).

    The model runs on ``device`` inside ``precision()``; ``mix`` and the result stay where ``mix``
    is. ``workers`` > 1 runs that many segments at once in threads (apply_model's ``num_workers``).
    """
    runner = _SegmentRunner(source, on_segment, device, workers, precision)
    try:
        # In place throughout: for a 10-minute song each stereo buffer is 0.2 GB.
        estimate: torch.Tensor | None = None
        total_weight = 0.0
        for sub, weight in sub_models(model, source):
            if weight == 0.0:
                # Not needed for this source (htdemucs_ft's specialists): skip it, but draw its
                # shifts so the models after it get the ones apply_model would give them.
                for _ in range(shifts):
                    random.randint(0, _max_shift(sub))
                continue
            part = _separate_shifted(sub, mix, overlap, shifts, runner).mul_(weight)
            estimate = part if estimate is None else estimate.add_(part)
            total_weight += weight
        if estimate is None:
            raise ValueError(f"no model of the bag separates source {source}")
        return estimate.div_(total_weight)
    finally:
        runner.close()


def _max_shift(model: torch.nn.Module) -> int:
    return int(MAX_SHIFT_SECONDS * model.samplerate)


def _segment_length(model: torch.nn.Module) -> int:
    return int(model.samplerate * float(model.segment))


def _stride(model: torch.nn.Module, overlap: float) -> int:
    return max(1, int((1 - overlap) * _segment_length(model)))


class _SegmentRunner:
    """Runs the model on padded segments (in a thread pool when ``workers`` > 1), keeping one source."""

    def __init__(
        self, source: int, on_segment: SegmentDone | None, device: str, workers: int, precision: Precision
    ) -> None:
        self.source = source
        self.on_segment = on_segment
        self.device = device
        self.workers = max(1, workers)
        self.precision = precision
        self._lock = threading.Lock()
        self._pool = (
            ThreadPoolExecutor(self.workers, thread_name_prefix="demucs") if self.workers > 1 else None
        )

    def run(self, model: torch.nn.Module, pieces: list[torch.Tensor]) -> list[torch.Tensor]:
        """The source for each piece, in order; ``workers`` pieces at a time."""
        if self._pool is None:
            return [self._one(model, piece) for piece in pieces]
        return list(self._pool.map(lambda piece: self._one(model, piece), pieces))

    def _one(self, model: torch.nn.Module, piece: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode(), self.precision():
            separated = model(piece[None].to(self.device))[0, self.source].to(piece.device)
        if self.on_segment is not None:
            with self._lock:
                self.on_segment()
        return separated

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def _separate_shifted(
    model: torch.nn.Module,
    mix: torch.Tensor,
    overlap: float,
    shifts: int,
    runner: _SegmentRunner,
) -> torch.Tensor:
    """apply_model's ``shifts`` branch: average passes over the song moved by random offsets."""
    samples = mix.shape[-1]
    if not shifts:
        return _separate_split(model, mix, 0, samples, overlap, runner)
    # apply_model pads the song with max_shift zeros on each side and starts a random offset into
    # that; reading segments at (offset - max_shift) from the song gives the same samples unpadded.
    max_shift = _max_shift(model)
    out: torch.Tensor | None = None
    for _ in range(shifts):
        offset = random.randint(0, max_shift)
        part = _separate_split(model, mix, offset - max_shift, samples + max_shift - offset, overlap, runner)
        part = part[..., max_shift - offset :]
        out = part if out is None else out.add_(part)
    assert out is not None
    return out.div_(shifts) if shifts > 1 else out


def _separate_split(
    model: torch.nn.Module,
    audio: torch.Tensor,
    start: int,
    length: int,
    overlap: float,
    runner: _SegmentRunner,
) -> torch.Tensor:
    """apply_model's ``split`` branch on ``audio[..., start:start + length]``, keeping one source.

    ``start`` may be negative and the span may reach past the end: samples outside ``audio`` are
    zeros. Each segment reads its context padding from ``audio`` around it (zeros beyond it), as
    demucs' TensorChunk.padded does, and is weighted by a triangle peaking in its middle.
    """
    segment = _segment_length(model)
    stride = _stride(model, overlap)
    half = segment // 2
    weight = torch.cat([torch.arange(1, half + 1), torch.arange(segment - half, 0, -1)]).to(audio.dtype)
    weight = weight / weight.max()
    out = torch.zeros(audio.shape[0], length, dtype=audio.dtype)
    sum_weight = torch.zeros(length, dtype=audio.dtype)
    valid_length = getattr(model, "valid_length", None)
    offsets = list(range(0, length, stride))
    for first_index in range(0, len(offsets), runner.workers):
        batch = offsets[first_index : first_index + runner.workers]
        chunks = [min(segment, length - offset) for offset in batch]
        pieces = []
        for offset, chunk in zip(batch, chunks, strict=True):
            target = valid_length(chunk) if valid_length is not None else chunk
            pieces.append(_read_padded(audio, start + offset - (target - chunk) // 2, target))
        for offset, chunk, separated in zip(batch, chunks, runner.run(model, pieces), strict=True):
            separated = center_trim(separated, chunk).to(audio.dtype)
            out[:, offset : offset + chunk] += weight[:chunk] * separated
            sum_weight[offset : offset + chunk] += weight[:chunk]
    return out.div_(sum_weight)


def _read_padded(audio: torch.Tensor, first: int, length: int) -> torch.Tensor:
    """``audio[..., first:first + length]`` with zeros where that reaches outside ``audio``."""
    lo, hi = max(0, first), min(audio.shape[-1], first + length)
    return F.pad(audio[..., lo:hi], (lo - first, first + length - hi))
