"""Re-read the written MusicXML and check it (stage 8, the 97 % checkpoint).

Everything checked here is produced by our own writer, so a failure is a bug in Groovesheet, never
a problem with the user's audio: it is reported as such and not retried.

Checked: one drum part with a percussion clef and the grid's time signature; every declared
instrument is a sound of the drum key (types.DRUM_KEY, by its midi-unpitched number, each number
once) on MIDI channel 10; every note is unpitched, names a declared instrument and sits on that
instrument's line with its notehead (so each instrument stays distinct); a chord with an open hi-hat
carries its ``o`` (``<open/>`` or ``<open-string/>`` on one of its notes: notation programs keep
articulations per chord); a ``dynamics`` attribute is a number >= 0; every voice of every measure
adds up to the bar, and a pickup (the first measure, ``implicit="yes"``) to the grid's pickup beats.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path
from typing import NoReturn

from groovesheet_shared.errors import TranscriptionError
from groovesheet_worker.pipeline.types import DRUM_KEY, DrumSound, TempoGrid

KEY_BY_UNPITCHED: dict[int, DrumSound] = {sound.midi_unpitched: sound for sound in DRUM_KEY.values()}
OPEN_HIHAT = DRUM_KEY["hihat_open"]


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
    beat_length = Fraction(divisions * 4, grid.beat_unit)
    for index, measure in enumerate(measures):
        if measure.get("implicit") == "yes":
            if index != 0 or not grid.pickup_beats:
                _fail(f"measure {measure.get('number', '?')} is a pickup but is not the grid's first bar")
            _check_measure(measure, beat_length * grid.pickup_beats, instruments)
        else:
            _check_measure(measure, beat_length * grid.beats_per_bar, instruments)


def _fail(detail: str) -> NoReturn:
    raise TranscriptionError(
        f"The sheet music failed its final check: {detail}. This is a bug in Groovesheet, "
        "not a problem with your audio; please report it.",
        code="notation_check_failed",
        retryable=False,
    )


def _check_instruments(score_part: ET.Element) -> dict[str, DrumSound]:
    """Declared instrument id -> its drum-key sound."""
    declared = {element.get("id") for element in score_part.findall("score-instrument")}
    if not declared:
        _fail("the drum part declares no instruments")
    sounds: dict[str, DrumSound] = {}
    for midi in score_part.findall("midi-instrument"):
        if midi.get("id") not in declared:
            _fail(f"midi-instrument {midi.get('id')} has no score-instrument")
        if midi.findtext("midi-channel") != "10":
            _fail(f"instrument {midi.get('id')} is not on MIDI channel 10")
        unpitched = (midi.findtext("midi-unpitched") or "").strip()
        if not unpitched.isdigit():
            _fail(f"instrument {midi.get('id')} has no midi-unpitched number")
        sound = KEY_BY_UNPITCHED.get(int(unpitched))
        if sound is None:
            _fail(
                f"instrument {midi.get('id')} plays midi-unpitched {unpitched}, not a sound of the drum key"
            )
        if sound in sounds.values():
            _fail(f"two instruments play {sound.name} (midi-unpitched {unpitched})")
        sounds[str(midi.get("id"))] = sound
    if set(sounds) != declared:
        _fail("not every drum instrument has a MIDI sound")
    return sounds


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


def _check_measure(measure: ET.Element, bar_length: Fraction, instruments: dict[str, DrumSound]) -> None:
    """Every voice runs without gaps or overlaps from the start of the bar to its end."""
    number = measure.get("number", "?")
    cursor = Fraction(0)
    voice_ends: dict[str, Fraction] = {}
    last_start = Fraction(0)
    chords: list[list[ET.Element]] = []
    for element in measure:
        if element.tag == "note" and element.find("rest") is None:
            if element.find("chord") is not None and chords:
                chords[-1].append(element)
            else:
                chords.append([element])
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
    for chord in chords:
        _check_open_mark(chord, number, instruments)
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


def _check_open_mark(chord: list[ET.Element], number: str, instruments: dict[str, DrumSound]) -> None:
    ids = {str(n.find("instrument").get("id")) for n in chord if n.find("instrument") is not None}
    if OPEN_HIHAT not in {instruments[i] for i in ids if i in instruments}:
        return
    marks = [
        m for n in chord for m in n.iterfind("notations/technical/*") if m.tag in ("open", "open-string")
    ]
    if not marks:
        _fail(f"measure {number} has an open hi-hat without its open mark")


def _check_note(note: ET.Element, number: str, instruments: dict[str, DrumSound]) -> None:
    if note.find("rest") is not None:
        return
    if note.find("pitch") is not None or note.find("unpitched") is None:
        _fail(f"measure {number} has a drum note without <unpitched>")
    step, octave = note.findtext("unpitched/display-step"), note.findtext("unpitched/display-octave")
    if not step or not octave:
        _fail(f"measure {number} has an unpitched note without a staff position")
    instrument = note.find("instrument")
    if instrument is None or instrument.get("id") not in instruments:
        _fail(f"measure {number} has a note without a declared <instrument>")
    sound = instruments[str(instrument.get("id"))]
    if (step.strip(), octave.strip()) != (sound.display_step, str(sound.display_octave)):
        _fail(
            f"measure {number} has a {sound.name} on {step}{octave}, not on its line {sound.display_step}{sound.display_octave}"
        )
    notehead = (note.findtext("notehead") or "normal").strip()
    if notehead != sound.notehead:
        _fail(f"measure {number} has a {sound.name} with a {notehead} notehead, not {sound.notehead}")
    dynamics = note.get("dynamics")
    if dynamics is not None:
        try:
            valid = float(dynamics) >= 0
        except ValueError:
            valid = False
        if not valid:
            _fail(f"measure {number} has a note with dynamics {dynamics!r}, not a number >= 0")
