"""The web page in Debian's headless Chromium against the real API and a fake worker (subprocesses).

``?poll_base_ms=N`` on the page scales its polling timings (2 s normally) so these run in seconds.
Set ``UPDATE_SCREENSHOT=1`` to refresh docs/screenshot.png (it is also written when missing).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.audio_samples import song_bytes
from tests.integration.stack import ROOT, free_port, service_env, start_api, start_worker, stop, wait_for_http

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
GROOVE = ROOT / "tests" / "fixtures" / "groove.musicxml"
SCREENSHOT = ROOT / "docs" / "screenshot.png"
SONG = {"name": "Funky Drummer.wav", "mimeType": "audio/wav"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The API on a free port; the worker is started only by the tests that want jobs to finish."""
    root = tmp_path_factory.mktemp("browser-stack")
    env = service_env(
        root / "shared-jobs",
        FAKE_LOG=str(root / "fake.log"),
        FAKE_STAGE_SECONDS="0.4",
        FAKE_MUSICXML=str(GROOVE),
        LOG_FORMAT="text",
        PORT="0",
        # Several tests leave jobs queued (no worker runs in them); the limit has its own tests.
        MAX_ACTIVE_JOBS_PER_USER="20",
    )
    port = free_port()
    api = start_api(env, port)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/health")
        yield {"base": base, "env": env}
    finally:
        stop(api)


@pytest.fixture
def worker(stack: dict) -> Iterator[subprocess.Popen]:
    process = start_worker(stack["env"], "tests.worker.fake_worker")
    yield process
    stop(process)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(
            f"Debian Chromium is missing at {CHROMIUM}: run `make test` (installs it) or `apt-get install chromium`."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1000, "height": 900}, accept_downloads=True)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def song_file(name: str = SONG["name"]) -> dict:
    return {"name": name, "mimeType": SONG["mimeType"], "buffer": song_bytes("WAV")}


def state(page) -> dict:
    return page.evaluate("() => JSON.parse(JSON.stringify(window.groovesheet))")


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def test_upload_progress_download_once_and_preview(stack, worker, page, tmp_path):
    downloads = []
    page.on("download", lambda download: downloads.append(download))
    page.goto(f"{stack['base']}/?poll_base_ms=500")
    page.set_input_files("#file", files=[song_file()])
    assert "Funky Drummer.wav" in page.inner_text("#drop")
    page.fill("#bpm", "120")
    page.select_option("#time-signature", "4/4")

    with page.expect_download(timeout=60_000) as automatic:
        page.click("#start")
    download = automatic.value
    assert download.suggested_filename == "Funky Drummer_transcription.musicxml"
    assert Path(download.path()).read_bytes() == GROOVE.read_bytes()

    page.wait_for_function("() => window.groovesheet.previewShown", timeout=20_000)
    preview = page.locator("#preview-img")
    assert preview.is_visible()
    assert page.evaluate("() => document.getElementById('preview-img').naturalWidth") > 0
    assert page.get_attribute("#bar", "aria-valuenow") == "100"
    assert page.is_visible("text=Your drum sheet music is ready")
    assert "120 BPM" in page.inner_text("#facts")

    seen = state(page)["seen"]
    progress = [int(s.split(":")[1]) for s in seen]
    assert progress == sorted(progress), seen
    assert any(s.startswith("processing:") for s in seen), seen
    assert seen[-1] == "completed:100"

    for label in ("Download MusicXML", "MIDI", "PDF", "Events JSON"):
        assert page.get_by_role("button", name=label, exact=True).is_visible()
    with page.expect_download() as midi:
        page.get_by_role("button", name="MIDI", exact=True).click()
    assert midi.value.suggested_filename == "Funky Drummer_transcription.mid"
    with page.expect_download() as events:
        page.get_by_role("button", name="Events JSON", exact=True).click()
    assert events.value.suggested_filename == "Funky Drummer_transcription.json"
    with page.expect_download(timeout=20_000) as pdf:
        page.get_by_role("button", name="PDF", exact=True).click()
    assert pdf.value.suggested_filename == "Funky Drummer_transcription.pdf"
    assert Path(pdf.value.path()).read_bytes().startswith(b"%PDF")

    page.wait_for_timeout(2_000)  # four base intervals: polling has stopped, nothing downloads again
    current = state(page)
    assert current["autoDownloads"] == 1
    assert current["downloads"] == 4
    assert [d.suggested_filename for d in downloads].count("Funky Drummer_transcription.musicxml") == 1
    polls = current["polls"]
    page.wait_for_timeout(1_000)
    assert state(page)["polls"] == polls

    page.set_viewport_size({"width": 1000, "height": 640})  # full_page grows it to the content
    page.mouse.move(0, 0)
    page.screenshot(path=str(tmp_path / "completed.png"), full_page=True)
    if os.environ.get("UPDATE_SCREENSHOT") == "1" or not SCREENSHOT.exists():
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(tmp_path / "completed.png", SCREENSHOT)

    # A reload keeps the job (#job=…) but does not download it a second time.
    page.reload()
    page.wait_for_function("() => window.groovesheet.state === 'completed'", timeout=10_000)
    page.wait_for_timeout(500)
    assert state(page)["autoDownloads"] == 0
    assert len(downloads) == 4
    page.wait_for_function("() => window.groovesheet.previewShown", timeout=10_000)

    page.set_viewport_size({"width": 375, "height": 740})
    page.wait_for_timeout(200)
    assert no_horizontal_scroll(page)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375


