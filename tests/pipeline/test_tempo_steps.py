"""Tempo steps: a section that jumps to another tempo is found, read on its own and joined in."""

from __future__ import annotations

import numpy as np
import pytest

from groovesheet_worker.pipeline import rhythm_constants as C
from groovesheet_worker.pipeline.pulse_evidence import SIXTEENTHS
from groovesheet_worker.pipeline.pulse_tracking import even_pulses, median_bpm
from groovesheet_worker.pipeline.rhythm_analysis import analyse
from groovesheet_worker.pipeline.tempo_steps import first_lost_pulse, follow_tempo_steps, section_analysis
from groovesheet_worker.pipeline.types import Hit
from tests.pipeline.generated_music import SR


def eighths(start: float, period: float, count: int) -> list[Hit]:
    """A kick on each pulse and a hi-hat on each pulse and "and", from ``start``."""
    hits = []
    for k in range(count):
        t = start + k * period
        hits += [
            Hit(t, "kick", 0.9, 100),
            Hit(t, "hihat_closed", 0.9, 80),
            Hit(t + period / 2, "hihat_closed", 0.9, 80),
        ]
    return hits


def stepping_song() -> tuple[list[Hit], float]:
    """32 pulses at 100 bpm, then 24 at 75: the hits and the time of the step."""
    first = eighths(0.5, 0.6, 32)
    step = 0.5 + 32 * 0.6
    return first + eighths(step, 0.8, 24), step


def test_the_pulse_where_the_strokes_leave_the_grid_for_good_is_found() -> None:
    hits, step = stepping_song()
    analysis = analyse(np.zeros(0, dtype=np.float32), SR, hits)
    pulses = even_pulses(0.5, 0.6, 70)  # 100 bpm all through, past the end
    lost = first_lost_pulse(analysis, pulses, SIXTEENTHS)
    assert lost is not None
    assert step - C.STEP_WINDOW_PULSES * 0.6 <= pulses[lost] <= step
    steady = analyse(np.zeros(0, dtype=np.float32), SR, eighths(0.5, 0.6, 56))
    assert first_lost_pulse(steady, pulses, SIXTEENTHS) is None


def test_the_section_is_joined_where_together_they_sit_best_on_the_strokes() -> None:
    hits, step = stepping_song()
    analysis = analyse(np.zeros(0, dtype=np.float32), SR, hits)
    pulses = even_pulses(0.5, 0.6, 70)
    asked = []

    def read_section(section_of, start, bpm):
        asked.append((start, bpm))
        return even_pulses(step, 0.8, 30)  # the section's own reading: 75 bpm from the step

    followed = follow_tempo_steps(analysis, pulses, SIXTEENTHS, read_section)
    assert asked[0][1] == pytest.approx(100.0, rel=0.01)
    assert np.allclose(followed[followed < step - 0.01], pulses[pulses < step - 0.01])
    assert np.isclose(followed, step, atol=0.01).any()
    assert median_bpm(followed[followed > step]) == pytest.approx(75.0, rel=0.01)


def test_no_section_is_joined_when_its_reading_sits_no_better() -> None:
    hits, _ = stepping_song()
    analysis = analyse(np.zeros(0, dtype=np.float32), SR, hits)
    pulses = even_pulses(0.5, 0.6, 70)
    assert follow_tempo_steps(analysis, pulses, SIXTEENTHS, lambda *_: even_pulses(0.5, 0.6, 70)) is pulses
    assert follow_tempo_steps(analysis, pulses, SIXTEENTHS, lambda *_: None) is pulses


def test_a_section_is_read_from_its_start_only() -> None:
    hits, step = stepping_song()
    noise = np.random.default_rng(0).normal(0.0, 0.1, SR * 45).astype(np.float32)
    analysis = analyse(noise, SR, hits)
    section = section_analysis(analysis, step)
    assert min(s.time for s in section.strokes) >= step
    assert section.onset_envelope is not None
    assert not section.onset_envelope[: int(step * section.frame_rate)].any()
