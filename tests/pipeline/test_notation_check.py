"""The final notation check passes our own output and fails broken files as bugs."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from groovesheet_shared.errors import TranscriptionError
from groovesheet_worker.pipeline.musicxml import write_musicxml
from groovesheet_worker.pipeline.notation_check import check_musicxml
from groovesheet_worker.pipeline.quantize import place_hits
from groovesheet_worker.pipeline.types import INSTRUMENTS, Hit, TempoGrid

GRID = TempoGrid(bpm=120.0, beats=tuple(i * 0.5 for i in range(40)), downbeat=0, beats_per_bar=4, beat_unit=4)


@pytest.fixture
def good(tmp_path: Path) -> Path:
    hits = [Hit(k * 0.25, "hihat_open" if k == 6 else "hihat_closed", 0.5, 70) for k in range(16)]
    hits += [Hit(k * 0.5, "kick" if k % 2 == 0 else "snare", 0.9, 100) for k in range(8)]
    hits += [Hit(1.5 + k / 6, "tom_mid", 0.6, 80) for k in range(3)]
    hits += [Hit(0.75, "snare", 0.6, 30), Hit(2.5, "hihat_pedal", 0.7)]
    path = tmp_path / "output.musicxml"
    write_musicxml(place_hits(hits, GRID), GRID, "Check", path)
    return path


def broken(path: Path, pattern: str, replacement: str, count: int = 1) -> Path:
    text = path.read_text(encoding="utf-8")
    changed = re.sub(pattern, replacement, text, count=count, flags=re.S)
    assert changed != text, "the test's edit did not apply"
    path.write_text(changed, encoding="utf-8")
    return path


def assert_bug(path: Path, grid: TempoGrid = GRID) -> str:
    with pytest.raises(TranscriptionError) as caught:
        check_musicxml(path, grid)
    assert caught.value.code == "notation_check_failed"
    assert caught.value.retryable is False
    assert "bug" in caught.value.message
    return caught.value.message


def test_our_output_passes(good: Path) -> None:
    check_musicxml(good, GRID)


def test_not_xml(good: Path) -> None:
    assert_bug(broken(good, r"</score-partwise>", ""))


def test_missing_file(tmp_path: Path) -> None:
    assert_bug(tmp_path / "nothing.musicxml")


def test_a_short_measure(good: Path) -> None:
    message = assert_bug(broken(good, r"<duration>6</duration>", "<duration>3</duration>"))
    assert "measure 1" in message


def test_a_voice_longer_than_the_bar(good: Path) -> None:
    assert_bug(broken(good, r"(<backup>\s*<duration>)48", r"\g<1>36"))


def test_a_chord_note_of_another_length(good: Path) -> None:
    assert_bug(broken(good, r"(<chord />.*?<duration>)\d+", r"\g<1>1"))


def test_a_pitched_note(good: Path) -> None:
    assert_bug(broken(good, r"<unpitched>.*?</unpitched>", "<pitch><step>C</step><octave>5</octave></pitch>"))


def test_a_note_without_instrument(good: Path) -> None:
    assert_bug(broken(good, r'<instrument id="[^"]+" />', ""))


def test_an_undeclared_instrument(good: Path) -> None:
    assert_bug(broken(good, r'<instrument id="P1-I39" />', '<instrument id="P1-I99" />'))


def test_wrong_channel(good: Path) -> None:
    assert_bug(broken(good, r"<midi-channel>10</midi-channel>", "<midi-channel>1</midi-channel>"))


def test_not_a_percussion_clef(good: Path) -> None:
    assert_bug(broken(good, r"<sign>percussion</sign>", "<sign>G</sign>"))


def test_time_signature_differs_from_the_grid(good: Path) -> None:
    waltz = TempoGrid(bpm=120.0, beats=GRID.beats, downbeat=0, beats_per_bar=3, beat_unit=4)
    assert_bug(good, waltz)


def test_forward_fills_a_voice(good: Path) -> None:
    """<forward> counts towards its voice: swapping a measure rest for a forward still adds up."""
    text = good.read_text(encoding="utf-8")
    empty_bar = (
        '<measure number="2"><note><rest measure="yes" /><duration>48</duration><voice>1</voice></note>'
        "<backup><duration>48</duration></backup><forward><duration>48</duration><voice>2</voice></forward>"
        "</measure>"
    )
    good.write_text(text.replace("</part>", empty_bar + "</part>"), encoding="utf-8")
    check_musicxml(good, GRID)


def test_every_instrument_and_articulation_passes(tmp_path: Path) -> None:
    hits = [Hit(k * 0.25, name, 0.9, 20 + 9 * k) for k, name in enumerate(INSTRUMENTS)]
    hits += [Hit(4.0 + k * 0.25, name, 0.9) for k, name in enumerate(INSTRUMENTS)]
    path = tmp_path / "kit.musicxml"
    write_musicxml(place_hits(hits, GRID), GRID, "Kit", path)
    check_musicxml(path, GRID)


def test_an_instrument_off_its_line(good: Path) -> None:
    # The first tom (D5) moved to the snare's line.
    message = assert_bug(
        broken(
            good,
            r"<display-step>D</display-step>(\s*)<display-octave>5",
            r"<display-step>C</display-step>\g<1><display-octave>5",
        )
    )
    assert "Low-Mid Tom on C5" in message


def test_an_instrument_with_another_notehead(good: Path) -> None:
    message = assert_bug(broken(good, r"<notehead>circle-x</notehead>", "<notehead>x</notehead>"))
    assert "Open Hi-Hat with a x notehead" in message


def test_a_ghost_note_keeps_its_notehead(good: Path) -> None:
    text = good.read_text(encoding="utf-8")
    assert '<notehead parentheses="yes">normal</notehead>' in text
    check_musicxml(good, GRID)
    assert_bug(
        broken(
            good, r'<notehead parentheses="yes">normal</notehead>', '<notehead parentheses="yes">x</notehead>'
        )
    )


def test_an_open_hihat_without_its_o(good: Path) -> None:
    text = good.read_text(encoding="utf-8")
    assert text.count("<open ") == 1 and text.count("<open-string ") == 1
    check_musicxml(broken(good, r"<open [^>]*/>", ""), GRID)  # MuseScore writes only <open-string/>
    message = assert_bug(broken(good, r"<open-string [^>]*/>", ""))
    assert "open hi-hat without its open mark" in message


def test_the_o_may_sit_on_another_note_of_the_chord(good: Path) -> None:
    """Notation programs keep articulations per chord; MuseScore writes them on the chord's first note."""
    tree = ET.parse(good)
    notes = list(tree.getroot().iter("note"))
    index = next(i for i, n in enumerate(notes) if n.find("instrument[@id='P1-I47']") is not None)
    first = next(n for n in reversed(notes[: index + 1]) if n.find("chord") is None)
    assert first is not notes[index]  # the open hi-hat (G5) is not its chord's first note
    notations = notes[index].find("notations")
    notes[index].remove(notations)
    first.append(notations)
    tree.write(good)
    check_musicxml(good, GRID)
    notations.clear()
    tree.write(good)
    assert "open hi-hat without its open mark" in assert_bug(good)