def test_the_alternative_tempo_is_offered_and_transcribes_the_song_again_at_it(stack, worker, page):
    """Without a tempo the sheet is read at 120 with 60 close behind: one click sends the same song
    again with 60 BPM given, and that sheet offers no alternative."""
    page.goto(f"{stack['base']}/?poll_base_ms=500")
    page.set_input_files("#file", files=[song_file("Polka.wav")])
    page.click("#start")
    page.wait_for_selector("#tempo-alternative:not([hidden])", timeout=60_000)
    assert "120 BPM" in page.inner_text("#facts")
    assert "also reads at 60 BPM" in page.inner_text("#tempo-alternative")
    first = state(page)["jobId"]

    page.click("#retempo")
    page.wait_for_function(
        f"() => window.groovesheet.state === 'completed' && window.groovesheet.jobId !== '{first}'",
        timeout=60_000,
    )
    assert "60 BPM" in page.inner_text("#facts")
    assert page.is_hidden("#tempo-alternative")
    job = httpx.get(f"{stack['base']}/api/v1/status/{state(page)['jobId']}").json()
    assert job["options"]["bpm"] == 60
    assert job["filename"] == "Polka.wav"


def test_after_a_reload_the_alternative_tempo_is_filled_in_and_the_song_asked_for(stack, worker, page):
    """A reloaded page shows the finished job but no longer holds the file: the tempo is set for the
    next upload and the page asks for the song, nothing is sent."""
    page.goto(f"{stack['base']}/?poll_base_ms=500")
    page.set_input_files("#file", files=[song_file("Polka.wav")])
    page.click("#start")
    page.wait_for_selector("#tempo-alternative:not([hidden])", timeout=60_000)
    page.reload()
    page.wait_for_selector("#tempo-alternative:not([hidden])", timeout=60_000)
    jobs_before = job_ids(stack)
    page.click("#retempo")
    assert page.is_visible("#upload-card")
    assert page.input_value("#bpm") == "60"
    assert "transcribed at 60 BPM" in page.inner_text("#start-note")
    assert page.is_disabled("#start")
    assert job_ids(stack) == jobs_before


def job_ids(stack: dict) -> set[str]:
    """Every job the API lists (the first page holds them all here)."""
    listing = httpx.get(f"{stack['base']}/api/v1/jobs", params={"limit": 100}).json()
    return {job["job_id"] for job in listing["jobs"]}


def test_polling_backs_off_on_errors_resets_after_success_and_can_be_cancelled(stack, page):
    calls: list[float] = []
    failure = {"error": {"code": "queue_unavailable", "message": "Status is resting for a test."}}

    def status_route(route):
        calls.append(time.monotonic())
        n = len(calls)
        if n <= 3:
            route.fulfill(status=503, content_type="application/json", body=json.dumps(failure))
        elif n == 4:
            route.abort("failed")  # a network error, not an HTTP answer
        elif n == 5:
            route.fulfill(status=502, content_type="text/html", body="<h1>Bad gateway</h1>")
        else:
            route.continue_()

    page.route("**/api/v1/status/**", status_route)
    base_ms = 100
    page.goto(f"{stack['base']}/?poll_base_ms={base_ms}")
    page.set_input_files("#file", files=[song_file()])
    page.click("#start")

    warning = page.locator("#poll-warning")
    warning.wait_for(state="visible", timeout=10_000)
    assert "Status is resting for a test." in warning.inner_text()
    assert "Checking again in" in warning.inner_text()

    # No worker runs in this test, so the job stays queued and the page keeps polling every 2 s.
    page.wait_for_function("() => window.groovesheet.pollDelays.length >= 8", timeout=20_000)
    current = state(page)
    assert current["pollDelays"][:8] == [4, 8, 16, 30, 30, 2, 2, 2]
    assert current["state"] == "polling"
    assert warning.is_hidden()
    assert page.inner_text("#status").startswith("Waiting for a free worker")

    # The requests really were spaced like that (timers fire late, never early).
    gaps = [b - a for a, b in itertools.pairwise(calls)][:7]
    expected = [s * base_ms / 2 / 1000 for s in current["pollDelays"][:7]]
    for gap, want in zip(gaps, expected, strict=True):
        assert want * 0.9 <= gap <= want + 1.0, (gaps, expected)

    page.click("#cancel")
    assert state(page)["state"] == "cancelled"
    stopped_at = len(calls)
    page.wait_for_timeout(10 * base_ms)
    assert len(calls) == stopped_at
    assert "Stopped checking" in page.inner_text("#status")

    page.click("#resume")
    page.wait_for_function(f"() => window.groovesheet.polls > {state(page)['polls']}", timeout=5_000)
    assert len(calls) > stopped_at


