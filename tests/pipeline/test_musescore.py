"""Integration: MuseScore 3 opens our MusicXML as a drum part, renders it, and keeps what we wrote.

Two scores: a realistic groove, and the whole kit with every articulation. Rendering is checked in
MuseScore's own SVG (where each notehead, articulation and parenthesis is a path), re-import in the
MusicXML and the MSCX MuseScore writes back.
"""

from __future__ import annotations

import os
import re
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
            cymbal = "ride" if 4 <= bar < 6 else "hihat_closed"
            if bar == 7 and beat >= 2:
                fill = "snare" if beat == 2 else "tom_mid"
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


# --------------------------------------------------------------------------- the whole kit, every articulation
KIT_BEAT = 0.5  # 120 bpm
KIT_GRID = TempoGrid(
    bpm=120.0, beats=tuple(i * KIT_BEAT for i in range(64)), downbeat=0, beats_per_bar=4, beat_unit=4
)
# NOTATION.md's drum key, by hand: GM note, staff position in half spaces below the top line (F5),
# and notehead as MuseScore names it.
KEY = {
    "kick": (36, 7, "normal"),
    "snare": (38, 3, "normal"),
    "cross_stick": (37, 3, "cross"),
    "hihat_closed": (42, -1, "cross"),
    "hihat_open": (46, -1, "xcircle"),
    "hihat_pedal": (44, 9, "cross"),
    "ride": (51, 0, "cross"),
    "ride_bell": (53, 0, "diamond"),
    "crash": (49, -2, "cross"),
    "tom_high": (50, 1, "normal"),
    "tom_mid": (47, 2, "normal"),
    "tom_floor": (43, 5, "normal"),
}
STEPS = {"F4": 7, "C5": 3, "G5": -1, "D4": 9, "F5": 0, "A5": -2, "E5": 1, "D5": 2, "A4": 5}
PARTS = {"normal": None, "cross": "x", "xcircle": "circle-x", "diamond": "diamond"}  # MuseScore -> MusicXML


def kit_row() -> list[Hit]:
    """The twelve instruments one after another in 8th notes, at one loudness: no marks but open/pedal."""
    return [Hit(k * KIT_BEAT / 2, name, 0.9, 80) for k, name in enumerate(KEY)]


def feature_groove() -> list[Hit]:
    """Three bars with ghost notes, accents, open and pedal hi-hat, ride bell, cross-stick, toms."""
    b = KIT_BEAT
    hits = []
    # Bar 1: 8th closed hats, accent on 1, open on the & of 4; backbeat with two ghost snares.
    for k in range(8):
        hits.append(Hit(k * b / 2, "hihat_open" if k == 7 else "hihat_closed", 0.9, 120 if k == 0 else 75))
    hits += [Hit(0, "kick", 0.9, 100), Hit(2 * b, "kick", 0.9, 100)]
    hits += [Hit(b, "snare", 0.9, 105), Hit(3 * b, "snare", 0.9, 105)]
    hits += [Hit(1.75 * b, "snare", 0.9, 35), Hit(2.25 * b, "snare", 0.9, 30)]
    # Bar 2: ride with the bell on 1 and 3, pedal hat and cross-stick on 2 and 4, a ghost click, a feathered kick.
    for k in range(8):
        hits.append(Hit(4 * b + k * b / 2, "ride_bell" if k in (0, 4) else "ride", 0.9, 90))
    hits += [Hit(5 * b, "hihat_pedal", 0.9, 70), Hit(7 * b, "hihat_pedal", 0.9, 70)]
    hits += [Hit(5 * b, "cross_stick", 0.9, 90), Hit(7 * b, "cross_stick", 0.9, 90)]
    hits += [Hit(6.5 * b, "cross_stick", 0.9, 40)]
    hits += [Hit(4 * b, "kick", 0.9, 110), Hit(6 * b, "kick", 0.9, 110), Hit(6.75 * b, "kick", 0.9, 35)]
    # Bar 3: crash and kick on 1, 16ths down the toms, the last floor tom accented.
    hits += [Hit(8 * b, "crash", 0.9, 127), Hit(8 * b, "kick", 0.9, 110)]
    hits += [Hit(9 * b + k * b / 4, "tom_high", 0.9, 90) for k in range(4)]
    hits += [Hit(10 * b + k * b / 4, "tom_mid", 0.9, 90) for k in range(4)]
    hits += [Hit(11 * b + k * b / 4, "tom_floor", 0.9, 127 if k == 3 else 85) for k in range(4)]
    return hits