def test_a_sound_outside_the_drum_key(good: Path) -> None:
    message = assert_bug(
        broken(good, r"<midi-unpitched>48</midi-unpitched>", "<midi-unpitched>60</midi-unpitched>")
    )
    assert "not a sound of the drum key" in message


def test_two_instruments_with_one_sound(good: Path) -> None:
    message = assert_bug(
        broken(good, r"<midi-unpitched>48</midi-unpitched>", "<midi-unpitched>39</midi-unpitched>")
    )
    assert "two instruments play Acoustic Snare" in message


@pytest.mark.parametrize("value", ["-5", "loud", ""])
def test_dynamics_must_be_a_number(good: Path, value: str) -> None:
    assert_bug(broken(good, r'dynamics="[^"]+"', f'dynamics="{value}"'))


def pickup_sheet(tmp_path: Path) -> tuple[Path, TempoGrid]:
    grid = TempoGrid(bpm=120.0, beats=GRID.beats, downbeat=4, beats_per_bar=4, beat_unit=4, pickup_beats=2)
    hits = [Hit(1.0 + k * 0.25, "snare", 0.8) for k in range(4)] + [
        Hit(2.0, "kick", 0.9),
        Hit(2.0, "crash", 0.9),
    ]
    path = tmp_path / "pickup.musicxml"
    write_musicxml(place_hits(hits, grid), grid, "Pickup", path)
    return path, grid


def test_a_pickup_measure_adds_up_to_the_pickup(tmp_path: Path) -> None:
    path, grid = pickup_sheet(tmp_path)
    check_musicxml(path, grid)
    # The same short measure without the grid's pickup is a bug.
    assert "pickup" in assert_bug(path, replace(grid, pickup_beats=0))
    # And a pickup measure one beat too long is one.
    assert "adds up" in assert_bug(path, replace(grid, pickup_beats=3))


def test_only_the_first_measure_may_be_a_pickup(tmp_path: Path) -> None:
    path, grid = pickup_sheet(tmp_path)
    broken(path, r'<measure number="1">', '<measure number="1" implicit="yes">')
    assert "pickup" in assert_bug(path, grid)
