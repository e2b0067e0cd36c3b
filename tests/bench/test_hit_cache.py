"""make eval-notation's caches: the hit model runs once per drum track and weights, and Demucs once
per mix and separation backend."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.eval_notation import CachedHitFinder, CachedSeparator
from groovesheet_worker.pipeline.types import Hit


class CountingFinder:
    def __init__(self) -> None:
        self.calls = 0

    def prepare(self, drums, sr, bpm_hint=None):
        return float(np.abs(drums).sum()), bpm_hint

    def classify(self, prepared) -> list[Hit]:
        self.calls += 1
        level, _ = prepared
        return [Hit(0.5, "snare", 0.75, 90), Hit(1.0, "kick", round(level, 3), None)]


def test_found_hits_are_read_back_from_the_cache(tmp_path: Path) -> None:
    finder = CountingFinder()
    cached = CachedHitFinder(finder, "hitnet-aaaa", tmp_path, hint_matters=False)
    drums = np.linspace(-0.5, 0.5, 1000, dtype=np.float32)
    first = cached.classify(cached.prepare(drums, 44100, None))
    again = cached.classify(cached.prepare(drums, 44100, 120.0))  # HitNet does not use the hint
    assert again == first and finder.calls == 1
    # Another drum track, or other weights, run the model again.
    cached.classify(cached.prepare(drums * 0.5, 44100))
    CachedHitFinder(finder, "hitnet-bbbb", tmp_path, hint_matters=False).classify((drums, 44100, None))
    assert finder.calls == 3


def test_a_finder_that_uses_the_hint_is_cached_per_hint(tmp_path: Path) -> None:
    finder = CountingFinder()
    cached = CachedHitFinder(finder, "annoteator", tmp_path, hint_matters=True)
    drums = np.ones(100, dtype=np.float32)
    cached.classify(cached.prepare(drums, 44100, None))
    cached.classify(cached.prepare(drums, 44100, 96.0))
    cached.classify(cached.prepare(drums, 44100, 96.0))
    assert finder.calls == 2


class CountingSeparator:
    sample_rate = 44100

    def __init__(self, backend: str, overlap: float) -> None:
        self.backend, self.overlap, self.shifts, self.autocast_bf16 = backend, overlap, 1, True
        self.calls = 0

    def separate_drums(self, stereo):
        self.calls += 1
        return stereo * 0.5


def test_stems_are_cached_per_separation_backend(tmp_path: Path) -> None:
    stereo = np.ones((2, 100), dtype=np.float32)
    reference, fast = CountingSeparator("torch", 0.25), CountingSeparator("bf16", 0.1)
    for _ in range(2):
        CachedSeparator(reference, tmp_path).separate_drums(stereo)
        CachedSeparator(fast, tmp_path).separate_drums(stereo)
    assert reference.calls == 1 and fast.calls == 1