# What feature_groove() must show: ghost notes per instrument, accented chords, open hi-hats.
FEATURE_GHOSTS = {"snare": 2, "cross_stick": 1, "kick": 1}
FEATURE_ACCENTS = 2  # the first hi-hat, the last floor tom
FEATURE_OPEN = 1


def write_kit(folder: Path, name: str, hits: list[Hit]) -> tuple[Path, list]:
    path = folder / f"{name}.musicxml"
    placed = place_hits(hits, KIT_GRID)
    assert write_musicxml(placed, KIT_GRID, name, path) == len(placed)
    check_musicxml(path, KIT_GRID)
    return path, placed


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, list]]:
    folder = tmp_path_factory.mktemp("kit")
    return {
        "row": write_kit(folder, "row", kit_row()),
        "features": write_kit(folder, "features", feature_groove()),
    }


def svg_paths(svg: Path, kind: str) -> list[tuple[float, float, float, float, tuple[int, int, int]]]:
    """MuseScore's SVG paths of one class: bounding box (x0, y0, x1, y1) and a glyph signature
    (how many coordinates the outline has, its width and height: the same anywhere on the page)."""
    found = []
    for d in re.findall(rf'<path class="{kind}"[^>]* d="([^"]+)"', svg.read_text()):
        numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", d)]
        xs, ys = numbers[0::2], numbers[1::2]
        glyph = (len(numbers), round(max(xs) - min(xs)), round(max(ys) - min(ys)))
        found.append((min(xs), min(ys), max(xs), max(ys), glyph))
    return found


def staff_lines(svg: Path) -> list[float]:
    return sorted(
        float(y)
        for y in re.findall(r'<polyline class="StaffLines"[^>]* points="[\d.]+,([\d.]+) ', svg.read_text())
    )


def render_svg(path: Path) -> Path:
    result = run_mscore("-o", str(path.with_suffix(".svg")), str(path))
    assert result.returncode == 0, result.stderr
    pages = sorted(path.parent.glob(f"{path.stem}*.svg"))
    assert len(pages) == 1, pages  # one page: positions are read against one set of staves
    return pages[0]


def test_musescore_renders_the_kit_as_pdf_and_png(kit) -> None:
    for path, _ in kit.values():
        pdf, png = path.with_suffix(".pdf"), path.with_suffix(".png")
        for out in (pdf, png):
            result = run_mscore("-o", str(out), str(path))
            assert result.returncode == 0, result.stderr
        assert pdf.read_bytes().startswith(b"%PDF")
        page = path.with_name(f"{path.stem}-1.png")  # MuseScore numbers PNG pages
        assert page.read_bytes().startswith(b"\x89PNG") and page.stat().st_size > 20_000


def test_musescore_draws_every_instrument_on_its_own_line_and_notehead(kit) -> None:
    svg = render_svg(kit["row"][0])
    lines = staff_lines(svg)
    assert len(lines) == 5  # one system
    half_space = (lines[4] - lines[0]) / 8
    heads = sorted(svg_paths(svg, "Note"), key=lambda box: box[0])
    assert len(heads) == 12
    seen = {}
    for name, (_, y0, _, y1, glyph) in zip(KEY, heads, strict=True):
        step = round(((y0 + y1) / 2 - lines[0]) / half_space)
        assert step == KEY[name][1], name
        seen[name] = (step, glyph)
    assert len(set(seen.values())) == 12  # no two instruments look alike
    glyphs: dict[str, set[tuple[int, int, int]]] = {}
    for name, (_, glyph) in seen.items():
        glyphs.setdefault(KEY[name][2], set()).add(glyph)
    assert all(len(found) == 1 for found in glyphs.values()), glyphs  # one glyph per notehead kind
    assert len(set.union(*glyphs.values())) == 4  # normal, x, circle-x, diamond all differ
    # Only the open hi-hat carries a mark here: its o, above the staff, over its notehead.
    (mark,) = svg_paths(svg, "Articulation")
    open_head = heads[list(KEY).index("hihat_open")]
    assert mark[3] < open_head[1] and mark[0] < (open_head[0] + open_head[2]) / 2 < mark[2]
    assert svg_paths(svg, "Symbol") == []  # no parentheses


def test_musescore_draws_ghost_parentheses_accents_and_the_open_o(kit) -> None:
    path, placed = kit["features"]
    svg = render_svg(path)
    assert len(svg_paths(svg, "Note")) == len(placed)
    # Each ghost note is two parentheses; accents and the o are articulations.
    assert len(svg_paths(svg, "Symbol")) == 2 * sum(FEATURE_GHOSTS.values())
    assert len(svg_paths(svg, "Articulation")) == FEATURE_ACCENTS + FEATURE_OPEN


