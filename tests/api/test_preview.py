"""The notation preview: MusicXML drawn as SVG by verovio, owner-checked, cached, and honest on failure."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from groovesheet_api.routes import preview as preview_module
from groovesheet_shared.errors import StorageError
from groovesheet_shared.jobs import JobResult
from groovesheet_shared.storage import LocalJobStore
from tests.api.test_auth import SECRET, bearer, hs256_token
from tests.audio_samples import song_bytes

GROOVE = Path(__file__).resolve().parents[1] / "fixtures" / "groove.musicxml"


def upload(client, headers: dict[str, str] | None = None) -> str:
    files = {"file": ("Groove.wav", song_bytes("WAV"))}
    response = client.post("/api/v1/transcribe", files=files, headers=headers or {})
    assert response.status_code == 202, response.text
    return response.json()["job_id"]


def complete(jobs_dir: Path, job_id: str, tmp_path: Path, musicxml: bytes) -> None:
    store = LocalJobStore(jobs_dir)
    for name, data in (("output.musicxml", musicxml), ("output.mid", b"MThd"), ("events.json", b"{}")):
        source = tmp_path / name
        source.write_bytes(data)
        store.save_output(job_id, name, source)
    result = JobResult(total_notes=25, bpm=120, duration_seconds=4)
    store.update(job_id, lambda j: j.started("w").completed(result))


def test_renders_the_musicxml_as_svg(client, jobs_dir, tmp_path):
    job_id = upload(client)
    complete(jobs_dir, job_id, tmp_path, GROOVE.read_bytes())

    status = client.get(f"/api/v1/status/{job_id}").json()
    response = client.get(status["preview_url"])

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert "no-store" in response.headers["cache-control"]
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    svg = response.text
    assert svg.startswith("<svg")
    assert "viewBox=" in svg
    # 16 hi-hats, 5 kicks and 4 snares; the percussion clef and the 4/4 are drawn too.
    assert len(re.findall(r'class="note"', svg)) == 25
    assert 'class="clef"' in svg
    assert 'class="meterSig"' in svg
    assert "<path" in svg


def test_preview_is_cached_after_the_first_render(client, jobs_dir, tmp_path, monkeypatch):
    job_id = upload(client)
    complete(jobs_dir, job_id, tmp_path, GROOVE.read_bytes())
    first = client.get(f"/api/v1/jobs/{job_id}/preview.svg")
    assert (jobs_dir / "jobs" / job_id / "preview.svg").read_bytes() == first.content

    def no_render(_: bytes) -> str:
        raise AssertionError("the cached preview should have been used")

    monkeypatch.setattr(preview_module, "render_svg", no_render)
    second = client.get(f"/api/v1/jobs/{job_id}/preview.svg")
    assert second.status_code == 200
    assert second.content == first.content


def test_long_scores_are_stacked_into_one_svg():
    pages = [
        '<svg viewBox="0 0 800 300" xmlns="http://www.w3.org/2000/svg"><g/></svg>',
        '<svg viewBox="0 0 880 200" xmlns="http://www.w3.org/2000/svg"><g/></svg>',
    ]
    svg = preview_module.stack_pages(pages)
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 880 520">')
    assert '<svg x="0" y="320" width="880" height="200"' in svg


def test_409_while_the_job_runs(client):
    job_id = upload(client)
    response = client.get(f"/api/v1/jobs/{job_id}/preview.svg")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "job_not_ready"


def test_409_with_the_reason_when_the_job_failed(client, jobs_dir):
    job_id = upload(client)
    LocalJobStore(jobs_dir).update(job_id, lambda j: j.failed("no_drums", "No drum hits were found."))
    response = client.get(f"/api/v1/jobs/{job_id}/preview.svg")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "job_failed"
    assert "No drum hits were found." in response.json()["error"]["message"]


def test_404_for_unknown_and_malformed_job_ids(client):
    assert client.get("/api/v1/jobs/6f1c3a52-8d7e-4f0a-9a57-3c1d2e4b5a69/preview.svg").status_code == 404
    assert client.get("/api/v1/jobs/not-a-job/preview.svg").status_code == 404


def test_another_users_job_is_404(make_client, jobs_dir, tmp_path):
    client = make_client(auth_mode="hs256", jwt_secret=SECRET)
    owner, stranger = bearer(hs256_token("user_a")), bearer(hs256_token("user_b"))
    job_id = upload(client, owner)
    complete(jobs_dir, job_id, tmp_path, GROOVE.read_bytes())

    assert client.get(f"/api/v1/jobs/{job_id}/preview.svg", headers=owner).status_code == 200
    response = client.get(f"/api/v1/jobs/{job_id}/preview.svg", headers=stranger)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "job_not_found"
    assert client.get(f"/api/v1/jobs/{job_id}/preview.svg").status_code == 401


@pytest.mark.parametrize("musicxml", [b"<score-partwise/>", b"this is not xml", b"\xff\xfe\x00garbage"])
def test_unreadable_musicxml_is_a_clear_500_and_downloads_still_work(client, jobs_dir, tmp_path, musicxml):
    job_id = upload(client)
    complete(jobs_dir, job_id, tmp_path, musicxml)

    response = client.get(f"/api/v1/jobs/{job_id}/preview.svg")
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "preview_failed"
    assert "preview could not be drawn" in error["message"]
    assert "downloads still work" in error["message"]
    assert not (jobs_dir / "jobs" / job_id / "preview.svg").exists()
    assert client.get(f"/api/v1/download/{job_id}").status_code == 200


def test_a_verovio_crash_is_the_same_clear_500(client, jobs_dir, tmp_path, monkeypatch):
    job_id = upload(client)
    complete(jobs_dir, job_id, tmp_path, GROOVE.read_bytes())

    def crash(_: bytes) -> str:
        raise RuntimeError("verovio exploded")

    monkeypatch.setattr(preview_module, "render_svg", crash)
    response = client.get(f"/api/v1/jobs/{job_id}/preview.svg")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "preview_failed"


def test_renders_from_any_thread():
    # verovio finds its fonts per thread; the API renders in a thread pool.
    results: list[str] = []
    thread = threading.Thread(target=lambda: results.append(preview_module.render_svg(GROOVE.read_bytes())))
    thread.start()
    thread.join()
    assert results and results[0].count('class="note"') == 25


def test_a_failing_cache_write_still_answers_the_preview(client, jobs_dir, tmp_path, monkeypatch):
    job_id = upload(client)
    complete(jobs_dir, job_id, tmp_path, GROOVE.read_bytes())

    def refuse(*_: object) -> None:
        raise StorageError("bucket is read-only today")

    monkeypatch.setattr(LocalJobStore, "save_output", refuse)
    response = client.get(f"/api/v1/jobs/{job_id}/preview.svg")
    assert response.status_code == 200
    assert response.text.startswith("<svg")
