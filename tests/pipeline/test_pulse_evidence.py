"""Pulse evidence: the backbeat on the beats outscores it on the "and"s, and unsure extra snares hardly
move where the backbeat is read."""

from __future__ import annotations

import numpy as np
import pytest

from groovesheet_worker.pipeline.pulse_evidence import SIXTEENTHS, pulse_evidence, reading_score
from groovesheet_worker.pipeline.rhythm_analysis import analyse
from groovesheet_worker.pipeline.types import Hit
from tests.pipeline.generated_music import SR


def test_backbeat_on_the_ands_scores_below_the_same_notes_on_the_beats() -> None:
    on_beats = {"grid_fit": 1.0, "fit_16ths": 1.0, "fit_triplets": 0.5, "presence": 1.0, "kick_on_pulse": 1.0}
    on_beats |= {"time_on_pulse": 1.0, "backbeat_on_pulse": 1.0, "backbeat_gap_2": 1.0}
    on_ands = on_beats | {"backbeat_on_pulse": 0.0, "backbeat_gap_2": 0.0}
    assert reading_score(on_beats, SIXTEENTHS, 110.0) > reading_score(on_ands, SIXTEENTHS, 110.0)


def _backbeat_evidence(pulses: np.ndarray, extra_snares: list[float]):
    """A kick on 1 and 3 and the snare on 2 and 4 at 100 bpm (0.6 s beats), plus unsure extra snares."""
    hits = [Hit(0.6 * k, "kick", 0.9, 100) for k in range(0, 32, 2)]
    hits += [Hit(0.6 * k, "snare", 0.9, 100) for k in range(1, 32, 2)]
    hits += [Hit(t, "snare", 0.25, 90) for t in extra_snares]
    return pulse_evidence(pulses, analyse(np.zeros(0, dtype=np.float32), SR, hits))


def test_a_few_unsure_extra_snares_hardly_move_the_backbeat_spacing() -> None:
    beats = 0.6 * np.arange(32)
    clean = _backbeat_evidence(beats, [])
    assert clean["backbeat_gap_2"] > 0.9
    assert clean["backbeat_gap_4_or_more"] == pytest.approx(0.0)
    # Every sixth pulse (a 6/8 backbeat read in eighths) is not every other one.
    sixth = _backbeat_evidence(0.2 * np.arange(96), [])
    assert sixth["backbeat_gap_2"] == pytest.approx(0.0)
    # Hi-hats misheard as snares on a few of the other beats, at a finder's low confidence.
    noisy = _backbeat_evidence(beats, [0.6 * k for k in (4, 10, 18, 26)])
    assert noisy["backbeat_gap_2"] > 0.7
    assert noisy["backbeat_gap_4_or_more"] < 0.2
    assert noisy["backbeat_gap_1"] < 0.2
    # At double the tempo the backbeat falls on every fourth pulse: a half-time feel.
    double = _backbeat_evidence(0.3 * np.arange(64), [0.6 * k for k in (4, 10, 18, 26)])
    assert double["backbeat_gap_4_or_more"] > 0.8
