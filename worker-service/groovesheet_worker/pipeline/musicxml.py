"""Write the drum part as MusicXML 4.0 (stage 7), following shared/docs/NOTATION.md.

The XML is written directly so every element the notation programs look at (percussion clef,
unpitched notes, instrument ids, midi-unpitched, voices, stems, beams) is under our control.

Each instrument has its own line and notehead (types.DRUM_KEY). How a stroke is played comes from
pipeline/articulation.py, the same judgement events.json reports:

- open hi-hat: circle-x notehead and an ``o`` above. The ``o`` is written twice over:
  ``<technical><open/></technical>`` (MusicXML 3.1+, what MuseScore 4 and newer readers take) and
  ``<open-string/>``, the element MuseScore 3 reads as its "open" mark (brassMuteOpen) and writes
  itself; MuseScore 3.2 ignores ``<open/>``. A reader that honours both may draw two circles.
- ghost note: ``<notehead parentheses="yes">`` around the instrument's usual notehead;
- accent: ``<articulations><accent/></articulations>``, once per chord (readers draw it per chord);
- loudness: ``<note dynamics="...">`` = ``dynamics_for(velocity)``. MusicXML's dynamics are a
  percentage of MIDI velocity 90 (its default forte), so dynamics = velocity * 100 / 90: velocity
  81 is "90" (about mf, MuseScore's mf is velocity 80), 90 is "100", 127 is "141.11"; MuseScore
  reads velocity = dynamics * 0.9 back, so the velocity survives the round trip.
A hit without a velocity gets none of ghost, accent or dynamics.

Bars: a pickup (``grid.pickup_beats``) is measure 0 with ``implicit="yes"``, only as long as its
beats; the tempo written at bar 1 is ``grid.tempo_at_bar(1)``, and every later tempo change is a
metronome mark with its ``<sound tempo>`` at the start of its bar.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from groovesheet_worker.pipeline.articulation import ACCENT, GHOST, OPEN, articulations
from groovesheet_worker.pipeline.types import DRUM_KEY, DrumSound, PlacedHit, TempoGrid

# Divisions per quarter note: 16ths (3), 8th-note triplets (4) and 16ths of an eighth beat (3) are whole.
DIVISIONS = 12
PART_ID = "P1"
HANDS, FEET = 1, 2
DOCTYPE = (
    '<!DOCTYPE score-partwise PUBLIC "-//Recordare//DTD MusicXML 4.0 Partwise//EN" '
    '"http://www.musicxml.org/dtds/partwise.dtd">'
)
# Plain note values by length in divisions: (type, dots).
NOTE_VALUES: dict[int, tuple[str, int]] = {
    3: ("16th", 0),
    6: ("eighth", 0),
    9: ("eighth", 1),
    12: ("quarter", 0),
    18: ("quarter", 1),
    24: ("half", 0),
    36: ("half", 1),
    48: ("whole", 0),
}
BEAMABLE = {"eighth", "16th"}
# The open hi-hat's "o": MusicXML 3.1's <open/>, and <open-string/> for MuseScore 3 (see above).
OPEN_MARKS = ("open", "open-string")
# MusicXML's note dynamics are a percentage of this MIDI velocity (forte in MIDI 1.0).
FORTE_VELOCITY = 90
# Page geometry as MuseScore writes it (A4, tenths), so the title credit lands at the top centre.
PAGE_WIDTH, PAGE_HEIGHT = 1190.88, 1683.36


def instrument_id(sound: DrumSound) -> str:
    """Score-instrument id, named after the midi-unpitched number like MuseScore does (P1-I37)."""
    return f"{PART_ID}-I{sound.midi_unpitched}"


def dynamics_for(velocity: int) -> str:
    """``<note dynamics>`` for a MIDI velocity: percent of velocity 90, two decimals at most."""
    return f"{velocity * 100 / FORTE_VELOCITY:.2f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class _Stroke:
    """One note of a chord: what is struck and how."""

    sound: DrumSound
    articulation: str
    velocity: int | None


@dataclass
class _Event:
    """One note, chord or rest in a voice."""

    duration: int
    sounds: list[_Stroke] = field(default_factory=list)  # empty: a rest
    triplet: bool = False
    whole_bar_rest: bool = False
    beam_group: int = 0
    beams: dict[int, str] = field(default_factory=dict)
    tuplet: str | None = None  # "start" or "stop"
    tuplet_bracket: bool = False

    @property
    def is_rest(self) -> bool:
        return not self.sounds

    @property
    def value(self) -> tuple[str, int]:
        # A triplet note looks like the plain note 3/2 its length (an 8th triplet is 4 of 12).
        return NOTE_VALUES[self.duration * 3 // 2 if self.triplet else self.duration]


def write_musicxml(placed: Sequence[PlacedHit], grid: TempoGrid, title: str, path: str | Path) -> int:
    """Write the drum sheet to ``path`` and return how many notes (not rests) it holds."""
    root = ET.Element("score-partwise", version="4.0")
    ET.SubElement(ET.SubElement(root, "work"), "work-title").text = title
    identification = ET.SubElement(root, "identification")
    ET.SubElement(ET.SubElement(identification, "encoding"), "software").text = "Groovesheet"
    _add_defaults(root)
    credit = ET.SubElement(root, "credit", page="1")
    ET.SubElement(credit, "credit-type").text = "title"
    ET.SubElement(
        credit,
        "credit-words",
        {
            "default-x": f"{PAGE_WIDTH / 2:.2f}",
            "default-y": f"{PAGE_HEIGHT - 60:.2f}",
            "justify": "center",
            "valign": "top",
            "font-size": "22",
        },
    ).text = title
    _add_part_list(root, placed)
    part = ET.SubElement(root, "part", id=PART_ID)
    marks = dict(zip((id(p) for p in placed), articulations([(p.bar, p.hit) for p in placed]), strict=True))

    bars = max((p.bar for p in placed), default=1)
    by_bar: dict[int, list[PlacedHit]] = {}
    for hit in placed:
        by_bar.setdefault(hit.bar, []).append(hit)
    first_bar = 0 if grid.pickup_beats else 1
    changes = {change.bar: change.bpm for change in grid.tempo_changes if change.bar > 1}
    notes = 0
    for bar in range(first_bar, bars + 1):
        measure = ET.SubElement(part, "measure", _measure_attributes(bar))
        if bar == first_bar:
            _add_attributes(measure, grid)
            _add_tempo(measure, grid, grid.tempo_at_bar(1))
        elif bar in changes:
            _add_tempo(measure, grid, changes[bar])
        in_bar = by_bar.get(bar, [])
        first_beat = grid.beats_per_bar - grid.pickup_beats + 1 if bar == 0 else 1
        hands = _voice_events([p for p in in_bar if _sound(p).voice == HANDS], grid, marks, first_beat)
        notes += _write_voice(measure, hands, HANDS)
        feet = [p for p in in_bar if _sound(p).voice == FEET]
        if feet:
            length = _beat_length(grid) * (grid.beats_per_bar - first_beat + 1)
            ET.SubElement(ET.SubElement(measure, "backup"), "duration").text = str(length)
            notes += _write_voice(measure, _voice_events(feet, grid, marks, first_beat), FEET)
        if bar == bars:
            barline = ET.SubElement(measure, "barline", location="right")
            ET.SubElement(barline, "bar-style").text = "light-heavy"

    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode")
    Path(path).write_text(
        f'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n{DOCTYPE}\n{body}\n', encoding="utf-8"
    )
    return notes


def _measure_attributes(bar: int) -> dict[str, str]:
    """A pickup is measure 0, marked implicit so readers neither count it nor fill it to a whole bar."""
    return {"number": "0", "implicit": "yes"} if bar == 0 else {"number": str(bar)}


def _sound(placed: PlacedHit) -> DrumSound:
    return DRUM_KEY[placed.hit.instrument]


def _beat_length(grid: TempoGrid) -> int:
    return DIVISIONS * 4 // grid.beat_unit


def _bar_length(grid: TempoGrid) -> int:
    return _beat_length(grid) * grid.beats_per_bar


def _add_defaults(root: ET.Element) -> None:
    defaults = ET.SubElement(root, "defaults")
    scaling = ET.SubElement(defaults, "scaling")
    ET.SubElement(scaling, "millimeters").text = "7.05556"
    ET.SubElement(scaling, "tenths").text = "40"
    layout = ET.SubElement(defaults, "page-layout")
    ET.SubElement(layout, "page-height").text = f"{PAGE_HEIGHT:.2f}"
    ET.SubElement(layout, "page-width").text = f"{PAGE_WIDTH:.2f}"


def _add_part_list(root: ET.Element, placed: Sequence[PlacedHit]) -> None:
    """The drum kit: only the instruments the sheet uses, in drum-key order.

    Readers learn an instrument's line and notehead from its notes. MuseScore 3 gives a declared
    instrument without notes line 0 (the top line) and no notehead in its drumset, so its drum
    palette would offer misplaced sounds, and Dorico turns every declared instrument into a kit
    member; a kit of the instruments played is what both show best. A sheet without notes
    declares the whole key (a drum part needs instruments; there is nothing to misplace).
    """
    score_part = ET.SubElement(ET.SubElement(root, "part-list"), "score-part", id=PART_ID)
    ET.SubElement(score_part, "part-name").text = "Drumset"
    ET.SubElement(score_part, "part-abbreviation").text = "D. Set"
    used = {p.hit.instrument for p in placed}
    sounds = [sound for name, sound in DRUM_KEY.items() if name in used] or list(DRUM_KEY.values())
    for sound in sounds:
        instrument = ET.SubElement(score_part, "score-instrument", id=instrument_id(sound))
        ET.SubElement(instrument, "instrument-name").text = sound.name
    for sound in sounds:
        midi = ET.SubElement(score_part, "midi-instrument", id=instrument_id(sound))
        ET.SubElement(midi, "midi-channel").text = "10"
        ET.SubElement(midi, "midi-program").text = "1"
        ET.SubElement(midi, "midi-unpitched").text = str(sound.midi_unpitched)
        ET.SubElement(midi, "volume").text = "80"
        ET.SubElement(midi, "pan").text = "0"


def _add_attributes(measure: ET.Element, grid: TempoGrid) -> None:
    attributes = ET.SubElement(measure, "attributes")
    ET.SubElement(attributes, "divisions").text = str(DIVISIONS)
    ET.SubElement(ET.SubElement(attributes, "key"), "fifths").text = "0"
    time = ET.SubElement(attributes, "time")
    ET.SubElement(time, "beats").text = str(grid.beats_per_bar)
    ET.SubElement(time, "beat-type").text = str(grid.beat_unit)
    clef = ET.SubElement(attributes, "clef")
    ET.SubElement(clef, "sign").text = "percussion"
    ET.SubElement(clef, "line").text = "2"
    ET.SubElement(ET.SubElement(attributes, "staff-details"), "staff-lines").text = "5"


def _add_tempo(measure: ET.Element, grid: TempoGrid, bpm: float) -> None:
    """Metronome mark of ``bpm`` in the counted pulse, and <sound tempo> in quarter notes per minute."""
    direction = ET.SubElement(measure, "direction", placement="above")
    metronome = ET.SubElement(ET.SubElement(direction, "direction-type"), "metronome", parentheses="no")
    if grid.beats_per_pulse == 3:
        ET.SubElement(metronome, "beat-unit").text = "quarter"
        ET.SubElement(metronome, "beat-unit-dot")
    else:
        ET.SubElement(metronome, "beat-unit").text = "quarter" if grid.beat_unit == 4 else "eighth"
    ET.SubElement(metronome, "per-minute").text = str(round(bpm))
    quarters_per_minute = bpm * grid.beats_per_pulse * 4 / grid.beat_unit
    ET.SubElement(direction, "sound", tempo=f"{quarters_per_minute:.2f}".rstrip("0").rstrip("."))


def _voice_events(
    placed: Sequence[PlacedHit], grid: TempoGrid, marks: dict[int, str], first_beat: int = 1
) -> list[_Event]:
    """Notes and rests of one voice in one bar from ``first_beat`` (a pickup's first), adding up to it."""
    if not placed and first_beat == 1:
        return [_Event(duration=_bar_length(grid), whole_bar_rest=True)]
    beats: dict[int, tuple[int, dict[int, list[_Stroke]]]] = {}
    for hit in placed:
        division, slots = beats.setdefault(hit.beat, (hit.division, {}))
        slot = hit.slot * division // hit.division  # same beat, same division; guards odd input
        strokes = slots.setdefault(slot, [])
        if all(stroke.sound != _sound(hit) for stroke in strokes):
            strokes.append(_Stroke(_sound(hit), marks[id(hit)], hit.hit.velocity))
    events: list[_Event] = []
    beat = first_beat
    while beat <= grid.beats_per_bar:
        if beat in beats:
            division, slots = beats[beat]
            events.extend(_beat_events(division, slots, grid, _beam_group(beat, grid)))
            beat += 1
            continue
        empty = 0
        while beat + empty <= grid.beats_per_bar and beat + empty not in beats:
            empty += 1
        for length in _rest_lengths(beat - 1, empty, grid):
            events.append(_Event(duration=length * _beat_length(grid), beam_group=_beam_group(beat, grid)))
            beat += length
    _add_beams(events)
    return events


def _beat_events(division: int, slots: dict[int, list[_Stroke]], grid: TempoGrid, group: int) -> list[_Event]:
    """One beat: a leading rest if the beat starts empty, then each note lasting to the next one."""
    slot_length = _beat_length(grid) // division
    onsets = sorted(slots)
    # A lone note on the beat needs no triplet: it is a plain quarter.
    triplet = division == 3 and onsets != [0]
    events: list[_Event] = []
    if onsets[0] > 0:
        events.append(_Event(duration=onsets[0] * slot_length, triplet=triplet, beam_group=group))
    for i, slot in enumerate(onsets):
        end = onsets[i + 1] if i + 1 < len(onsets) else division
        sounds = sorted(
            slots[slot], key=lambda s: (s.sound.display_octave, "CDEFGAB".index(s.sound.display_step))
        )
        events.append(
            _Event(duration=(end - slot) * slot_length, sounds=sounds, triplet=triplet, beam_group=group)
        )
    if triplet:
        events[0].tuplet, events[-1].tuplet = "start", "stop"
        # A beamed group of triplet eighths shows its "3" without a bracket.
        bracket = any(e.is_rest or e.value[0] not in BEAMABLE for e in events)
        events[0].tuplet_bracket = events[-1].tuplet_bracket = bracket
    return events


def _beam_group(beat: int, grid: TempoGrid) -> int:
    """Beams join notes of one counted pulse: a beat, or three eighths in 6/8."""
    return (beat - 1) // grid.beats_per_pulse


def _rest_lengths(start: int, count: int, grid: TempoGrid) -> list[int]:
    """Rest lengths in beats for ``count`` empty beats from ``start`` (0-based), as engravers group them."""
    if count == grid.beats_per_bar:
        return [count]
    lengths = []
    position, left = start, count
    while left:
        if grid.beats_per_pulse == 3:
            # A dotted-quarter rest for a whole pulse, a quarter rest for its last two eighths.
            if position % 3 == 0 and left >= 3:
                length = 3
            elif position % 3 == 1 and left >= 2:
                length = 2
            else:
                length = 1
        elif grid.beat_unit == 4:
            # Half rests on beats 1-2 or 3-4, never across the middle of the bar.
            length = 2 if position % 2 == 0 and left >= 2 else 1
        else:
            length = 2 if position % 2 == 0 and left >= 2 and position + 2 <= grid.beats_per_bar else 1
        lengths.append(length)
        position += length
        left -= length
    return lengths


def _add_beams(events: list[_Event]) -> None:
    """Beam runs of eighths and 16ths within a pulse; 16th pairs get a second beam or a hook."""
    run: list[_Event] = []

    def close() -> None:
        if len(run) >= 2:
            for i, event in enumerate(run):
                event.beams[1] = "begin" if i == 0 else "end" if i == len(run) - 1 else "continue"
                if event.value[0] == "16th":
                    before = i > 0 and run[i - 1].value[0] == "16th"
                    after = i + 1 < len(run) and run[i + 1].value[0] == "16th"
                    if before and after:
                        event.beams[2] = "continue"
                    elif before:
                        event.beams[2] = "end"
                    elif after:
                        event.beams[2] = "begin"
                    else:
                        event.beams[2] = "forward hook" if i == 0 else "backward hook"
        run.clear()

    for event in events:
        beamable = not event.is_rest and not event.whole_bar_rest and event.value[0] in BEAMABLE
        if run and (
            not beamable or event.beam_group != run[-1].beam_group or event.triplet != run[-1].triplet
        ):
            close()
        if beamable:
            run.append(event)
    close()


def _write_voice(measure: ET.Element, events: list[_Event], voice: int) -> int:
    """Append the voice's <note> elements; return the number of drum notes written."""
    written = 0
    stem = "up" if voice == HANDS else "down"
    for event in events:
        if event.is_rest:
            _write_rest(measure, event, voice)
            continue
        # Notation programs hang articulations on the chord, not the note (MuseScore 3 stacks two
        # accents on a chord holding two accented notes): the accent is written once per chord.
        first_accent = next((s for s in event.sounds if s.articulation == ACCENT), None)
        for index, stroke in enumerate(event.sounds):
            sound = stroke.sound
            note = ET.SubElement(measure, "note")
            if stroke.velocity is not None:
                note.set("dynamics", dynamics_for(stroke.velocity))
            if index:
                ET.SubElement(note, "chord")
            unpitched = ET.SubElement(note, "unpitched")
            ET.SubElement(unpitched, "display-step").text = sound.display_step
            ET.SubElement(unpitched, "display-octave").text = str(sound.display_octave)
            ET.SubElement(note, "duration").text = str(event.duration)
            ET.SubElement(note, "instrument", id=instrument_id(sound))
            ET.SubElement(note, "voice").text = str(voice)
            _write_value(note, event)
            ET.SubElement(note, "stem").text = stem
            if stroke.articulation == GHOST:
                ET.SubElement(note, "notehead", parentheses="yes").text = sound.notehead
            elif sound.notehead != "normal":
                ET.SubElement(note, "notehead").text = sound.notehead
            if index == 0:
                # Beams and tuplet marks go on the chord's first note, as MuseScore writes them.
                for number, kind in sorted(event.beams.items()):
                    ET.SubElement(note, "beam", number=str(number)).text = kind
            articulation = (
                stroke.articulation if stroke.articulation != ACCENT or stroke is first_accent else None
            )
            _write_notations(note, event if index == 0 else None, articulation)
            written += 1
    return written


def _write_rest(measure: ET.Element, event: _Event, voice: int) -> None:
    note = ET.SubElement(measure, "note")
    if event.whole_bar_rest:
        ET.SubElement(note, "rest", measure="yes")
        ET.SubElement(note, "duration").text = str(event.duration)
        ET.SubElement(note, "voice").text = str(voice)
        return
    ET.SubElement(note, "rest")
    ET.SubElement(note, "duration").text = str(event.duration)
    ET.SubElement(note, "voice").text = str(voice)
    _write_value(note, event)
    _write_notations(note, event, None)


def _write_value(note: ET.Element, event: _Event) -> None:
    kind, dots = event.value
    ET.SubElement(note, "type").text = kind
    for _ in range(dots):
        ET.SubElement(note, "dot")
    if event.triplet:
        modification = ET.SubElement(note, "time-modification")
        ET.SubElement(modification, "actual-notes").text = "3"
        ET.SubElement(modification, "normal-notes").text = "2"


def _write_notations(note: ET.Element, event: _Event | None, articulation: str | None) -> None:
    """One <notations> with the tuplet mark (``event``'s, if it starts or ends one) and the stroke's marks."""
    tuplet = event is not None and event.tuplet is not None
    if not tuplet and articulation not in (OPEN, ACCENT):
        return
    notations = ET.SubElement(note, "notations")
    if event is not None and event.tuplet is not None:
        attributes = {"type": event.tuplet, "number": "1"}
        if event.tuplet == "start":
            attributes["bracket"] = "yes" if event.tuplet_bracket else "no"
        ET.SubElement(notations, "tuplet", attributes)
    if articulation == OPEN:
        technical = ET.SubElement(notations, "technical")
        for mark in OPEN_MARKS:
            ET.SubElement(technical, mark, placement="above")
    elif articulation == ACCENT:
        ET.SubElement(ET.SubElement(notations, "articulations"), "accent")
