"""The written MusicXML against shared/docs/NOTATION.md, element by element."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

import pytest

from groovesheet_worker.pipeline.musicxml import dynamics_for, write_musicxml
from groovesheet_worker.pipeline.notation_check import check_musicxml
from groovesheet_worker.pipeline.quantize import place_hits
from groovesheet_worker.pipeline.types import DRUM_KEY, INSTRUMENTS, Hit, PlacedHit, TempoChange, TempoGrid

BEAT = 0.5
# shared/docs/NOTATION.md's drum key, copied by hand: midi-unpitched (GM + 1), display step and
# octave, notehead (None: normal), voice.
EXPECTED = {
    37: ("F", "4", None, "2"),  # kick
    39: ("C", "5", None, "1"),  # snare
    38: ("C", "5", "x", "1"),  # side stick
    43: ("G", "5", "x", "1"),  # closed hi-hat
    47: ("G", "5", "circle-x", "1"),  # open hi-hat
    45: ("D", "4", "x", "2"),  # pedal hi-hat
    52: ("F", "5", "x", "1"),  # ride
    54: ("F", "5", "diamond", "1"),  # ride bell
    50: ("A", "5", "x", "1"),  # crash
    51: ("E", "5", None, "1"),  # high tom
    48: ("D", "5", None, "1"),  # mid tom
    44: ("A", "4", None, "1"),  # floor tom
}
KEY_BY_NAME = dict(
    zip(INSTRUMENTS, (37, 39, 38, 43, 47, 45, 52, 54, 50, 51, 48, 44), strict=True)
)  # our names -> NOTATION.md's midi-unpitched
GROOVE_SOUNDS = {37, 39, 43, 52, 50, 48}  # what groove() plays


def grid_for(beats_per_bar: int = 4, beat_unit: int = 4, bpm: float = 120.0) -> TempoGrid:
    beats = tuple(i * BEAT for i in range(64))
    return TempoGrid(bpm=bpm, beats=beats, downbeat=0, beats_per_bar=beats_per_bar, beat_unit=beat_unit)


def groove() -> list[Hit]:
    """Four bars: 8th hats with kick/snare, a ride bar with a 16th kick figure, a triplet fill, an empty bar."""
    hits = [Hit(0.0, "crash", 0.9)]
    for n in range(4):  # bar 1
        t = n * BEAT
        hits += [Hit(t, "hihat_closed", 0.6), Hit(t + BEAT / 2, "hihat_closed", 0.5)]
        hits.append(Hit(t, "kick" if n % 2 == 0 else "snare", 0.9))
    for n in range(4, 8):  # bar 2: ride quarters, kick on 1, the "a" of 2 and 3
        t = n * BEAT
        hits.append(Hit(t, "ride", 0.7))
        if n == 4:
            hits.append(Hit(t, "kick", 0.9))
        if n == 5:
            hits += [Hit(t, "snare", 0.9), Hit(t + 3 * BEAT / 4, "kick", 0.7)]
        if n == 6:
            hits.append(Hit(t, "kick", 0.9))
        if n == 7:
            hits.append(Hit(t, "snare", 0.9))
    for n in range(8, 12):  # bar 3: triplet fill on snare and tom over beats 3 and 4
        t = n * BEAT
        if n < 10:
            hits += [Hit(t, "hihat_closed", 0.6), Hit(t, "kick" if n == 8 else "snare", 0.9)]
        else:
            hits += [Hit(t + k * BEAT / 3, "snare" if n == 10 else "tom_mid", 0.8) for k in range(3)]
    # bar 4 empty, bar 5: crash and kick on 1 (the song's last hit)
    hits += [Hit(16 * BEAT, "crash", 0.9), Hit(16 * BEAT, "kick", 0.9)]
    return hits


@pytest.fixture
def written(tmp_path: Path) -> tuple[ET.Element, int, list[PlacedHit], str]:
    path = tmp_path / "output.musicxml"
    placed = place_hits(groove(), grid_for())
    count = write_musicxml(placed, grid_for(), "My Song", path)
    return ET.parse(path).getroot(), count, placed, path.read_text(encoding="utf-8")


def notes(root: ET.Element) -> list[ET.Element]:
    return [n for n in root.iter("note") if n.find("rest") is None]


def test_header_doctype_and_version(written) -> None:
    root, _, _, text = written
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"')
    assert '<!DOCTYPE score-partwise PUBLIC "-//Recordare//DTD MusicXML 4.0 Partwise//EN"' in text
    assert root.tag == "score-partwise" and root.get("version") == "4.0"


def test_title(written) -> None:
    root, *_ = written
    assert root.findtext("work/work-title") == "My Song"
    assert root.findtext("credit/credit-words") == "My Song"
    assert root.findtext("credit/credit-type") == "title"


def test_one_part_with_percussion_clef_and_five_lines(written) -> None:
    root, *_ = written
    assert len(root.findall("part-list/score-part")) == 1 and len(root.findall("part")) == 1
    attributes = root.find("part/measure/attributes")
    assert attributes.findtext("clef/sign") == "percussion"
    assert attributes.findtext("clef/line") == "2"
    assert attributes.findtext("staff-details/staff-lines") == "5"
    assert attributes.findtext("time/beats") == "4" and attributes.findtext("time/beat-type") == "4"
    divisions = int(attributes.findtext("divisions"))
    assert divisions % 4 == 0 and divisions % 3 == 0  # 16ths and triplets are whole divisions


def test_instruments_on_channel_ten_with_gm_plus_one(written) -> None:
    root, *_ = written
    score_part = root.find("part-list/score-part")
    declared = {i.get("id") for i in score_part.findall("score-instrument")}
    midi = {m.get("id"): m for m in score_part.findall("midi-instrument")}
    assert declared == set(midi)
    # Only the instruments played are declared (MuseScore puts unplayed ones on the top line).
    unpitched = {int(m.findtext("midi-unpitched")) for m in midi.values()}
    assert unpitched == GROOVE_SOUNDS
    assert all(m.findtext("midi-channel") == "10" for m in midi.values())


def test_every_note_is_unpitched_with_its_instrument_position_notehead_and_voice(written) -> None:
    root, *_ = written
    midi = {m.get("id"): int(m.findtext("midi-unpitched")) for m in root.iter("midi-instrument")}
    assert root.find(".//pitch") is None
    for note in notes(root):
        number = midi[note.find("instrument").get("id")]
        step, octave, notehead, voice = EXPECTED[number]
        assert note.findtext("unpitched/display-step") == step
        assert note.findtext("unpitched/display-octave") == octave
        assert note.findtext("notehead") == notehead
        assert note.findtext("voice") == voice
        assert note.findtext("stem") == ("up" if voice == "1" else "down")


def test_note_count_matches_the_placed_hits(written) -> None:
    root, count, placed, _ = written
    assert count == len(placed) == len(notes(root))
    midi = {m.get("id"): int(m.findtext("midi-unpitched")) for m in root.iter("midi-instrument")}
    written_sounds = Counter(midi[n.find("instrument").get("id")] for n in notes(root))
    assert written_sounds == Counter(KEY_BY_NAME[p.hit.instrument] for p in placed)


def test_every_voice_in_every_measure_adds_up(written) -> None:
    root, *_ = written
    measures = root.findall("part/measure")
    assert [m.get("number") for m in measures] == ["1", "2", "3", "4", "5"]
    for measure in measures:
        totals: dict[str, int] = defaultdict(int)
        backups = 0
        for element in measure:
            if element.tag == "backup":
                backups += 1
            if element.tag == "note" and element.find("chord") is None:
                totals[element.findtext("voice")] += int(element.findtext("duration"))
        assert set(totals.values()) == {48}, measure.get("number")
        assert backups == len(totals) - 1
        if "2" in totals:
            # Hands first, then <backup> to the start of the bar, then the feet.
            kinds = [e.tag for e in measure if e.tag in ("note", "backup")]
            first_backup = kinds.index("backup")
            voices = [e.findtext("voice") for e in measure if e.tag == "note"]
            assert set(voices[:first_backup]) == {"1"} and set(voices[first_backup:]) == {"2"}


def test_empty_bar_is_one_measure_rest(written) -> None:
    root, *_ = written
    bar4 = root.findall("part/measure")[3]
    rests = bar4.findall("note")
    assert len(rests) == 1
    assert rests[0].find("rest").get("measure") == "yes"
    assert rests[0].findtext("duration") == "48"


def test_rests_are_combined(written) -> None:
    """Bar 5 has one hit on beat 1: a quarter note, a quarter rest and a half rest in each voice."""
    root, *_ = written
    bar5 = root.findall("part/measure")[4]
    by_voice: dict[str, list[str]] = defaultdict(list)
    for note in bar5.findall("note"):
        if note.find("chord") is None:
            by_voice[note.findtext("voice")].append(
                ("rest " if note.find("rest") is not None else "") + note.findtext("type")
            )
    assert by_voice == {
        "1": ["quarter", "rest quarter", "rest half"],
        "2": ["quarter", "rest quarter", "rest half"],
    }
    assert bar5.find("barline/bar-style").text == "light-heavy"


def test_chords_for_simultaneous_hands(written) -> None:
    root, *_ = written
    first = root.find("part/measure").findall("note")
    # Beat 1 of bar 1: hi-hat and crash together in voice 1, one of them marked <chord/>.
    assert first[0].find("chord") is None and first[1].find("chord") is not None
    assert first[0].findtext("duration") == first[1].findtext("duration") == "6"


def test_beams_group_per_beat(written) -> None:
    root, *_ = written
    bar1 = root.findall("part/measure")[0]
    heads = [n for n in bar1.findall("note") if n.findtext("voice") == "1" and n.find("chord") is None]
    assert [b.text for n in heads for b in n.findall("beam[@number='1']")] == ["begin", "end"] * 4
    # Bar 2, voice 2: dotted eighth + 16th kick on beat 2 is one beamed pair with a hook.
    bar2 = root.findall("part/measure")[1]
    feet = [n for n in bar2.findall("note") if n.findtext("voice") == "2"]
    kinds = [(n.find("rest") is not None, n.findtext("type"), n.find("dot") is not None) for n in feet]
    assert kinds[:3] == [(False, "quarter", False), (True, "eighth", True), (False, "16th", False)]
    # After a dotted-eighth rest the 16th stands alone: no beam.
    assert feet[2].find("beam") is None


def test_sixteenth_beams_have_a_second_level(tmp_path: Path) -> None:
    grid = grid_for()
    hits = [Hit(k * BEAT / 4, "hihat_closed", 0.5) for k in range(4)] + [
        Hit(BEAT, "snare", 0.9),
        Hit(BEAT * 1.75, "snare", 0.6),
    ]
    write_musicxml(place_hits(hits, grid), grid, "16ths", tmp_path / "s.musicxml")
    measure = ET.parse(tmp_path / "s.musicxml").getroot().find("part/measure")
    heads = [n for n in measure.findall("note") if n.find("rest") is None and n.find("chord") is None]
    levels = [[(b.get("number"), b.text) for b in n.findall("beam")] for n in heads]
    assert levels[:4] == [
        [("1", "begin"), ("2", "begin")],
        [("1", "continue"), ("2", "continue")],
        [("1", "continue"), ("2", "continue")],
        [("1", "end"), ("2", "end")],
    ]
    # Beat 2: dotted eighth then 16th: the 16th gets a backward hook.
    assert levels[4:6] == [[("1", "begin")], [("1", "end"), ("2", "backward hook")]]


def test_triplets(written) -> None:
    root, *_ = written
    bar3 = root.findall("part/measure")[2]
    triplets = [n for n in bar3.findall("note") if n.find("time-modification") is not None]
    assert len(triplets) == 6
    for note in triplets:
        assert note.findtext("time-modification/actual-notes") == "3"
        assert note.findtext("time-modification/normal-notes") == "2"
        assert note.findtext("type") == "eighth" and note.findtext("duration") == "4"
    marks = [t.get("type") for n in triplets for t in n.findall("notations/tuplet")]
    assert marks == ["start", "stop", "start", "stop"]


def test_tempo_mark(written) -> None:
    root, *_ = written
    direction = root.find("part/measure/direction")
    assert direction.find("sound").get("tempo") == "120"
    assert direction.findtext("direction-type/metronome/beat-unit") == "quarter"
    assert direction.findtext("direction-type/metronome/per-minute") == "120"


def test_six_eight_writes_dotted_quarter_tempo_and_full_bars(tmp_path: Path) -> None:
    grid = grid_for(beats_per_bar=6, beat_unit=8, bpm=40.0)  # eighths every 0.5 s
    hits = [Hit(n * BEAT, "hihat_closed", 0.5) for n in range(6)] + [
        Hit(0, "kick", 0.9),
        Hit(3 * BEAT, "snare", 0.9),
    ]
    hits.append(Hit(7 * BEAT + BEAT / 2, "snare", 0.5))
    write_musicxml(place_hits(hits, grid), grid, "Six Eight", tmp_path / "68.musicxml")
    root = ET.parse(tmp_path / "68.musicxml").getroot()
    assert root.findtext("part/measure/attributes/time/beat-type") == "8"
    metronome = root.find("part/measure/direction/direction-type/metronome")
    assert metronome.find("beat-unit-dot") is not None and metronome.findtext("per-minute") == "40"
    assert root.find("part/measure/direction/sound").get("tempo") == "60"
    for measure in root.findall("part/measure"):
        totals: dict[str, int] = defaultdict(int)
        for note in measure.findall("note"):
            if note.find("chord") is None:
                totals[note.findtext("voice")] += int(note.findtext("duration"))
        assert set(totals.values()) == {36}
    # The kick on 1 is followed by a quarter rest and a dotted-quarter rest, not four eighth rests.
    feet = [n for n in root.find("part/measure").findall("note") if n.findtext("voice") == "2"]
    assert [(n.find("rest") is not None, n.findtext("duration")) for n in feet] == [
        (False, "6"),
        (True, "12"),
        (True, "18"),
    ]
    # Bar 1's hi-hats are beamed in threes, by the dotted-quarter pulse.
    heads = [
        n
        for n in root.find("part/measure").findall("note")
        if n.findtext("voice") == "1" and n.find("chord") is None
    ]
    assert [n.findtext("beam[@number='1']") for n in heads] == ["begin", "continue", "end"] * 2


def test_a_pickup_is_a_short_implicit_measure_zero(tmp_path: Path) -> None:
    beats = tuple(i * BEAT for i in range(40))
    grid = TempoGrid(bpm=120.0, beats=beats, downbeat=4, beats_per_bar=4, beat_unit=4, pickup_beats=1)
    hits = [Hit(3 * BEAT + k * BEAT / 4, "snare", 0.8) for k in range(4)]
    hits += [Hit(4 * BEAT, "crash", 0.9), Hit(4 * BEAT, "kick", 0.9), Hit(6 * BEAT, "kick", 0.9)]
    path = tmp_path / "pickup.musicxml"
    write_musicxml(place_hits(hits, grid), grid, "Pickup", path)
    check_musicxml(path, grid)
    measures = ET.parse(path).getroot().findall("part/measure")
    pickup, bar_one = measures[0], measures[1]
    assert (pickup.get("number"), pickup.get("implicit")) == ("0", "yes")
    assert (bar_one.get("number"), bar_one.get("implicit")) == ("1", None)
    # The pickup holds one beat: four 16th snares, the time signature and the tempo.
    assert pickup.findtext("attributes/time/beats") == "4" and pickup.find("direction") is not None
    notes = pickup.findall("note")
    assert [(n.findtext("type"), n.findtext("duration")) for n in notes] == [("16th", "3")] * 4
    assert bar_one.find("attributes") is None


def test_tempo_changes_are_written_at_their_bars(tmp_path: Path) -> None:
    grid = replace(grid_for(), tempo_changes=(TempoChange(3, 132.0), TempoChange(5, 120.0)))
    hits = [Hit(n * BEAT, "kick", 0.9) for n in range(24)]
    path = tmp_path / "tempo.musicxml"
    write_musicxml(place_hits(hits, grid), grid, "Tempo", path)
    marks = [
        (
            m.get("number"),
            m.findtext("direction/direction-type/metronome/per-minute"),
            m.find("direction/sound"),
        )
        for m in ET.parse(path).getroot().findall("part/measure")
        if m.find("direction") is not None
    ]
    assert [(number, bpm) for number, bpm, _ in marks] == [("1", "120"), ("3", "132"), ("5", "120")]
    assert [sound.get("tempo") for *_, sound in marks] == ["120", "132", "120"]


def test_a_first_section_off_the_main_tempo_is_marked_at_bar_one(tmp_path: Path) -> None:
    grid = replace(grid_for(bpm=100.0), tempo_changes=(TempoChange(1, 92.0), TempoChange(3, 100.0)))
    path = tmp_path / "first.musicxml"
    write_musicxml(place_hits([Hit(n * BEAT, "kick", 0.9) for n in range(16)], grid), grid, "First", path)
    first = ET.parse(path).getroot().find("part/measure")
    assert first.findtext("direction/direction-type/metronome/per-minute") == "92"


def test_nothing_to_write_is_still_a_valid_bar(tmp_path: Path) -> None:
    count = write_musicxml([], grid_for(), "Silence", tmp_path / "empty.musicxml")
    root = ET.parse(tmp_path / "empty.musicxml").getroot()
    assert count == 0
    assert len(root.findall("part/measure")) == 1
    assert root.find("part/measure/note/rest").get("measure") == "yes"
    # No notes: the part still declares a drum kit, the whole key.
    unpitched = {int(m.findtext("midi-unpitched")) for m in root.iter("midi-instrument")}
    assert unpitched == set(EXPECTED)
    check_musicxml(tmp_path / "empty.musicxml", grid_for())


@pytest.mark.parametrize("signature", ["4/4", "3/4", "2/4", "5/4", "6/8", "7/8", "12/8"])
def test_every_accepted_meter_writes_bars_that_add_up(tmp_path: Path, signature: str) -> None:
    top, bottom = (int(x) for x in signature.split("/"))
    grid = grid_for(beats_per_bar=top, beat_unit=bottom)
    # Busy, uneven material: every instrument, off-beat 16ths, triplet-ish spots, gaps, all loudnesses.
    hits = [
        Hit(k * BEAT * 0.37, INSTRUMENTS[k % len(INSTRUMENTS)], 0.7, (k * 37) % 127 + 1 if k % 5 else None)
        for k in range(90)
    ]
    path = tmp_path / "meter.musicxml"
    count = write_musicxml(place_hits(hits, grid), grid, signature, path)
    assert count == len(place_hits(hits, grid))
    check_musicxml(path, grid)


# --------------------------------------------------------------------------- the drum kit and how it is played
def sheet(tmp_path: Path, hits: list[Hit], name: str = "kit") -> list[tuple[int, ET.Element]]:
    """Write ``hits`` (4/4, 120 bpm), check the file, and return (midi-unpitched, <note>) per written note."""
    path = tmp_path / f"{name}.musicxml"
    write_musicxml(place_hits(hits, grid_for()), grid_for(), name, path)
    check_musicxml(path, grid_for())
    root = ET.parse(path).getroot()
    midi = {m.get("id"): int(m.findtext("midi-unpitched")) for m in root.iter("midi-instrument")}
    return [(midi[n.find("instrument").get("id")], n) for n in notes(root)]


def of(written: list[tuple[int, ET.Element]], instrument: str) -> list[ET.Element]:
    return [note for number, note in written if number == KEY_BY_NAME[instrument]]


def test_every_instrument_has_its_own_line_notehead_and_voice(tmp_path: Path) -> None:
    """All twelve, one per 8th note, each where NOTATION.md's drum key puts it."""
    hits = [Hit(k * BEAT / 2, name, 0.9) for k, name in enumerate(INSTRUMENTS)]
    written = sheet(tmp_path, hits)
    assert sorted(number for number, _ in written) == sorted(EXPECTED)
    looks = set()
    for number, note in written:
        step, octave, notehead, voice = EXPECTED[number]
        assert (note.findtext("unpitched/display-step"), note.findtext("unpitched/display-octave")) == (
            step,
            octave,
        ), number
        assert note.findtext("notehead") == notehead, number
        assert note.findtext("voice") == voice and note.findtext("stem") == ("up" if voice == "1" else "down")
        looks.add((step, octave, notehead or "normal"))
    assert len(looks) == 12  # no two instruments look alike on the staff
    # The drum key in code is NOTATION.md's: GM numbers too.
    assert {name: sound.midi_unpitched for name, sound in DRUM_KEY.items()} == KEY_BY_NAME


