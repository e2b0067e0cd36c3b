"""The PDF: MuseScore 3 engraves the sheet; pypdf reads it back (title, key, tempo, pages, paper size)."""

from __future__ import annotations

import copy
import io
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from pypdf import PdfReader

from groovesheet_worker.engraving import PAPERS, EngravingFailed, drum_key, engrave, prepare
from groovesheet_worker.runner import JobRunner
from tests.worker.conftest import add_job
from tests.worker.fake_pipeline import FakePipeline

GROOVE = Path(__file__).resolve().parents[1] / "fixtures" / "groove.musicxml"
POINTS_PER_INCH = 72


def text_of(pdf: Path | bytes) -> tuple[list[str], PdfReader]:
    reader = PdfReader(io.BytesIO(pdf) if isinstance(pdf, bytes) else str(pdf))
    return [page.extract_text().replace("\t", " ") for page in reader.pages], reader


def long_song(bars: int, tmp_path: Path) -> Path:
    """The two-bar groove repeated to ``bars`` bars, like a whole song's transcription."""
    root = ET.parse(GROOVE).getroot()
    part = root.find("part")
    assert part is not None
    measures = part.findall("measure")
    for number in range(len(measures) + 1, bars + 1):
        measure = copy.deepcopy(measures[(number - 1) % 2])
        for child in list(measure):
            if child.tag in ("attributes", "direction", "print"):
                measure.remove(child)
        measure.set("number", str(number))
        part.append(measure)
    path = tmp_path / "long.musicxml"
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path


def test_drum_key_lists_the_kit_from_the_top_of_the_staff_down():
    key = drum_key(ET.parse(GROOVE).getroot())
    assert key == ["Closed Hi-Hat (G5, x head)", "Acoustic Snare (C5)", "Bass Drum 1 (F4)"]
    prepared = ET.fromstring(prepare(GROOVE.read_bytes()))
    credits = [c.findtext("credit-words") for c in prepared.findall("credit")]
    assert credits[0] == "Rock Groove"
    assert credits[1].startswith("Drum key, top of the staff down: Closed Hi-Hat")
    assert prepared.findtext("part/measure/print/measure-numbering") == "system"


def test_pdfs_carry_title_key_and_tempo_on_a4_and_letter(tmp_path):
    pdfs = engrave(GROOVE, tmp_path, "mscore3", 120)
    assert set(pdfs) == {"output.a4.pdf", "output.letter.pdf"}
    for paper in PAPERS.values():
        pages, reader = text_of(pdfs[paper.file_name])
        assert "Rock Groove" in pages[0]
        assert "Drum key" in pages[0] and "Closed Hi-Hat" in pages[0] and "Bass Drum 1" in pages[0]
        assert "= 120" in pages[0]
        box = reader.pages[0].mediabox
        assert float(box.width) == pytest.approx(paper.width_inches * POINTS_PER_INCH, abs=1)
        assert float(box.height) == pytest.approx(paper.height_inches * POINTS_PER_INCH, abs=1)


def test_a_long_song_takes_several_pages_with_bar_numbers(tmp_path):
    pdfs = engrave(long_song(160, tmp_path), tmp_path, "mscore3", 120)
    pages, _ = text_of(pdfs["output.a4.pdf"])
    assert len(pages) > 1
    assert "Drum key" in pages[0] and "Drum key" not in pages[1]  # the key is on the first page only
    # Bar numbers stand at the start of systems: the second page's run on past the first page's.
    first = [int(word) for word in pages[0].split() if word.isdigit() and word != "120"]  # not the tempo
    second = [int(word) for word in pages[1].split() if word.isdigit()]
    assert 10 < max(first) < max(second) <= 160


def test_missing_musescore_is_engraving_failed(tmp_path):
    with pytest.raises(EngravingFailed, match="not installed"):
        engrave(GROOVE, tmp_path, "/nonexistent/mscore3", 10)


def test_runner_stores_both_pdfs(store, queue, settings, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_MUSICXML", str(GROOVE))
    job_id = add_job(store, queue, tmp_path)
    runner = JobRunner(store, queue, FakePipeline(), settings.model_copy(update={"engrave_pdf": True}))
    runner.handle(queue.claim(timeout=1))
    assert store.get(job_id).status == "completed"
    for name in ("output.a4.pdf", "output.letter.pdf"):
        pages, _ = text_of(store.read_output(job_id, name))
        assert "Rock Groove" in pages[0]


def test_engraving_failure_never_fails_the_job(store, queue, settings, tmp_path, caplog):
    job_id = add_job(store, queue, tmp_path)
    broken = settings.model_copy(update={"engrave_pdf": True, "musescore_bin": "/nonexistent/mscore3"})
    JobRunner(store, queue, FakePipeline(), broken).handle(queue.claim(timeout=1))
    assert store.get(job_id).status == "completed"
    assert not (store.job_dir(job_id) / "output.a4.pdf").exists()
    assert "no PDF for this job" in caplog.text
    assert queue.pending_count() == 0
