"""MDB's reading check: the annotated beats as a grid, the annotated onsets as notes, and the scores."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.eval_mdb_tempo import annotated_grid, annotated_hits, as_classes, class_hit_f, read_beats
from bench.notation_score import notation_f, notes_on
from groovesheet_worker.pipeline.types import Hit


def beats_file(tmp_path: Path) -> Path:
    """Beats every half second from 1.0 s, the first two the end of a bar (3, 4), then bars of four."""
    lines = [f"{1.0 + 0.5 * i:.3f}\t{(i + 2) % 4 + 1}" for i in range(18)]
    path = tmp_path / "song.beats"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_annotated_beats_make_a_grid_with_bar_one_at_the_first_beat_one(tmp_path: Path) -> None:
    grid = annotated_grid(read_beats(beats_file(tmp_path)), end=12.0)
    assert grid.beats_per_bar == 4
    assert grid.beats[grid.downbeat] == pytest.approx(2.0)
    assert grid.bpm == pytest.approx(120.0)
    assert grid.beats[0] <= 0.0 and grid.beats[-1] >= 12.0  # the grid covers the whole recording


def test_the_annotated_onsets_are_mdbs_five_classes(tmp_path: Path) -> None:
    path = tmp_path / "song_class.txt"
    path.write_text("2.000 \t KD \n2.000 \t HH \n2.250 \t OT \n2.500 \t SD \n3.000 \t CY \n3.250 \t TT \n")
    hits = annotated_hits(path)
    assert [(h.time, h.instrument) for h in hits] == [
        (2.0, "kick"),
        (2.0, "hihat"),
        (2.5, "snare"),
        (3.0, "cymbals"),
        (3.25, "toms"),
    ]


def test_found_hits_are_written_as_the_classes_and_scored_against_the_annotated_notes(tmp_path: Path) -> None:
    grid = annotated_grid(read_beats(beats_file(tmp_path)), end=12.0)
    truth = [Hit(2.0, "kick", 1.0, 100), Hit(2.5, "snare", 1.0, 100), Hit(2.75, "hihat", 1.0, 100)]
    found = as_classes(
        [Hit(2.01, "kick", 0.9, 90), Hit(2.49, "cross_stick", 0.8, 60), Hit(2.76, "hihat_pedal", 0.7, 50)]
    )
    assert [h.instrument for h in found] == ["kick", "snare", "hihat"]
    assert notation_f(notes_on(found, grid), notes_on(truth, grid)).f == 1.0
    assert class_hit_f(found, truth) == 1.0
    # A hit 60 ms off misses the onset window but may still be written on the same 16th.
    late = [Hit(2.06, "kick", 0.9, 90), *found[1:]]
    assert class_hit_f(late, truth) == pytest.approx(2 * 2 / 6)
    assert notation_f(notes_on(late, grid), notes_on(truth, grid)).f == 1.0