def test_open_hihat_has_circle_x_and_an_o_above(tmp_path: Path) -> None:
    hits = [Hit(k * BEAT / 2, "hihat_open" if k == 3 else "hihat_closed", 0.9) for k in range(4)]
    written = sheet(tmp_path, hits)
    (open_hat,) = of(written, "hihat_open")
    assert open_hat.findtext("notehead") == "circle-x"
    technical = open_hat.find("notations/technical")
    # <open/> for MusicXML 3.1+ readers, <open-string/> for MuseScore 3, which ignores <open/>.
    assert [mark.tag for mark in technical] == ["open", "open-string"]
    assert all(mark.get("placement") == "above" for mark in technical)
    for closed in of(written, "hihat_closed"):
        assert closed.find("notations/technical") is None
        assert closed.findtext("notehead") == "x"


def test_pedal_hihat_is_a_foot_below_the_staff(tmp_path: Path) -> None:
    written = sheet(tmp_path, [Hit(BEAT, "hihat_pedal", 0.9, 70), Hit(0.0, "kick", 0.9, 100)])
    (pedal,) = of(written, "hihat_pedal")
    assert pedal.findtext("voice") == "2" and pedal.findtext("stem") == "down"
    assert (pedal.findtext("unpitched/display-step"), pedal.findtext("unpitched/display-octave")) == (
        "D",
        "4",
    )
    assert pedal.findtext("notehead") == "x" and pedal.find("notations") is None


