"""GET /api/v1/download/{id}?format=pdf&paper=a4|letter, and the paper chosen from Accept-Language."""

from __future__ import annotations

import pytest

from groovesheet_api.routes.jobs import paper_for
from groovesheet_shared.storage import LocalJobStore
from tests.api.test_jobs import complete, upload

PDFS = {"output.a4.pdf": b"%PDF-1.4 a4", "output.letter.pdf": b"%PDF-1.4 letter"}


def completed_with_pdfs(client, jobs_dir, tmp_path) -> str:
    job_id = upload(client, "Moby Dick.mp3")
    complete(jobs_dir, job_id, tmp_path)
    store = LocalJobStore(jobs_dir)
    for name, data in PDFS.items():
        (tmp_path / name).write_bytes(data)
        store.save_output(job_id, name, tmp_path / name)
    return job_id


@pytest.mark.parametrize(
    ("query", "language", "expected"),
    [
        ("&paper=a4", "en-US", b"%PDF-1.4 a4"),
        ("&paper=letter", "de-DE", b"%PDF-1.4 letter"),
        ("", "en-US,en;q=0.9", b"%PDF-1.4 letter"),
        ("", "es-MX", b"%PDF-1.4 letter"),
        ("", "en-GB,en;q=0.8", b"%PDF-1.4 a4"),
        ("", "fr", b"%PDF-1.4 a4"),
        ("", None, b"%PDF-1.4 a4"),
    ],
)
def test_pdf_on_the_asked_or_usual_paper(client, jobs_dir, tmp_path, query, language, expected):
    job_id = completed_with_pdfs(client, jobs_dir, tmp_path)
    headers = {"Accept-Language": language} if language else {}
    response = client.get(f"/api/v1/download/{job_id}?format=pdf{query}", headers=headers)
    assert response.status_code == 200
    assert response.content == expected
    assert response.headers["content-type"] == "application/pdf"
    assert 'filename="Moby Dick_transcription.pdf"' in response.headers["content-disposition"]


def test_status_lists_the_pdf(client, jobs_dir, tmp_path):
    job_id = completed_with_pdfs(client, jobs_dir, tmp_path)
    downloads = client.get(f"/api/v1/status/{job_id}").json()["downloads"]
    assert downloads["pdf"] == f"/api/v1/download/{job_id}?format=pdf"


def test_missing_pdf_is_a_clear_404(client, jobs_dir, tmp_path):
    job_id = upload(client)
    complete(jobs_dir, job_id, tmp_path)  # engraving failed: no PDF stored
    response = client.get(f"/api/v1/download/{job_id}?format=pdf")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "pdf_unavailable"
    assert "MusicXML" in error["message"]


def test_bad_paper_is_422(client, jobs_dir, tmp_path):
    job_id = completed_with_pdfs(client, jobs_dir, tmp_path)
    response = client.get(f"/api/v1/download/{job_id}?format=pdf&paper=a3")
    assert response.status_code == 422
    assert "paper" in response.json()["error"]["message"]


def test_paper_for_reads_the_first_language_only():
    assert paper_for("en_US") == "letter"
    assert paper_for("de-DE, en-US") == "a4"
    assert paper_for("") == paper_for(None) == paper_for("garbage;;,") == "a4"
