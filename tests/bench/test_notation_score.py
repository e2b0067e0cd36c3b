"""The notation benchmark's scores: a sheet read back note by note, and judged against the truth."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from bench.notation_score import (
    bar_one_right,
    confusions,
    hit_counts,
    hit_f,
    notation_f,
    read_sheet,
    tempo_verdict,
    true_grid,
    true_notes,
    written_bar_one_time,
)
from groovesheet_worker.pipeline import events, musicxml, quantize
from groovesheet_worker.pipeline.types import Hit
from training.arrange import Stroke
from training.notation_grooves import GROOVES_BY_STYLE
from training.notation_pieces import generated_piece


def written(piece, tmp_path: Path, grid=None) -> tuple[Path, Path]:
    grid = grid or true_grid(piece.score)
    hits = [Hit(s.time, s.cls, 1.0, s.velocity) for s in piece.performance.strokes]
    placed = quantize.place_hits(hits, grid)
    sheet, found = tmp_path / "sheet.musicxml", tmp_path / "events.json"
    musicxml.write_musicxml(placed, grid, "t", sheet)
    events.write_events(hits, placed, grid, found)
    return sheet, found


@pytest.mark.parametrize("style", ["rock", "waltz", "6/8", "shuffle", "7/8"])
def test_the_true_sheet_scores_perfectly(style: str, tmp_path: Path) -> None:
    piece = generated_piece(GROOVES_BY_STYLE[style], np.random.default_rng(1), pickup=style == "rock")
    sheet_path, events_path = written(piece, tmp_path)
    sheet = read_sheet(sheet_path)
    truth = true_notes(piece.performance.strokes, piece.score)
    match = notation_f(sheet.notes, truth)
    assert (match.f, match.shift, match.bars_right) == (1.0, 0, match.bars_total)
    assert sheet.time_signature == piece.score.time_signature
    assert tempo_verdict(sheet.main_bpm, piece.score.bpm) == "right"
    assert bar_one_right(written_bar_one_time(events_path, piece.score.beats_per_bar), piece.score)
    assert hit_f(events_path, piece.performance.strokes)[0] == len(piece.performance.strokes)


def test_a_pickup_is_bar_zero_at_the_end_of_the_bar(tmp_path: Path) -> None:
    piece = generated_piece(GROOVES_BY_STYLE["rock"], np.random.default_rng(2), pickup=True)
    sheet = read_sheet(written(piece, tmp_path)[0])
    pickup = [n for n in sheet.notes if n[0] == 0]
    assert pickup and min(p for _, p, _ in pickup) >= 4 - piece.score.pickup_beats


def test_a_sheet_one_bar_late_loses_nothing_but_a_beat_late_loses_all(tmp_path: Path) -> None:
    truth = [(bar, Fraction(beat), "kick") for bar in range(1, 9) for beat in (0, 2)]
    truth += [(bar, Fraction(beat), "snare") for bar in range(1, 9) for beat in (1, 3)]
    late = [(bar + 1, position, name) for bar, position, name in truth]
    assert notation_f(late, truth).f == 1.0 and notation_f(late, truth).shift == -1
    beat_late = [(bar, (position + 1) % 4, name) for bar, position, name in truth]
    assert notation_f(beat_late, truth).f == 0.0


def test_bars_fully_right_count_only_exact_bars() -> None:
    truth = [(1, Fraction(0), "kick"), (1, Fraction(1), "snare"), (2, Fraction(0), "kick")]
    sheet = [(1, Fraction(0), "kick"), (1, Fraction(3, 2), "snare"), (2, Fraction(0), "kick")]
    match = notation_f(sheet, truth)
    assert (match.bars_right, match.bars_total) == (1, 2)


@pytest.mark.parametrize(
    ("written_bpm", "verdict"),
    [
        (120.0, "right"),
        (124.0, "right"),
        (126.0, "wrong"),
        (240.0, "x2"),
        (60.0, "x1/2"),
        (180.0, "x3/2"),
        (80.0, "x2/3"),
    ],
)
def test_tempo_verdicts_name_octave_errors(written_bpm: float, verdict: str) -> None:
    assert tempo_verdict(written_bpm, 120.0) == verdict


def test_bar_one_wrong_by_a_beat_is_wrong(tmp_path: Path) -> None:
    piece = generated_piece(GROOVES_BY_STYLE["rock"], np.random.default_rng(3), pickup=False)
    grid = true_grid(piece.score)
    late = replace(grid, downbeat=grid.downbeat + 1)
    _, events_path = written(piece, tmp_path, late)
    assert not bar_one_right(written_bar_one_time(events_path, 4), piece.score)
    _, events_path = written(piece, tmp_path, replace(grid, downbeat=grid.downbeat + 4))
    assert bar_one_right(written_bar_one_time(events_path, 4), piece.score)  # a whole bar later is a bar line


def test_hit_f_matches_each_instrument_within_fifty_ms(tmp_path: Path) -> None:
    strokes = [Stroke(1.0, "kick", 100), Stroke(1.5, "snare", 100), Stroke(2.0, "kick", 100)]
    path = tmp_path / "events.json"
    path.write_text(
        '{"events": [{"time": 1.03, "instrument": "kick"}, {"time": 1.5, "instrument": "kick"},'
        ' {"time": 2.07, "instrument": "kick"}]}'
    )
    assert hit_f(path, strokes) == (1, 3, 3)


def test_confusions_say_what_the_sheet_wrote_where_a_stroke_was_missed(tmp_path: Path) -> None:
    strokes = [
        Stroke(1.0, "hihat_closed", 90),  # written as a pedal hi-hat
        Stroke(1.5, "snare", 100),  # found
        Stroke(2.0, "kick", 100),  # missed, nothing there
    ]
    path = tmp_path / "events.json"
    path.write_text(
        '{"events": [{"time": 1.01, "instrument": "hihat_pedal"}, {"time": 1.51, "instrument": "snare"},'
        ' {"time": 3.0, "instrument": "crash"}]}'
    )
    assert confusions(path, strokes) == Counter(
        {("hihat_closed", "hihat_pedal"): 1, ("kick", "nothing"): 1, ("nothing", "crash"): 1}
    )
    assert hit_counts(path, strokes) == {
        "crash": (0, 1, 0),
        "hihat_closed": (0, 0, 1),
        "hihat_pedal": (0, 1, 0),
        "kick": (0, 0, 1),
        "snare": (1, 1, 1),
    }
    assert hit_f(path, strokes) == (1, 3, 3)
