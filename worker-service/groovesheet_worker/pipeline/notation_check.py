"""Re-read the written MusicXML and check it (stage 8, the 97 % checkpoint).

Everything checked here is produced by our own writer, so a failure is a bug in Groovesheet, never
a problem with the user's audio: it is reported as such and not retried.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path
from typing import NoReturn

from groovesheet_shared.errors import TranscriptionError
from groovesheet_worker.pipeline.types import TempoGrid


def check_musicxml(path: str | Path, grid: TempoGrid) -> None:
    """Raise TranscriptionError(code="notation_check_failed") unless the sheet is sound."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as error:
        _fail(f"the file cannot be read as XML ({error})")
    if root.tag != "score-partwise":
        _fail(f"the root element is <{root.tag}>, not <score-partwise>")

    score_parts = root.findall("part-list/score-part")
    parts = root.findall("part")
    if len(score_parts) != 1 or len(parts) != 1:
        _fail(f"expected one drum part, found {len(score_parts)} in the part list and {len(parts)} parts")
    if parts[0].get("id") != score_parts[0].get("id"):
        _fail("the part id does not match the part list")
    instruments = _check_instruments(score_parts[0])

    measures = parts[0].findall("measure")
    if not measures:
        _fail("the part has no measures")
    _check_attributes(measures[0], grid)
    divisions = int(measures[0].findtext("attributes/divisions") or 0)
    bar_length = Fraction(divisions * 4 * grid.beats_per_bar, grid.beat_unit)
    for measure in measures:
        _check_measure(measure, bar_length, instruments)


def _fail(detail: str) -> NoReturn:
    raise TranscriptionError(
        f"The sheet music failed its final check: {detail}. This is a bug in Groovesheet, "
        "not a problem with your audio; please report it.",
        code="notation_check_failed",
        retryable=False,
    )


def _check_instruments(score_part: ET.Element) -> set[str]:
    declared = {element.get("id") for element in score_part.findall("score-instrument")}
    if not declared:
        _fail("the drum part declares no instruments")
    for midi in score_part.findall("midi-instrument"):
        if midi.get("id") not in declared:
            _fail(f"midi-instrument {midi.get('id')} has no score-instrument")
        if midi.findtext("midi-channel") != "10":
            _fail(f"instrument {midi.get('id')} is not on MIDI channel 10")
        if not (midi.findtext("midi-unpitched") or "").isdigit():
            _fail(f"instrument {midi.get('id')} has no midi-unpitched number")
    if {m.get("id") for m in score_part.findall("midi-instrument")} != declared:
        _fail("not every drum instrument has a MIDI sound")
    return {i for i in declared if i}


def _check_attributes(first: ET.Element, grid: TempoGrid) -> None:
    attributes = first.find("attributes")
    if attributes is None:
        _fail("the first measure has no attributes")
    if (
        not (attributes.findtext("divisions") or "").isdigit()
        or int(attributes.findtext("divisions") or 0) <= 0
    ):
        _fail("the divisions per quarter note are missing")
    if attributes.findtext("clef/sign") != "percussion":
        _fail("the clef is not a percussion clef")
    beats, beat_type = attributes.findtext("time/beats"), attributes.findtext("time/beat-type")
    if f"{beats}/{beat_type}" != grid.time_signature:
        _fail(f"the time signature {beats}/{beat_type} is not the grid's {grid.time_signature}")


def _check_measure(measure: ET.Element, bar_length: Fraction, instruments: set[str]) -> None:
    """Every voice runs without gaps or overlaps from the start of the bar to its end."""
    number = measure.get("number", "?")
    cursor = Fraction(0)
    voice_ends: dict[str, Fraction] = {}
    last_start = Fraction(0)
    for element in measure:
        if element.tag == "backup":
            cursor -= _duration(element, number)
            if cursor < 0:
                _fail(f"measure {number} backs up before its start")
        elif element.tag == "forward":
            length = _duration(element, number)
            voice = element.findtext("voice")
            if voice is not None:
                _advance(voice_ends, voice, cursor, length, number)
            cursor += length
        elif element.tag == "note":
            _check_note(element, number, instruments)
            if element.find("grace") is not None:
                continue
            length = _duration(element, number)
            voice = element.findtext("voice") or "1"
            if element.find("chord") is not None:
                # A chord note sounds with the note before it and must last as long.
                if cursor - length != last_start:
                    _fail(f"measure {number} has a chord note whose length differs from its chord")
                continue
            last_start = cursor
            _advance(voice_ends, voice, cursor, length, number)
            cursor += length
    if not voice_ends:
        _fail(f"measure {number} is empty")
    for voice, end in sorted(voice_ends.items()):
        if end != bar_length:
            _fail(f"measure {number}, voice {voice} adds up to {end} of {bar_length} divisions")


def _advance(ends: dict[str, Fraction], voice: str, start: Fraction, length: Fraction, number: str) -> None:
    if ends.get(voice, Fraction(0)) != start:
        _fail(f"measure {number}, voice {voice} has a gap or an overlap at division {start}")
    ends[voice] = start + length


def _duration(element: ET.Element, number: str) -> Fraction:
    text = element.findtext("duration")
    if text is None or not text.strip().isdigit():
        _fail(f"measure {number} has a <{element.tag}> without a whole-number duration")
    return Fraction(int(text or 0))


def _check_note(note: ET.Element, number: str, instruments: set[str]) -> None:
    if note.find("rest") is not None:
        return
    if note.find("pitch") is not None or note.find("unpitched") is None:
        _fail(f"measure {number} has a drum note without <unpitched>")
    if not note.findtext("unpitched/display-step") or not note.findtext("unpitched/display-octave"):
        _fail(f"measure {number} has an unpitched note without a staff position")
    instrument = note.find("instrument")
    if instrument is None or instrument.get("id") not in instruments:
        _fail(f"measure {number} has a note without a declared <instrument>")