def test_rejected_upload_shows_the_api_message(stack, page):
    text = b"these are my lyrics, not a song\n" * 20
    expected = httpx.post(
        f"{stack['base']}/api/v1/transcribe", files={"file": ("lyrics.txt", text)}, timeout=30
    ).json()["error"]["message"]

    page.goto(stack["base"])
    page.set_input_files("#file", files=[{"name": "lyrics.txt", "mimeType": "text/plain", "buffer": text}])
    page.click("#start")
    error = page.locator("#upload-error")
    error.wait_for(state="visible", timeout=10_000)
    assert "The upload was refused." in error.inner_text()
    assert expected in error.inner_text()
    assert page.is_hidden("#job-card")
    assert state(page)["state"] == "rejected"
    assert page.is_enabled("#start")  # pick another file or try again


def test_failed_job_shows_the_reason(stack, page):
    reason = "No drum hits were found in this recording."

    def failed_status(route):
        body = route.fetch().json()
        body.update(
            status="failed", stage="failed", message=reason, error={"code": "no_drums", "message": reason}
        )
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    page.route("**/api/v1/status/**", failed_status)
    page.goto(f"{stack['base']}/?poll_base_ms=100")
    page.set_input_files("#file", files=[song_file("Quiet.wav")])
    page.click("#start")
    error = page.locator("#job-error")
    error.wait_for(state="visible", timeout=10_000)
    assert reason in error.inner_text()
    assert state(page)["state"] == "failed"
    assert page.is_visible("#again-failed")
    polls = state(page)["polls"]
    page.wait_for_timeout(500)
    assert state(page)["polls"] == polls  # a failed job is final: no more polling


def test_phone_width_has_no_horizontal_scroll(stack, browser, tmp_path):
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    try:
        phone = context.new_page()
        phone.goto(stack["base"])
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= 375
        long_name = "A very long song title that goes on and on - live at the hall (remastered 2024).wav"
        phone.set_input_files("#file", files=[song_file(long_name)])
        phone.route(
            "**/api/v1/status/**",
            lambda route: route.fulfill(status=503, content_type="application/json", body="{}"),
        )
        phone.click("#start")
        phone.locator("#poll-warning").wait_for(state="visible", timeout=10_000)
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= 375
        phone.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
    finally:
        context.close()


def _stored_job(store, title: str, minutes: int, tmp_path: Path):
    from datetime import UTC, datetime, timedelta

    from groovesheet_shared.jobs import Job, JobOptions, new_job_id

    source = tmp_path / f"{new_job_id()}.wav"
    source.write_bytes(song_bytes("WAV"))
    job = Job(
        job_id=new_job_id(),
        filename=f"{title}.wav",
        content_type="audio/wav",
        size_bytes=source.stat().st_size,
        input_name="input.wav",
        owner="anonymous",
        options=JobOptions(title=title),
        # Far in the future, so these are the newest jobs whatever the other tests stored.
        created_at=datetime(2100, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes),
    )
    store.create(job, source)
    return job