def test_ghost_notes_are_in_parentheses(tmp_path: Path) -> None:
    hits = [
        Hit(BEAT, "snare", 0.9, 100),
        Hit(3 * BEAT, "snare", 0.9, 100),
        Hit(1.75 * BEAT, "snare", 0.9, 35),  # ghost
        Hit(2.5 * BEAT, "snare", 0.9, 60),  # soft, not a ghost
        Hit(4 * BEAT + BEAT, "cross_stick", 0.9, 40),  # bar 2: a ghost click, alone in its bar
        Hit(0.0, "kick", 0.9, 110),
        Hit(2 * BEAT, "kick", 0.9, 110),
        Hit(2.75 * BEAT, "kick", 0.9, 35),  # feathered kick
        *(
            Hit(k * BEAT / 2, "hihat_closed", 0.9, 100 if k else 20) for k in range(8)
        ),  # a quiet hat: no ghost
    ]
    written = sheet(tmp_path, hits)
    snares = {note.get("dynamics"): note.find("notehead") for note in of(written, "snare")}
    assert snares[dynamics_for(35)].get("parentheses") == "yes" and snares[dynamics_for(35)].text == "normal"
    assert snares[dynamics_for(100)] is None and snares[dynamics_for(60)] is None
    (click,) = of(written, "cross_stick")
    assert click.find("notehead").get("parentheses") == "yes" and click.findtext("notehead") == "x"
    kicks = {note.get("dynamics"): note.find("notehead") for note in of(written, "kick")}
    assert kicks[dynamics_for(35)].get("parentheses") == "yes" and kicks[dynamics_for(110)] is None
    assert all(n.find("notehead").get("parentheses") is None for n in of(written, "hihat_closed"))
    ghosts = [n for _, n in written if n.find("notehead[@parentheses='yes']") is not None]
    assert len(ghosts) == 3


