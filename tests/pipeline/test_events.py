"""events.json: every hit before quantization, with its place after."""

from __future__ import annotations

import json
from pathlib import Path

from groovesheet_worker.pipeline.events import write_events
from groovesheet_worker.pipeline.quantize import place_hits
from groovesheet_worker.pipeline.types import INSTRUMENTS, Hit, TempoGrid

GRID = TempoGrid(bpm=120.0, beats=tuple(i * 0.5 for i in range(40)), downbeat=0, beats_per_bar=4, beat_unit=4)


def test_every_hit_with_time_instrument_confidence_and_position(tmp_path: Path) -> None:
    hits = [
        Hit(0.01, "kick", 0.9),
        Hit(0.0, "crash", 0.8),
        Hit(0.26, "hihat", 0.5),
        Hit(0.49, "snare", 0.4),  # a flam: merged on the sheet, still an event
        Hit(0.51, "snare", 0.9),
        Hit(2.0 + 0.5 / 3, "tom", 0.7),
        Hit(3.0, "ride", 0.6),
    ]
    placed = place_hits(hits, GRID)
    write_events(hits, placed, GRID, tmp_path / "events.json")
    document = json.loads((tmp_path / "events.json").read_text())
    assert document["bpm"] == 120.0 and document["time_signature"] == "4/4"
    events = document["events"]
    assert len(events) == len(hits) == len(placed) + 1
    assert [e["time"] for e in events] == sorted(h.time for h in hits)
    assert {e["instrument"] for e in events} <= set(INSTRUMENTS)
    by_time = {e["time"]: e for e in events}
    assert by_time[0.01] == {
        "time": 0.01,
        "instrument": "kick",
        "confidence": 0.9,
        "bar": 1,
        "beat": 1.0,
        "note": 36,
    }
    assert (by_time[0.26]["beat"], by_time[0.26]["note"]) == (1.5, 42)
    assert by_time[0.49]["beat"] == by_time[0.51]["beat"] == 2.0
    assert by_time[2.0 + 0.5 / 3]["bar"] == 2
    assert by_time[2.0 + 0.5 / 3]["beat"] == round(1 + 1 / 3, 4)
    assert (by_time[3.0]["bar"], by_time[3.0]["beat"], by_time[3.0]["note"]) == (2, 3.0, 51)
    assert by_time[0.0]["note"] == 49


def test_no_hits(tmp_path: Path) -> None:
    write_events([], [], GRID, tmp_path / "events.json")
    assert json.loads((tmp_path / "events.json").read_text())["events"] == []
