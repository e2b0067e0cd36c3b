"""SoundFont kits: every one-shot is its own stroke, cut where it sounds (training.sources)."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from tests.kit_checks import one_shots_that_are_silent_or_start_late
from training.classes import GM_NOTES
from training.kit import SAMPLE_RATE
from training.sources import FLUID_R3, SOUNDFONT_VELOCITIES, fluid_kits, soundfont_kit

# Classes whose strokes ring well beyond 0.1 s in every General MIDI kit.
RINGING = ("kick", "snare", "tom_high", "tom_mid", "tom_floor", "crash", "ride")


@pytest.fixture(scope="module")
def standard_kit(tmp_path_factory: pytest.TempPathFactory):
    spec = next(s for s in fluid_kits(FLUID_R3) if s.name == "fluidr3-standard")
    return soundfont_kit(spec, tmp_path_factory.mktemp("kits"))


def test_every_one_shot_starts_on_its_stroke_and_is_heard(standard_kit) -> None:
    assert one_shots_that_are_silent_or_start_late(standard_kit) == []


def test_ringing_drums_keep_their_ring(standard_kit) -> None:
    for cls in RINGING:
        assert all(len(s.audio) > 0.1 * SAMPLE_RATE for s in standard_kit.shots[cls]), cls


def test_each_key_gets_louder_with_velocity(standard_kit) -> None:
    """Shots are in rendering order: a key's velocities in turn, so a stroke cut from the wrong place
    (another key, another velocity) breaks the rise."""
    for cls in ("kick", "snare", "hihat_closed", "tom_high"):
        peaks = [float(np.abs(s.audio).max()) for s in standard_kit.shots[cls]]
        per_key = len(SOUNDFONT_VELOCITIES)
        assert len(peaks) == per_key * len(GM_NOTES[cls])
        for start in range(0, len(peaks), per_key):
            key = peaks[start : start + per_key]
            assert all(b >= a * 0.95 for a, b in pairwise(key)), (cls, key)


def test_the_cache_is_read_back(standard_kit, tmp_path: Path) -> None:
    spec = next(s for s in fluid_kits(FLUID_R3) if s.name == "fluidr3-standard")
    first = soundfont_kit(spec, tmp_path)
    (cached,) = tmp_path.glob("*.npz")
    again = soundfont_kit(spec, tmp_path)
    assert cached.exists()
    assert [len(s.audio) for s in again.shots["kick"]] == [len(s.audio) for s in first.shots["kick"]]
