"""Write events.json: every detected hit before quantization and where it landed (stage 7).

    {"bpm": 120.0, "alternative_bpm": 60.0, "time_signature": "4/4", "events": [
      {"time": 0.51, "instrument": "snare", "class": "snare", "note": 38, "velocity": 96,
       "articulation": "accent", "confidence": 0.93, "bar": 1, "beat": 2.0}, ...]}

``alternative_bpm`` is another tempo level the music reads almost as well at (null when none comes
close, or the uploader gave the bpm). One event per hit, in time order:

- ``time``: the detected (unquantized) time in seconds;
- ``instrument``: one of types.INSTRUMENTS (``kick``, ``snare``, ``cross_stick``, ``hihat_closed``,
  ``hihat_open``, ``hihat_pedal``, ``ride``, ``ride_bell``, ``crash``, ``tom_high``, ``tom_mid``,
  ``tom_floor``);
- ``class``: its evaluation class (types.FIVE_CLASS: ``kick``, ``snare``, ``hihat``, ``toms``,
  ``cymbals``), the names MDB Drums and ../shared/tools/adt_eval.py score;
- ``note``: the General MIDI drum note, as in the MIDI file;
- ``velocity``: MIDI velocity 1-127 from the stroke's loudness, or null when the hit finder cannot
  tell (then the MIDI file plays it at midi.DEFAULT_VELOCITY);
- ``articulation``: how the stroke is played, exactly one of (pipeline/articulation.py):
  ``"open"`` (open hi-hat) and ``"pedal"`` (hi-hat played with the foot) follow from the
  instrument and win over loudness; otherwise ``"ghost"`` (far softer than the drum's other
  strokes in the bar, written in parentheses), ``"accent"`` (clearly louder than the
  instrument's other strokes in the bar, written with >) or ``"normal"``. Without a velocity it is
  ``"normal"`` (or ``"open"``/``"pedal"``). A hit on the sheet has the articulation the sheet shows;
- ``confidence``: how sure the hit finder is, 0..1;
- ``bar``, ``beat``: the position after quantization, 1-based (2.5 is the '&' of 2); bar 0 is a
  pickup, its beats numbered as in a full bar (a two-beat pickup in 4/4 holds beats 3 and 4). Hits merged
  away on the sheet (a flam's first stroke, a second note on one staff position) are still
  listed, at the slot they were merged into, judged against the sheet's strokes of their bar.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from groovesheet_worker.pipeline.articulation import articulation_among, articulations
from groovesheet_worker.pipeline.quantize import locate_hits
from groovesheet_worker.pipeline.types import DRUM_KEY, FIVE_CLASS, Hit, PlacedHit, TempoGrid


def write_events(hits: Sequence[Hit], placed: Sequence[PlacedHit], grid: TempoGrid, path: str | Path) -> None:
    """Write events.json (the module docstring describes it) for ``hits`` and their ``placed`` sheet."""
    on_sheet = {id(p.hit): p for p in placed}
    marks = dict(
        zip((id(p.hit) for p in placed), articulations([(p.bar, p.hit) for p in placed]), strict=True)
    )
    sheet_bars: dict[int, list[Hit]] = {}
    for p in placed:
        sheet_bars.setdefault(p.bar, []).append(p.hit)
    located = locate_hits(hits, grid)
    events = []
    for hit, where in zip(hits, located, strict=True):
        position = on_sheet.get(id(hit), where)
        articulation = marks.get(id(hit)) or articulation_among(hit, sheet_bars.get(position.bar, []))
        events.append(
            {
                "time": float(hit.time),
                "instrument": hit.instrument,
                "class": FIVE_CLASS[hit.instrument],
                "note": DRUM_KEY[hit.instrument].gm,
                "velocity": None if hit.velocity is None else int(hit.velocity),
                "articulation": articulation,
                "confidence": round(float(hit.confidence), 4),
                "bar": position.bar,
                "beat": round(position.beat_position, 4),
            }
        )
    events.sort(key=lambda e: (e["time"], e["instrument"]))
    document = {
        "bpm": round(grid.bpm, 2),
        "alternative_bpm": grid.alternative_bpm,
        "time_signature": grid.time_signature,
        "events": events,
    }
    Path(path).write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
