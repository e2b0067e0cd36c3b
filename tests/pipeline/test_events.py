"""events.json: every hit before quantization, with its place after, its class, loudness and articulation."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from groovesheet_worker.pipeline.events import write_events
from groovesheet_worker.pipeline.quantize import place_hits
from groovesheet_worker.pipeline.types import INSTRUMENTS, Hit, TempoGrid

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT.parent / "shared" / "tools"  # adt_eval.py, the scorer `make eval` runs

GRID = TempoGrid(bpm=120.0, beats=tuple(i * 0.5 for i in range(40)), downbeat=0, beats_per_bar=4, beat_unit=4)
# Each instrument's evaluation class and General MIDI note, by hand from the issue and NOTATION.md.
CLASS_AND_NOTE = {
    "kick": ("kick", 36),
    "snare": ("snare", 38),
    "cross_stick": ("snare", 37),
    "hihat_closed": ("hihat", 42),
    "hihat_open": ("hihat", 46),
    "hihat_pedal": ("hihat", 44),
    "ride": ("cymbals", 51),
    "ride_bell": ("cymbals", 53),
    "crash": ("cymbals", 49),
    "tom_high": ("toms", 50),
    "tom_mid": ("toms", 47),
    "tom_floor": ("toms", 43),
}


def written(tmp_path: Path, hits: list[Hit]) -> dict:
    write_events(hits, place_hits(hits, GRID), GRID, tmp_path / "events.json")
    return json.loads((tmp_path / "events.json").read_text())


def test_every_hit_with_time_instrument_confidence_and_position(tmp_path: Path) -> None:
    hits = [
        Hit(0.01, "kick", 0.9),
        Hit(0.0, "crash", 0.8),
        Hit(0.26, "hihat_closed", 0.5),
        Hit(0.49, "snare", 0.4),  # a flam: merged on the sheet, still an event
        Hit(0.51, "snare", 0.9),
        Hit(2.0 + 0.5 / 3, "tom_mid", 0.7),
        Hit(3.0, "ride", 0.6),
    ]
    document = written(tmp_path, hits)
    assert document["bpm"] == 120.0 and document["time_signature"] == "4/4"
    assert document["alternative_bpm"] is None
    events = document["events"]
    assert len(events) == len(hits) == len(place_hits(hits, GRID)) + 1
    assert [e["time"] for e in events] == sorted(h.time for h in hits)
    assert {e["instrument"] for e in events} <= set(INSTRUMENTS)
    by_time = {e["time"]: e for e in events}
    assert by_time[0.01] == {
        "time": 0.01,
        "instrument": "kick",
        "class": "kick",
        "note": 36,
        "velocity": None,
        "articulation": "normal",
        "confidence": 0.9,
        "bar": 1,
        "beat": 1.0,
    }
    assert (by_time[0.26]["beat"], by_time[0.26]["note"], by_time[0.26]["class"]) == (1.5, 42, "hihat")
    assert by_time[0.49]["beat"] == by_time[0.51]["beat"] == 2.0
    assert by_time[2.0 + 0.5 / 3]["bar"] == 2
    assert by_time[2.0 + 0.5 / 3]["beat"] == round(1 + 1 / 3, 4)
    assert by_time[2.0 + 0.5 / 3]["class"] == "toms"
    assert (by_time[3.0]["bar"], by_time[3.0]["beat"], by_time[3.0]["note"]) == (2, 3.0, 51)
    assert (by_time[0.0]["note"], by_time[0.0]["class"]) == (49, "cymbals")


def test_the_alternative_tempo_is_written_beside_the_tempo(tmp_path: Path) -> None:
    grid = replace(GRID, alternative_bpm=60.0)
    write_events(
        [Hit(0.0, "kick", 0.9)], place_hits([Hit(0.0, "kick", 0.9)], grid), grid, tmp_path / "e.json"
    )
    document = json.loads((tmp_path / "e.json").read_text())
    assert (document["bpm"], document["alternative_bpm"]) == (120.0, 60.0)


def test_every_instrument_has_its_class_and_note(tmp_path: Path) -> None:
    hits = [Hit(k * 0.25, name, 0.9) for k, name in enumerate(INSTRUMENTS)]
    events = written(tmp_path, hits)["events"]
    assert {e["instrument"]: (e["class"], e["note"]) for e in events} == CLASS_AND_NOTE
    # Without loudness: no velocity, and only the instrument's own articulations.
    assert all(e["velocity"] is None for e in events)
    assert {e["instrument"]: e["articulation"] for e in events if e["articulation"] != "normal"} == {
        "hihat_open": "open",
        "hihat_pedal": "pedal",
    }


def test_velocity_and_articulation_follow_the_sheet(tmp_path: Path) -> None:
    hits = [Hit(k * 0.25, "hihat_closed", 0.9, 120 if k == 0 else 75) for k in range(7)]
    hits += [Hit(1.75, "hihat_open", 0.9, 110), Hit(1.0, "hihat_pedal", 0.9, 60)]
    hits += [Hit(0.5, "snare", 0.9, 100), Hit(1.5, "snare", 0.9, 100), Hit(0.875, "snare", 0.9, 35)]
    hits += [Hit(0.0, "kick", 0.9, 110), Hit(1.0, "kick", 0.9, 110), Hit(1.375, "kick", 0.9, 40)]
    events = written(tmp_path, hits)["events"]
    got = {(e["time"], e["instrument"]): (e["velocity"], e["articulation"]) for e in events}
    assert got[(0.0, "hihat_closed")] == (120, "accent")
    assert got[(0.25, "hihat_closed")] == (75, "normal")
    assert got[(1.75, "hihat_open")] == (110, "open")
    assert got[(1.0, "hihat_pedal")] == (60, "pedal")
    assert got[(0.875, "snare")] == (35, "ghost")
    assert got[(0.5, "snare")] == (100, "normal")
    assert got[(1.375, "kick")] == (40, "ghost")
    assert {e["articulation"] for e in events} == {"normal", "accent", "open", "pedal", "ghost"}


def test_a_hit_merged_away_is_judged_against_the_sheet(tmp_path: Path) -> None:
    """A flam's soft first stroke is not on the sheet; in the events it is a ghost note by its bar."""
    hits = [Hit(0.5, "snare", 0.9, 100), Hit(1.5, "snare", 0.9, 100), Hit(0.49, "snare", 0.3, 30)]
    events = written(tmp_path, hits)["events"]
    assert [(e["time"], e["velocity"], e["articulation"], e["beat"]) for e in events] == [
        (0.49, 30, "ghost", 2.0),
        (0.5, 100, "normal", 2.0),
        (1.5, 100, "normal", 4.0),
    ]


