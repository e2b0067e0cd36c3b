"""The reading benchmark's long song: copies of a piece cut to whole bars, its hits moved with them."""

from __future__ import annotations

import numpy as np
import pytest

from bench.bench_reading import looped
from groovesheet_worker.pipeline.constants import SAMPLE_RATE
from groovesheet_worker.pipeline.types import Hit


def test_copies_are_whole_bars_and_each_carries_the_pieces_hits() -> None:
    bar = 4 * 60.0 / 120.0  # 2 s bars at 120 bpm
    drums = np.ones(int(9.3 * SAMPLE_RATE), dtype=np.float32)  # 4.65 bars: 5 bars (10 s) a copy
    hits = [Hit(0.0, "kick", 0.9, 100), Hit(1.0, "snare", 0.8, 90), Hit(10.5, "snare", 0.8, 90)]
    audio, long_hits = looped(drums, hits, 120.0, 4, copies=3)
    assert len(audio) == 3 * int(5 * bar * SAMPLE_RATE)
    # The hit past the cut is dropped; the others repeat one span later each time.
    assert [h.time for h in long_hits] == pytest.approx([0.0, 1.0, 10.0, 11.0, 20.0, 21.0])
    assert [h.instrument for h in long_hits] == ["kick", "snare"] * 3
