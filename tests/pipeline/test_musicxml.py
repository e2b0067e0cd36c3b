"""The written MusicXML against shared/docs/NOTATION.md, element by element."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from groovesheet_worker.pipeline.musicxml import write_musicxml
from groovesheet_worker.pipeline.quantize import place_hits
from groovesheet_worker.pipeline.types import Hit, PlacedHit, TempoGrid

BEAT = 0.5
# NOTATION.md's drum key for our instruments: midi-unpitched, display step and octave, notehead.
EXPECTED = {
    37: ("F", "4", None, "2"),  # kick
    39: ("C", "5", None, "1"),  # snare
    43: ("G", "5", "x", "1"),  # closed hi-hat
    52: ("F", "5", "x", "1"),  # ride
    50: ("A", "5", "x", "1"),  # crash
    48: ("D", "5", None, "1"),  # mid tom
}


def grid_for(beats_per_bar: int = 4, beat_unit: int = 4, bpm: float = 120.0) -> TempoGrid:
    beats = tuple(i * BEAT for i in range(64))
    return TempoGrid(bpm=bpm, beats=beats, downbeat=0, beats_per_bar=beats_per_bar, beat_unit=beat_unit)


def groove() -> list[Hit]:
    """Four bars: 8th hats with kick/snare, a ride bar with a 16th kick figure, a triplet fill, an empty bar."""
    hits = [Hit(0.0, "crash", 0.9)]
    for n in range(4):  # bar 1
        t = n * BEAT
        hits += [Hit(t, "hihat", 0.6), Hit(t + BEAT / 2, "hihat", 0.5)]
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
            hits += [Hit(t, "hihat", 0.6), Hit(t, "kick" if n == 8 else "snare", 0.9)]
        else:
            hits += [Hit(t + k * BEAT / 3, "snare" if n == 10 else "tom", 0.8) for k in range(3)]
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
    unpitched = {int(m.findtext("midi-unpitched")) for m in midi.values()}
    assert unpitched == set(EXPECTED)
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
    gm_plus_one = {"kick": 37, "snare": 39, "hihat": 43, "ride": 52, "crash": 50, "tom": 48}
    assert written_sounds == Counter(gm_plus_one[p.hit.instrument] for p in placed)


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
    hits = [Hit(k * BEAT / 4, "hihat", 0.5) for k in range(4)] + [
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
    hits = [Hit(n * BEAT, "hihat", 0.5) for n in range(6)] + [
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


def test_nothing_to_write_is_still_a_valid_bar(tmp_path: Path) -> None:
    count = write_musicxml([], grid_for(), "Silence", tmp_path / "empty.musicxml")
    root = ET.parse(tmp_path / "empty.musicxml").getroot()
    assert count == 0
    assert len(root.findall("part/measure")) == 1
    assert root.find("part/measure/note/rest").get("measure") == "yes"


@pytest.mark.parametrize("signature", ["4/4", "3/4", "2/4", "5/4", "6/8", "7/8", "12/8"])
def test_every_accepted_meter_writes_bars_that_add_up(tmp_path: Path, signature: str) -> None:
    from groovesheet_worker.pipeline.notation_check import check_musicxml

    top, bottom = (int(x) for x in signature.split("/"))
    grid = grid_for(beats_per_bar=top, beat_unit=bottom)
    # Busy, uneven material: every instrument, off-beat 16ths, triplet-ish spots, gaps.
    hits = [
        Hit(k * BEAT * 0.37, ("kick", "snare", "hihat", "ride", "crash", "tom")[k % 6], 0.7)
        for k in range(60)
    ]
    path = tmp_path / "meter.musicxml"
    count = write_musicxml(place_hits(hits, grid), grid, signature, path)
    assert count == len(place_hits(hits, grid))
    check_musicxml(path, grid)