def test_no_hits(tmp_path: Path) -> None:
    write_events([], [], GRID, tmp_path / "events.json")
    assert json.loads((tmp_path / "events.json").read_text())["events"] == []


def test_make_eval_scores_every_instrument_by_its_class(tmp_path: Path) -> None:
    """bench/eval_mdb.py hands adt_eval class names: no hit of the new vocabulary is ignored."""
    if not (TOOLS / "adt_eval.py").exists():
        pytest.skip(f"{TOOLS / 'adt_eval.py'} not found")
    from bench import eval_mdb

    adt_eval = eval_mdb.load_adt_eval(TOOLS)
    hits = [Hit(k * 0.25, name, 0.9, 90) for k, name in enumerate(INSTRUMENTS)]
    write_events(hits, place_hits(hits, GRID), GRID, tmp_path / "events.json")
    expected = {"kick": 1, "snare": 2, "hihat": 3, "toms": 3, "cymbals": 3}
    # The whole pipeline's events.json, as `make eval` copies it ...
    eval_mdb.write_scored_events(tmp_path / "pipeline" / "Track.json", tmp_path / "events.json")
    # ... and the hits-only path's own file.
    eval_mdb.write_events(tmp_path / "hits" / "Track.json", hits)
    for scored in (tmp_path / "pipeline" / "Track.json", tmp_path / "hits" / "Track.json"):
        estimated, ignored = adt_eval.load_json_events(scored)
        assert not ignored, ignored
        assert {name: len(times) for name, times in estimated.items()} == expected
    # The scored file keeps the rest of each event.
    events = json.loads((tmp_path / "pipeline" / "Track.json").read_text())["events"]
    assert Counter(e["note"] for e in events) == Counter(e["note"] for e in written_events(tmp_path))


def written_events(tmp_path: Path) -> list[dict]:
    return json.loads((tmp_path / "events.json").read_text())["events"]
