"""`make run` in miniature: the API and the real worker entry point with the real pipeline.

The worker loads Demucs (the tiny `demucs_unittest` model: real code, no weights) and the real
AnNOTEator model from models/ (copied by `make models`); the upload is a drum recording.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import httpx
import pytest
import soundfile

from tests.audio_samples import encode
from tests.integration.stack import ROOT, local_stack, stop, wait_for_http

pytestmark = pytest.mark.slow
# A real drum recording (MDB Drums, evaluation data beside the project, never committed).
ROCK = ROOT.parent / "shared" / "eval" / "mdb-dev" / "audio" / "drum_only" / "MusicDelta_Rock_Drum.flac"


def rock_excerpt_mp3(seconds: float = 6.0) -> bytes:
    audio, rate = soundfile.read(ROCK, frames=int(seconds * 44100), dtype="float32")
    return encode(audio, "MP3", rate)


def test_song_becomes_drum_sheet_music_through_both_services(tmp_path):
    model = ROOT / "models" / "annoteator" / "complete_network.h5"
    with local_stack(tmp_path / "shared-jobs", ANNOTEATOR_MODEL_PATH=str(model)) as stack:
        worker_health = f"{stack.worker_url}/health"
        assert wait_for_http(worker_health)["status"] in ("starting", "ok")
        with httpx.Client(base_url=stack.api_url, timeout=30) as client:
            created = client.post(
                "/api/v1/transcribe",
                files={"file": ("Hot Rod.mp3", rock_excerpt_mp3())},
                # The random test model would separate noise: the real classifier gets the drums as is.
                data={"drums_only": "true"},
            )
            assert created.status_code == 202, created.text
            stages: list[str] = []
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                body = client.get(created.json()["status_url"]).json()
                if not stages or stages[-1] != body["stage"]:
                    stages.append(body["stage"])
                if body["status"] in ("completed", "failed"):
                    break
                time.sleep(0.2)
            assert body["status"] == "completed", (body, stop(stack.worker)[-3000:])
            # The worker may claim the job before the first poll: the upload's answer says queued.
            assert created.json()["status"] == "queued" and stages[-1] == "completed"
            assert body["result"]["total_notes"] > 0
            assert body["result"]["duration_seconds"] == pytest.approx(6.0, abs=0.1)
            assert wait_for_http(worker_health)["models_loaded"] is True

            score = client.get(created.json()["download_url"])
            root = ET.fromstring(score.content)
            assert root.findtext(".//clef/sign") == "percussion"
            assert root.find(".//unpitched") is not None
            assert root.find(".//pitch") is None
            assert client.get(created.json()["download_url"] + "?format=midi").content[:4] == b"MThd"
            events = client.get(created.json()["download_url"] + "?format=json").json()["events"]
            assert {e["instrument"] for e in events} >= {"kick", "snare"}
