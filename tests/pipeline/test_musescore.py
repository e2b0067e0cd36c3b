"""Integration: MuseScore 3 opens our MusicXML as a drum part and renders it."""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from groovesheet_worker.pipeline.musicxml import write_musicxml
from groovesheet_worker.pipeline.notation_check import check_musicxml
from groovesheet_worker.pipeline.quantize import place_hits
from groovesheet_worker.pipeline.types import Hit, TempoGrid

MSCORE = shutil.which("mscore3") or shutil.which("musescore3")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(MSCORE is None, reason="MuseScore 3 (Debian package musescore3) is not installed"),
]
BPM = 104.0
BEAT = 60.0 / BPM


def realistic_groove() -> list[Hit]:
    """Eight bars with human timing: 8th hats, a 16th kick figure, a ride section, a triplet fill, crashes."""
    hits: list[Hit] = []
    swing = [0.008, -0.006, 0.012, -0.004, 0.0, 0.005, -0.01, 0.003]
    for bar in range(8):
        for beat in range(4):
            t = 0.25 + (bar * 4 + beat) * BEAT + swing[(bar + beat) % 8]
            cymbal = "ride" if 4 <= bar < 6 else "hihat"
            if bar == 7 and beat >= 2:
                fill = "snare" if beat == 2 else "tom"
                hits += [Hit(t + k * BEAT / 3, fill, 0.8) for k in range(3)]
            else:
                hits += [Hit(t, cymbal, 0.6), Hit(t + BEAT / 2, cymbal, 0.45)]
            if beat == 0:
                hits.append(Hit(t, "kick", 0.95))
                if bar in (0, 4):
                    hits.append(Hit(t, "crash", 0.9))
            if beat == 1 or (beat == 3 and bar != 7):
                hits.append(Hit(t, "snare", 0.9))
            if beat == 2 and bar != 7:
                hits += [Hit(t, "kick", 0.85), Hit(t + 3 * BEAT / 4, "kick", 0.6)]
    end = 0.25 + 32 * BEAT
    return [*hits, Hit(end, "crash", 0.95), Hit(end, "kick", 0.95)]


def run_mscore(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(
        [str(MSCORE), *args], env=env, capture_output=True, text=True, timeout=180, check=False
    )


@pytest.fixture(scope="module")
def score(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, TempoGrid]:
    folder = tmp_path_factory.mktemp("musescore")
    grid = TempoGrid(
        bpm=BPM,
        beats=tuple(0.25 + (i - 2) * BEAT for i in range(48)),
        downbeat=2,
        beats_per_bar=4,
        beat_unit=4,
    )
    path = folder / "groove.musicxml"
    count = write_musicxml(place_hits(realistic_groove(), grid), grid, "Realistic Groove", path)
    check_musicxml(path, grid)
    return path, count, grid


def test_musescore_renders_a_pdf(score: tuple[Path, int, TempoGrid]) -> None:
    path, _, _ = score
    pdf = path.with_suffix(".pdf")
    result = run_mscore("-o", str(pdf), str(path))
    assert result.returncode == 0, result.stderr
    assert pdf.exists() and pdf.stat().st_size > 5_000
    assert pdf.read_bytes().startswith(b"%PDF")


def test_musescore_keeps_it_a_drum_part(score: tuple[Path, int, TempoGrid]) -> None:
    path, count, grid = score
    back = path.with_name("back.musicxml")
    result = run_mscore("-o", str(back), str(path))
    assert result.returncode == 0, result.stderr
    root = ET.parse(back).getroot()
    assert root.findtext(".//clef/sign") == "percussion"
    notes = [n for n in root.iter("note") if n.find("rest") is None]
    assert len(notes) == count
    assert all(n.find("unpitched") is not None and n.find("pitch") is None for n in notes)
    # Same instruments and sounds: ids, channel 10 and GM + 1 survive the round trip.
    midi = {m.get("id"): m for m in root.iter("midi-instrument")}
    assert {m.findtext("midi-channel") for m in midi.values()} == {"10"}
    used = {n.find("instrument").get("id") for n in notes}
    assert {int(midi[i].findtext("midi-unpitched")) for i in used} == {37, 39, 43, 52, 50, 48}
    # MuseScore kept our measures and voices: they still add up.
    check_musicxml(back, grid)
    assert len(root.findall("part/measure")) == 9
