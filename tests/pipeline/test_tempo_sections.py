"""Tempo sections: a steady song has one tempo, a section that moves by more than 4 % is written."""

from __future__ import annotations

import numpy as np
import pytest

from groovesheet_worker.pipeline.tempo_sections import tempo_sections
from groovesheet_worker.pipeline.types import TempoChange


def bars_at(*sections: tuple[int, float]) -> np.ndarray:
    """Beats (4/4) of consecutive sections of (bars, bpm)."""
    lengths = np.concatenate([np.full(bars * 4, 60.0 / bpm) for bars, bpm in sections])
    return np.concatenate([[0.0], np.cumsum(lengths)])


def test_a_steady_song_has_no_tempo_change() -> None:
    beats = bars_at((12, 100.0))
    main, changes = tempo_sections(beats, 0, 4, 1, (0.0, beats[-1]))
    assert main == pytest.approx(100.0)
    assert changes == ()


def test_a_faster_section_is_written_and_the_return_too() -> None:
    beats = bars_at((8, 100.0), (4, 110.0), (8, 100.0))
    main, changes = tempo_sections(beats, 0, 4, 1, (0.0, beats[-1]))
    assert main == pytest.approx(100.0)
    assert [c.bar for c in changes] == [9, 13]
    assert changes[0].bpm == pytest.approx(110.0, abs=0.1)
    assert changes[1] == TempoChange(13, main)


def test_one_odd_bar_or_a_small_move_is_not_a_section() -> None:
    beats = bars_at((6, 100.0), (1, 112.0), (6, 100.0), (6, 103.0))
    _, changes = tempo_sections(beats, 0, 4, 1, (0.0, beats[-1]))
    assert changes == ()


def test_a_song_that_keeps_speeding_up_gets_a_mark_every_few_percent() -> None:
    beats = bars_at(*[(1, 100.0 * 1.02**k) for k in range(16)])  # 2 % faster every bar: 100 -> 135
    main, changes = tempo_sections(beats, 0, 4, 1, (0.0, beats[-1]))
    written = [(1, main)] + [(c.bar, c.bpm) for c in changes]
    for (bar, bpm), (next_bar, _) in zip(written, [*written[1:], (17, 0.0)], strict=True):
        played = [100.0 * 1.02 ** (b - 1) for b in range(bar, next_bar)]
        assert all(abs(p / bpm - 1.0) <= 0.06 for p in played)  # every bar near its mark
    assert len(changes) >= 4


def test_a_hinted_tempo_is_the_written_one() -> None:
    beats = bars_at((12, 100.0))
    main, changes = tempo_sections(beats, 0, 4, 1, (0.0, beats[-1]), main_bpm=101.0)
    assert (main, changes) == (101.0, ())


def test_compound_sections_count_dotted_quarters() -> None:
    eighths = np.arange(0, 12 * 6 + 1) * 60.0 / 210.0
    main, _ = tempo_sections(eighths, 0, 6, 3, (0.0, eighths[-1]))
    assert main == pytest.approx(70.0)
