"""The printable PDF of a finished sheet: MuseScore 3 engraves the MusicXML on A4 and on Letter pages.

Why MuseScore and not verovio (which draws the page's preview): verovio's Python toolkit writes SVG
only, one page at a time, so a PDF would need a second renderer (and its fonts) to stitch pages; MuseScore
lays the whole part out as a drummer reads it (systems filled bar by bar, page breaks only between
systems, bar numbers at each system, the title and the tempo mark) and writes the PDF itself, in
about a second per page size. The cost is image size: the ``musescore3`` Debian package adds about
300 MB to the worker image (the models and torch are several GB).

The sheet is prepared before engraving: bar numbers at every system, the title, and a drum key on the
first page (each instrument of the part, from the top of the staff down, with its staff position and
notehead); MuseScore reads it into its own format, which is then set on A4 or Letter (same margins and
staff size) and engraved. A failure here never fails the job: the
sheet, MIDI and events are kept, and the PDF download says it is missing.
"""

from __future__ import annotations

import logging
import os
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from groovesheet_shared.outputs import PDF_FILES

logger = logging.getLogger(__name__)

# MuseScore's default page margins (15 mm), on both sides of the printable width.
MARGIN_INCHES = 15 / 25.4


@dataclass(frozen=True)
class Paper:
    name: str
    file_name: str
    width_inches: float
    height_inches: float


PAPERS: dict[str, Paper] = {
    "a4": Paper("a4", PDF_FILES["a4"], 210 / 25.4, 297 / 25.4),
    "letter": Paper("letter", PDF_FILES["letter"], 8.5, 11.0),
}
_STEPS = "CDEFGAB"
# The page the pipeline's MusicXML is laid out on (A4 in tenths), and where the added credits go.
A4_TENTHS = (1190.88, 1683.36)
TITLE_Y = A4_TENTHS[1] - 60
KEY_Y = A4_TENTHS[1] - 130


class EngravingFailed(Exception):
    """MuseScore did not produce the PDF (missing, crashed, timed out)."""


def drum_key(root: ET.Element) -> list[str]:
    """Each instrument the part uses, from the top of the staff down: 'Closed Hi-Hat (G5, x)'."""
    names = {
        instrument.get("id", ""): (instrument.findtext("instrument-name") or "").strip()
        for instrument in root.iter("score-instrument")
    }
    seen: dict[str, tuple[int, str, str]] = {}
    for note in root.iter("note"):
        instrument = note.find("instrument")
        unpitched = note.find("unpitched")
        if instrument is None or unpitched is None:
            continue
        key = instrument.get("id", "")
        if key in seen or key not in names:
            continue
        step = unpitched.findtext("display-step") or "C"
        octave = int(unpitched.findtext("display-octave") or 4)
        head = (note.findtext("notehead") or "normal").strip()
        height = octave * 7 + _STEPS.index(step) if step in _STEPS else octave * 7
        seen[key] = (height, f"{step}{octave}", head)
    ordered = sorted(seen.items(), key=lambda item: -item[1][0])
    return [
        f"{names[key]} ({position}{'' if head == 'normal' else ', ' + head + ' head'})"
        for key, (_, position, head) in ordered
    ]


def prepare(musicxml: bytes) -> bytes:
    """The sheet with its title, the drum key on page 1 and bar numbers at every system."""
    root = ET.fromstring(musicxml)
    credits = [child for child in root if child.tag == "credit"]
    title = (root.findtext("work/work-title") or root.findtext("movement-title") or "").strip()
    has_title = any(credit.findtext("credit-type") == "title" for credit in credits)
    additions: list[ET.Element] = []
    if title and not has_title:
        additions.append(_credit("title", title, "22", TITLE_Y))
    key = drum_key(root)
    if key:
        additions.append(
            _credit("subtitle", "Drum key, top of the staff down: " + " · ".join(key), "9", KEY_Y)
        )
    # Credits come after work/identification/defaults and before the part list.
    anchor = credits[-1] if credits else root.find("part-list")
    position = list(root).index(anchor) + (1 if credits else 0) if anchor is not None else 0
    for offset, credit in enumerate(additions):
        root.insert(position + offset, credit)
    first_measure = root.find("part/measure")
    if first_measure is not None:
        printing = first_measure.find("print")
        if printing is None:
            printing = ET.Element("print")
            first_measure.insert(0, printing)
        numbering = printing.find("measure-numbering")
        if numbering is None:
            numbering = ET.SubElement(printing, "measure-numbering")
        numbering.text = "system"
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _credit(kind: str, text: str, font_size: str, y: float) -> ET.Element:
    # MuseScore sorts credits into title and subtitle by where they sit on the (A4, tenths) page.
    credit = ET.Element("credit", page="1")
    ET.SubElement(credit, "credit-type").text = kind
    attributes = {
        "default-x": f"{A4_TENTHS[0] / 2:.2f}",
        "default-y": f"{y:.2f}",
        "justify": "center",
        "valign": "top",
        "font-size": font_size,
    }
    words = ET.SubElement(credit, "credit-words", attributes)
    words.text = text
    return credit


def on_paper(mscx: bytes, paper: Paper) -> bytes:
    """A MuseScore file set on ``paper`` (MuseScore 3 ignores MusicXML's page size on import)."""
    root = ET.fromstring(mscx)
    style = root.find("Score/Style")
    if style is None:
        raise EngravingFailed("MuseScore wrote a score without a Style")
    settings = {
        "pageWidth": paper.width_inches,
        "pageHeight": paper.height_inches,
        "pagePrintableWidth": paper.width_inches - 2 * MARGIN_INCHES,
        "showMeasureNumber": 1,
        "measureNumberSystem": 1,
    }
    for tag, value in settings.items():
        element = style.find(tag)
        if element is None:
            element = ET.SubElement(style, tag)
        element.text = f"{value:.4f}" if isinstance(value, float) else str(value)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _musescore(musescore: str, args: list[str], work_dir: Path, timeout: float, what: str) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(work_dir)}
    try:
        done = subprocess.run(
            [musescore, *args], env=env, cwd=work_dir, capture_output=True, timeout=timeout, check=False
        )
    except FileNotFoundError:
        raise EngravingFailed(f"MuseScore is not installed ({musescore} not found)") from None
    except subprocess.TimeoutExpired:
        raise EngravingFailed(f"MuseScore took longer than {timeout:.0f} s to {what}") from None
    output = Path(args[1])
    if done.returncode != 0 or not output.is_file() or output.stat().st_size == 0:
        tail = (done.stderr or done.stdout).decode(errors="replace").strip().splitlines()[-3:]
        raise EngravingFailed(f"MuseScore could not {what} ({done.returncode}): {' | '.join(tail)}")


def engrave(musicxml: Path, work_dir: Path, musescore: str, timeout: float) -> dict[str, Path]:
    """One PDF per paper size, keyed by stored object name; EngravingFailed when MuseScore fails."""
    prepared = work_dir / "engrave.musicxml"
    prepared.write_bytes(prepare(musicxml.read_bytes()))
    score = work_dir / "engrave.mscx"
    _musescore(musescore, ["-o", str(score), str(prepared)], work_dir, timeout, "read the sheet")
    outputs: dict[str, Path] = {}
    for paper in PAPERS.values():
        sized = work_dir / f"engrave.{paper.name}.mscx"
        sized.write_bytes(on_paper(score.read_bytes(), paper))
        pdf = work_dir / paper.file_name
        _musescore(
            musescore, ["-o", str(pdf), str(sized)], work_dir, timeout, f"engrave the {paper.name} PDF"
        )
        outputs[paper.file_name] = pdf
    return outputs