def test_history_lists_jobs_pages_and_downloads_again(stack, page, tmp_path):
    from groovesheet_shared.jobs import JobResult
    from groovesheet_shared.storage import LocalJobStore

    store = LocalJobStore(Path(stack["env"]["LOCAL_JOBS_DIR"]))
    jobs = [_stored_job(store, f"Old song {i}", i, tmp_path) for i in range(10)]
    newest = _stored_job(store, "Rosanna <b>live</b>", 100, tmp_path)
    for name, data in (("output.musicxml", GROOVE.read_bytes()), ("output.mid", b"MThd-midi")):
        (tmp_path / name).write_bytes(data)
        store.save_output(newest.job_id, name, tmp_path / name)
    result = JobResult(total_notes=42, bpm=96, duration_seconds=30)
    store.update(newest.job_id, lambda j: j.started("w").completed(result))

    page.goto(stack["base"])
    page.wait_for_function("() => window.groovesheet.historyLoads >= 1", timeout=10_000)
    assert page.is_visible("text=Your transcriptions")
    items = page.locator("#history-list li")
    assert items.count() == 10
    first = items.nth(0)
    assert first.get_attribute("data-job-id") == newest.job_id
    # The title is text, never markup.
    assert "Rosanna <b>live</b>" in first.inner_text()
    assert page.locator("#history-list b").count() == 0
    assert "completed" in first.locator(".h-status").inner_text()
    assert "96 BPM" in first.inner_text() and "42 notes" in first.inner_text()
    assert items.nth(1).get_attribute("data-job-id") == jobs[9].job_id
    assert "queued" in items.nth(1).locator(".h-status").inner_text()
    assert items.nth(1).locator("[data-history-format]").count() == 0  # nothing to download yet
    assert first.locator("[data-history-format]").count() == 4  # MusicXML, MIDI, PDF, JSON
    assert items.nth(1).locator("[data-history-delete]").count() == 1

    with page.expect_download() as midi:
        first.get_by_role("button", name="Download Rosanna <b>live</b> as MIDI", exact=True).click()
    assert midi.value.suggested_filename.endswith("_transcription.mid")
    assert Path(midi.value.path()).read_bytes() == b"MThd-midi"

    # Older jobs come a page at a time, after the ones already shown, never twice.
    newest_first = [newest.job_id] + [job.job_id for job in reversed(jobs)]
    ids = [items.nth(i).get_attribute("data-job-id") for i in range(items.count())]
    assert ids == newest_first[:10]
    assert page.is_visible("#history-more")
    page.click("#history-more")
    page.wait_for_function("() => window.groovesheet.historyLoads >= 2", timeout=10_000)
    ids = [items.nth(i).get_attribute("data-job-id") for i in range(items.count())]
    assert ids[:11] == newest_first
    assert len(ids) == len(set(ids))


def test_delete_from_the_history_asks_first_and_removes_everything(stack, page, tmp_path):
    from groovesheet_shared.storage import LocalJobStore

    jobs_dir = Path(stack["env"]["LOCAL_JOBS_DIR"])
    store = LocalJobStore(jobs_dir)
    doomed = _stored_job(store, "Delete me", 200, tmp_path)
    kept = _stored_job(store, "Keep me", 199, tmp_path)

    page.goto(stack["base"])
    page.wait_for_function("() => window.groovesheet.historyLoads >= 1", timeout=10_000)
    row = page.locator(f'#history-list li[data-job-id="{doomed.job_id}"]')
    questions: list[str] = []

    def answer(dialog, accept: bool) -> None:
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, False))
    row.get_by_role("button", name="Delete Delete me").click()
    page.wait_for_timeout(300)
    assert questions and "Delete me" in questions[0] and "stopped" in questions[0]
    assert row.count() == 1  # "Cancel" in the dialog keeps it
    assert (jobs_dir / "jobs" / doomed.job_id).exists()

    page.once("dialog", lambda dialog: answer(dialog, True))
    row.get_by_role("button", name="Delete Delete me").click()
    page.wait_for_function("() => window.groovesheet.deleted === 1", timeout=10_000)
    page.wait_for_function("() => window.groovesheet.historyLoads >= 2", timeout=10_000)
    assert row.count() == 0
    assert page.locator(f'#history-list li[data-job-id="{kept.job_id}"]').count() == 1
    assert not (jobs_dir / "jobs" / doomed.job_id).exists()
    assert page.is_hidden("#history-error")


def _completed_with_stems(store, title: str, minutes: int, tmp_path: Path, stems) -> object:
    """A finished job as the worker leaves it: the sheet, and real MP3 stems when ``stems`` is available."""
    from groovesheet_shared.jobs import JobResult
    from tests.stem_samples import encode_stems

    job = _stored_job(store, title, minutes, tmp_path)
    (tmp_path / "output.musicxml").write_bytes(GROOVE.read_bytes())
    store.save_output(job.job_id, "output.musicxml", tmp_path / "output.musicxml")
    if stems.available:
        for name, path in encode_stems(tmp_path / f"stems-{job.job_id}", seconds=3.0).items():
            store.save_output(job.job_id, name, path)
    result = JobResult(total_notes=42, bpm=120, duration_seconds=3, stems=stems)
    store.update(job.job_id, lambda j: j.started("w").completed(result))
    return job