def test_accents_on_clearly_louder_strokes_once_per_chord(tmp_path: Path) -> None:
    hits = [Hit(k * BEAT / 2, "hihat_closed", 0.9, 120 if k in (0, 6) else 75) for k in range(8)]
    hits += [Hit(BEAT, "snare", 0.9, 100), Hit(3 * BEAT, "snare", 0.9, 125)]  # 125 vs 100: accented
    # Bar 2: loud downbeats and soft upbeats are no accents.
    hits += [Hit(4 * BEAT + k * BEAT / 2, "ride", 0.9, 90 if k % 2 == 0 else 60) for k in range(8)]
    written = sheet(tmp_path, hits)

    def accented(note: ET.Element) -> bool:
        return note.find("notations/articulations/accent") is not None

    hats = of(written, "hihat_closed")
    # Beat 4 is a chord of an accented snare and an accented hi-hat: readers hang an accent on the
    # chord, so it is written once, on the chord's first note (the snare, lower on the staff).
    snare_on_four = next(n for n in of(written, "snare") if n.get("dynamics") == dynamics_for(125))
    assert snare_on_four.find("chord") is None and hats[6].find("chord") is not None
    assert accented(snare_on_four)
    assert [accented(n) for n in hats] == [True, False, False, False, False, False, False, False]
    assert not any(accented(n) for n in of(written, "ride"))
    assert not accented(next(n for n in of(written, "snare") if n.get("dynamics") == dynamics_for(100)))


