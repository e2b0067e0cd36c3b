"""Write events.json: every detected hit before quantization and where it landed (stage 7)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from groovesheet_worker.pipeline.quantize import locate_hits
from groovesheet_worker.pipeline.types import DRUM_KEY, Hit, PlacedHit, TempoGrid


def write_events(hits: Sequence[Hit], placed: Sequence[PlacedHit], grid: TempoGrid, path: str | Path) -> None:
    """events.json: {"bpm", "time_signature", "events": [{time, instrument, confidence, bar, beat, note}]}.

    ``time`` is the detected (unquantized) time in seconds; ``bar`` and ``beat`` (1-based, 2.5 is the
    '&' of 2) are the position after quantization. Hits merged away on the sheet are still listed,
    at the slot they were merged into.
    """
    on_sheet = {id(p.hit): p for p in placed}
    located = locate_hits(hits, grid)
    events = []
    for hit, where in zip(hits, located, strict=True):
        position = on_sheet.get(id(hit), where)
        events.append(
            {
                "time": float(hit.time),
                "instrument": hit.instrument,
                "confidence": round(float(hit.confidence), 4),
                "bar": position.bar,
                "beat": round(position.beat_position, 4),
                "note": DRUM_KEY[hit.instrument].gm,
            }
        )
    events.sort(key=lambda e: (e["time"], e["instrument"]))
    document = {"bpm": round(grid.bpm, 2), "time_signature": grid.time_signature, "events": events}
    Path(path).write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