def _player_state(page, kind: str) -> dict:
    return page.evaluate(
        """(kind) => { const a = document.getElementById(`stem-${kind}`);
            return { src: a.currentSrc, ready: a.readyState, duration: a.duration, time: a.currentTime,
                     error: a.error && a.error.code }; }""",
        kind,
    )


def test_players_stream_the_stems_with_ranges_and_seek(stack, page, tmp_path):
    from groovesheet_shared.jobs import Stems
    from groovesheet_shared.storage import LocalJobStore

    store = LocalJobStore(Path(stack["env"]["LOCAL_JOBS_DIR"]))
    job = _completed_with_stems(store, "Play along", 300, tmp_path, Stems(available=True))
    ranged: list[tuple[str, int, str]] = []
    page.on(
        "response",
        lambda r: (
            "format=" in r.url
            and "drums" in r.url
            and ranged.append((r.url, r.status, r.request.headers.get("range", "")))
        ),
    )
    page.goto(f"{stack['base']}/?poll_base_ms=200#job={job.job_id}")
    page.wait_for_function("() => window.groovesheet.stemsShown", timeout=20_000)
    assert page.is_visible("#stems") and page.inner_text("#stems-title") == "Play along"
    assert page.get_by_label("Song without drums", exact=True).is_visible()
    assert page.get_by_label("Drums only", exact=True).is_visible()
    for kind in ("no_drums", "drums"):
        page.wait_for_function(
            "(kind) => document.getElementById(`stem-${kind}`).readyState >= 1", arg=kind, timeout=20_000
        )
        player = _player_state(page, kind)
        assert player["src"].endswith(f"/api/v1/download/{job.job_id}?format={kind}")
        assert player["duration"] == pytest.approx(3.0, abs=0.15)
        assert player["error"] is None

    # Seeking: the browser asks for the part it needs, the server answers 206.
    page.evaluate(
        """() => new Promise((done) => { const a = document.getElementById('stem-no_drums');
            a.addEventListener('seeked', done, { once: true }); a.currentTime = 2.5; })"""
    )
    assert _player_state(page, "no_drums")["time"] == pytest.approx(2.5, abs=0.05)
    assert any(status == 206 and header.startswith("bytes=") for _, status, header in ranged), ranged

    with page.expect_download() as mp3:
        page.get_by_role("button", name="Download the song without drums (MP3)").click()
    assert mp3.value.suggested_filename == "Play along_no_drums.mp3"
    assert Path(mp3.value.path()).read_bytes()[:3] == b"ID3"  # ffmpeg's MP3, tagged

    row = page.locator(f'#history-list li[data-job-id="{job.job_id}"]')
    assert row.get_by_role("button", name="Download Play along as Drums MP3").is_visible()
    assert row.get_by_role("button", name="Download Play along as No-drums MP3").is_visible()
    page.screenshot(path=str(tmp_path / "players.png"), full_page=True)

    # A signed-in page cannot put its token on <audio>: it fetches the stem and plays it from memory.
    page.evaluate("() => localStorage.setItem('groovesheet_token', 'any-token-auth-mode-none-ignores')")
    page.reload()
    page.wait_for_function("() => window.groovesheet.stemsShown", timeout=20_000)
    page.wait_for_function("() => document.getElementById('stem-drums').readyState >= 1", timeout=20_000)
    player = _player_state(page, "drums")
    assert player["src"].startswith("blob:") and player["duration"] == pytest.approx(3.0, abs=0.15)
    page.evaluate("() => localStorage.removeItem('groovesheet_token')")


def test_a_drum_only_job_says_why_it_has_no_players(stack, page, tmp_path):
    from groovesheet_shared.storage import LocalJobStore
    from groovesheet_worker.pipeline.stems import DRUMS_ONLY

    store = LocalJobStore(Path(stack["env"]["LOCAL_JOBS_DIR"]))
    job = _completed_with_stems(store, "Solo", 301, tmp_path, DRUMS_ONLY)
    page.goto(f"{stack['base']}/?poll_base_ms=200#job={job.job_id}")
    page.wait_for_function("() => window.groovesheet.state === 'completed'", timeout=20_000)
    page.locator("#stems-note").wait_for(state="visible", timeout=5_000)
    assert page.is_hidden("#stems")
    assert "drum-only recording" in page.inner_text("#stems-note")
    row = page.locator(f'#history-list li[data-job-id="{job.job_id}"]')
    row.wait_for(timeout=10_000)
    assert row.locator('[data-history-format="drums"]').count() == 0