def test_dynamics_are_percent_of_velocity_ninety(tmp_path: Path) -> None:
    assert dynamics_for(90) == "100" and dynamics_for(81) == "90" and dynamics_for(127) == "141.11"
    assert dynamics_for(1) == "1.11" and dynamics_for(45) == "50"
    velocities = [127, 90, 81, 45, 1]
    written = sheet(tmp_path, [Hit(k * BEAT, "tom_high", 0.9, v) for k, v in enumerate(velocities)])
    assert [n.get("dynamics") for n in of(written, "tom_high")] == ["141.11", "100", "90", "50", "1.11"]
    for note in of(written, "tom_high"):
        assert round(float(note.get("dynamics")) * 0.9) in velocities  # what MuseScore reads back


def test_without_velocity_no_ghost_accent_or_dynamics(tmp_path: Path) -> None:
    hits = [Hit(k * BEAT / 2, name, 0.1 + k / 20) for k, name in enumerate(INSTRUMENTS)]
    hits += [Hit(6 * BEAT + k * BEAT / 4, "snare", 0.05) for k in range(4)]
    written = sheet(tmp_path, hits)
    for _, note in written:
        assert note.get("dynamics") is None
        assert note.find("notehead[@parentheses]") is None
        assert note.find("notations/articulations") is None
    # The open hi-hat's o does not depend on loudness.
    assert of(written, "hihat_open")[0].find("notations/technical/open") is not None


def test_instruments_sharing_a_line_are_written_once_per_slot(tmp_path: Path) -> None:
    """Closed and open hi-hat at one time cannot both be drawn on G5: the more confident is written."""
    hits = [Hit(0.0, "hihat_closed", 0.6), Hit(0.005, "hihat_open", 0.8), Hit(0.0, "snare", 0.9)]
    hits += [Hit(BEAT, "ride", 0.9), Hit(BEAT, "ride_bell", 0.4), Hit(BEAT, "crash", 0.9)]
    written = sheet(tmp_path, hits)
    assert sorted(number for number, _ in written) == sorted(
        KEY_BY_NAME[n] for n in ("hihat_open", "snare", "ride", "crash")
    )
