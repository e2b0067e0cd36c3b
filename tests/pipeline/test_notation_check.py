"""The final notation check passes our own output and fails broken files as bugs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from groovesheet_shared.errors import TranscriptionError
from groovesheet_worker.pipeline.musicxml import write_musicxml
from groovesheet_worker.pipeline.notation_check import check_musicxml
from groovesheet_worker.pipeline.quantize import place_hits
from groovesheet_worker.pipeline.types import Hit, TempoGrid

GRID = TempoGrid(bpm=120.0, beats=tuple(i * 0.5 for i in range(40)), downbeat=0, beats_per_bar=4, beat_unit=4)


@pytest.fixture
def good(tmp_path: Path) -> Path:
    hits = [Hit(k * 0.25, "hihat", 0.5) for k in range(16)]
    hits += [Hit(k * 0.5, "kick" if k % 2 == 0 else "snare", 0.9) for k in range(8)]
    hits += [Hit(1.5 + k / 6, "tom", 0.6) for k in range(3)]
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
