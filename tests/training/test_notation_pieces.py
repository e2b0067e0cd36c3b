"""Pieces with a known score: the strokes are where the score says, bars and pickups included."""

from __future__ import annotations

import numpy as np
import pytest

from training.arrange import gmd_entries
from training.notation_grooves import GROOVES, GROOVES_BY_STYLE
from training.notation_pieces import beats_per_pulse, generated_piece, gmd_piece, kit_map, render_piece
from training.synth_kit import synth_kit


def grid_offsets(piece, divisions: tuple[int, ...] = (4, 3)) -> np.ndarray:
    """Each stroke's distance (seconds) from the nearest 16th or triplet of the true beats."""
    beats = np.asarray(piece.score.beats)
    times = np.array([s.time for s in piece.performance.strokes])
    k = np.clip(np.searchsorted(beats, times) - 1, 0, len(beats) - 2)
    fraction = (times - beats[k]) / (beats[k + 1] - beats[k])
    best = np.min([np.abs(fraction * d - np.round(fraction * d)) / d for d in divisions], axis=0)
    return best * (beats[k + 1] - beats[k])


@pytest.mark.parametrize("groove", GROOVES, ids=lambda g: g.style)
def test_generated_strokes_sit_on_the_true_grid(groove) -> None:
    piece = generated_piece(groove, np.random.default_rng(3))
    divisions = (2,) if groove.beat_unit == 8 else (4, 3)
    assert np.percentile(grid_offsets(piece, divisions), 95) < 0.03
    score = piece.score
    assert score.time_signature == groove.time_signature
    assert groove.bpm_range[0] - 0.5 <= score.bpm <= groove.bpm_range[1] + 0.5
    # Bar 1's downbeat has a kick (and a crash, whenever the arrangement opens with one).
    bar_one = score.beats[score.downbeat]
    assert any(s.cls == "kick" and abs(s.time - bar_one) < 0.04 for s in piece.performance.strokes)


def test_a_pickup_is_played_before_bar_one() -> None:
    piece = generated_piece(GROOVES_BY_STYLE["rock"], np.random.default_rng(5), pickup=True)
    score = piece.score
    bar_one = score.beats[score.downbeat]
    assert score.pickup_beats in (1, 2)
    early = [s for s in piece.performance.strokes if s.time < bar_one - 0.04]
    assert early and min(s.time for s in early) >= score.beats[score.downbeat - score.pickup_beats] - 0.04
    assert any(s.cls == "crash" and abs(s.time - bar_one) < 0.04 for s in piece.performance.strokes)


def test_compound_pickups_are_one_pulse() -> None:
    piece = generated_piece(GROOVES_BY_STYLE["6/8"], np.random.default_rng(6), pickup=True)
    assert piece.score.pickup_beats == 3 == beats_per_pulse("6/8")


def test_a_drifting_piece_moves_by_a_section() -> None:
    piece = generated_piece(GROOVES_BY_STYLE["waltz"], np.random.default_rng(7), drift=True)
    tempi = 60.0 / np.diff(piece.score.beats)
    first, last = np.median(tempi[:6]), np.median(tempi[-10:])
    assert 0.05 < abs(last / first - 1.0) < 0.11
    assert piece.score.bpm == pytest.approx(first, rel=0.001)  # the main tempo is the longer section's


def test_gmd_excerpts_start_on_a_bar_line() -> None:
    entry = next(e for e in gmd_entries("test") if e.beat_type == "beat" and e.beats_per_bar == 4)
    piece = gmd_piece(entry, np.random.default_rng(8), 12.0, varied=False)
    score = piece.score
    assert score.beats[score.downbeat] == 0.0
    assert score.time_signature == "4/4"
    assert np.median(np.diff(score.beats)) == pytest.approx(60.0 / entry.bpm)
    assert all(0.0 <= s.time < piece.performance.duration for s in piece.performance.strokes)


def test_rendering_is_deterministic_and_as_long_as_the_piece() -> None:
    piece = generated_piece(GROOVES_BY_STYLE["shuffle"], np.random.default_rng(9))
    kit = synth_kit(11)
    first = render_piece(piece, kit_map(kit, kit), np.random.default_rng(1))
    again = render_piece(piece, kit_map(kit, kit), np.random.default_rng(1))
    assert np.array_equal(first, again)
    assert len(first) / 44100 == pytest.approx(piece.performance.duration + 1.0, abs=0.01)