def back_notes(root: ET.Element) -> list[tuple[str, ET.Element]]:
    """(instrument name, <note>) for every note of a MusicXML file."""
    names = {i.get("id"): i.findtext("instrument-name") for i in root.iter("score-instrument")}
    return [(names[n.find("instrument").get("id")], n) for n in root.iter("note") if n.find("rest") is None]


def test_musescore_reimport_keeps_the_instruments_distinct(kit) -> None:
    """MusicXML written back by MuseScore: every instrument keeps its sound, line and notehead."""
    for path, placed in kit.values():
        back = path.with_name(f"{path.stem}.back.musicxml")
        result = run_mscore("-o", str(back), str(path))
        assert result.returncode == 0, result.stderr
        check_musicxml(back, KIT_GRID)
        root = ET.parse(back).getroot()
        unpitched = {i.get("id"): int(i.findtext("midi-unpitched")) for i in root.iter("midi-instrument")}
        by_sound = {}
        for _, note in back_notes(root):
            number = unpitched[note.find("instrument").get("id")]
            place = note.findtext("unpitched/display-step") + note.findtext("unpitched/display-octave")
            head = note.findtext("notehead") or "normal"
            by_sound.setdefault(number, set()).add((STEPS[place], head))
            by_sound.setdefault(("count", number), set()).add(id(note))
        used = {p.hit.instrument for p in placed}
        for name in used:
            gm, step, head = KEY[name]
            assert by_sound[gm + 1] == {(step, PARTS[head] or "normal")}, name
            assert len(by_sound[("count", gm + 1)]) == sum(p.hit.instrument == name for p in placed), name
        assert len({next(iter(by_sound[KEY[n][0] + 1])) for n in used}) == len(used)


def test_musescore_reimport_keeps_ghosts_accents_the_o_and_velocities(kit) -> None:
    path, placed = kit["features"]
    back = path.with_name("features.back.musicxml")
    if not back.exists():
        assert run_mscore("-o", str(back), str(path)).returncode == 0
    notes = back_notes(ET.parse(back).getroot())
    ghosts: dict[str, int] = {}
    for name, note in notes:
        if note.find("notehead[@parentheses='yes']") is not None:
            ghosts[name] = ghosts.get(name, 0) + 1
    assert ghosts == {"Acoustic Snare": 2, "Side Stick": 1, "Bass Drum 1": 1}
    assert sum(n.find("notations/articulations/accent") is not None for _, n in notes) == FEATURE_ACCENTS
    # MuseScore writes the o as <open-string/>, the element it reads.
    assert sum(n.find("notations/technical/open-string") is not None for _, n in notes) == FEATURE_OPEN
    # Loudness survives as dynamics: MuseScore's velocity = dynamics * 0.9 is ours.
    velocities = sorted(round(float(n.get("dynamics")) * 0.9) for _, n in notes)
    assert velocities == sorted(p.hit.velocity for p in placed)


def test_musescore_drumset_and_notes_in_mscx(kit) -> None:
    """MuseScore's own file: a drumset entry per instrument on its line, and the marks on the notes."""
    path, placed = kit["features"]
    mscx = path.with_suffix(".mscx")
    result = run_mscore("-o", str(mscx), str(path))
    assert result.returncode == 0, result.stderr
    root = ET.parse(mscx).getroot()
    drums = {int(d.get("pitch")): (int(d.findtext("line")), d.findtext("head")) for d in root.iter("Drum")}
    used = {p.hit.instrument for p in placed}
    assert used == set(KEY)  # the feature groove plays the whole kit
    assert drums == {gm: (step, head) for gm, step, head in KEY.values()}
    pitches = [int(n.findtext("pitch")) for n in root.iter("Note")]
    assert sorted(pitches) == sorted(KEY[p.hit.instrument][0] for p in placed)
    assert sorted(int(n.findtext("velocity")) for n in root.iter("Note")) == sorted(
        p.hit.velocity for p in placed
    )
    symbols = [s.findtext("name") for s in root.iter("Symbol")]
    assert symbols.count("noteheadParenthesisLeft") == symbols.count("noteheadParenthesisRight") == 4
    articulations = [a.findtext("subtype") for a in root.iter("Articulation")]
    assert sorted(articulations) == ["articAccentAbove", "articAccentAbove", "brassMuteOpen"]
