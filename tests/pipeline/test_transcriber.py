"""The whole pipeline end to end: real Demucs code (demucs_unittest) and the default hit model (HitNet)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from groovesheet_shared.errors import TranscriptionError
from groovesheet_shared.jobs import JobOptions, Stems
from groovesheet_shared.options import TIME_SIGNATURES
from groovesheet_shared.outputs import STEM_FILES
from groovesheet_worker.config import WorkerSettings
from groovesheet_worker.pipeline.stems import DRUMS_ONLY, ENCODING_FAILED
from groovesheet_worker.pipeline.transcriber import Transcriber
from groovesheet_worker.transcription import CHECKPOINTS
from tests.audio_samples import encode, groove

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "annoteator" / "complete_network.h5"
OUTPUTS = {"output.musicxml", "output.mid", "events.json"}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def transcriber() -> Transcriber:
    settings = WorkerSettings(
        annoteator_model_path=MODEL, demucs_model="demucs_unittest", demucs_shifts=1, max_duration_seconds=60
    )
    return Transcriber(settings)


class Progress:
    def __init__(self) -> None:
        self.calls: list[tuple[int, str, str]] = []

    def __call__(self, percent: int, stage: str, message: str) -> None:
        self.calls.append((percent, stage, message))

    @property
    def checkpoints(self) -> list[tuple[int, str]]:
        """The calls at named checkpoints, without the in-between separation steps."""
        named = {value[0]: key for key, value in CHECKPOINTS.items()}
        return [(p, s) for p, s, _ in self.calls if named.get(p) == s]


def song_file(tmp_path: Path, name: str = "my_groove.wav", seconds: float = 5.0, fmt: str = "WAV") -> Path:
    path = tmp_path / name
    path.write_bytes(encode(groove(seconds, bpm=100.0), fmt))
    return path


EXPECTED = [
    (35, "separating"),
    (55, "separated"),
    (65, "preprocessed"),
    (80, "classified"),
    (90, "building"),
    (95, "musicxml_saved"),
    (97, "checked"),
]


def test_a_mix_goes_through_separation_and_every_checkpoint(transcriber, tmp_path: Path) -> None:
    progress = Progress()
    output = transcriber(
        song_file(tmp_path, fmt="MP3", name="song.mp3"), JobOptions(), tmp_path / "work", progress
    )

    assert progress.checkpoints == EXPECTED
    percents = [p for p, _, _ in progress.calls]
    assert percents == sorted(percents)
    # Separation reports between its two checkpoints, never reaching 55 before it is done.
    assert all(35 <= p < 55 for p, s, _ in progress.calls if s == "separating")
    # A mix went through separation: the stems are made too.
    assert set(output.files) == OUTPUTS | set(STEM_FILES.values())
    assert all(path.exists() and path.stat().st_size > 0 for path in output.files.values())
    result = output.result
    assert result.stems == Stems(available=True)
    assert result.duration_seconds == pytest.approx(5.0, abs=0.1)
    assert result.bpm > 0
    # The separator here is demucs_unittest (random weights): its stem has no meter worth asserting,
    # only that the sheet is written in one the job contract allows.
    assert result.time_signature in TIME_SIGNATURES
    assert {"decode", "separation", "stems", "onsets", "classify", "tempo", "write", "check"} <= set(
        result.stage_seconds
    )


def test_a_drum_recording_skips_separation_and_honours_the_uploaders_tempo(
    transcriber, tmp_path: Path
) -> None:
    progress = Progress()
    options = JobOptions(drums_only=True, bpm=100.0, time_signature="3/4")
    output = transcriber(song_file(tmp_path), options, tmp_path / "work", progress)

    assert progress.checkpoints == EXPECTED
    assert "separation" not in output.result.stage_seconds
    result = output.result
    # No separation, no stems: the result says why, and nothing else is written.
    assert set(output.files) == OUTPUTS
    assert result.stems == DRUMS_ONLY and "drum-only" in result.stems.reason
    assert result.bpm == pytest.approx(100.0, abs=0.5)
    assert result.time_signature == "3/4"
    assert result.total_notes > 0
    assert result.notes_per_instrument.get("kick", 0) >= 2
    assert result.notes_per_instrument.get("hihat_closed", 0) >= 5
    assert sum(result.notes_per_instrument.values()) >= result.total_notes * 0.5
    # Title defaults to the file name without its extension.
    assert "my_groove" in output.files["output.musicxml"].read_text()
    events = json.loads(output.files["events.json"].read_text())
    items = events["events"] if isinstance(events, dict) else events
    kicks = sorted(e["time"] for e in items if e["instrument"] == "kick")
    assert kicks and all(np.min(np.abs(np.arange(0, 5, 1.2) - t)) < 0.03 for t in kicks)


def test_the_drum_track_spectrogram_is_computed_once_for_hits_and_tempo(
    transcriber, tmp_path: Path, monkeypatch
) -> None:
    """HitNet's input spectrogram is the tempo readers' onset envelope too (issue 8, item 4)."""
    from groovesheet_worker.hitnet import finder, spectrogram
    from groovesheet_worker.pipeline import rhythm_analysis

    calls: list[int] = []

    def counted(mono: np.ndarray, lead_in_frames: int = 0) -> np.ndarray:
        calls.append(len(mono))
        return spectrogram.drum_track_spectrogram(mono, lead_in_frames)

    monkeypatch.setattr(finder, "drum_track_spectrogram", counted)
    monkeypatch.setattr(rhythm_analysis, "drum_track_spectrogram", counted)
    output = transcriber(song_file(tmp_path), JobOptions(drums_only=True), tmp_path / "work", Progress())
    assert output.result.total_notes > 0
    assert len(calls) == 1


def test_the_title_from_the_upload_wins(transcriber, tmp_path: Path) -> None:
    options = JobOptions(drums_only=True, title="Back in Black (practice)")
    output = transcriber(song_file(tmp_path, "upload-1234.wav"), options, tmp_path / "work", Progress())
    text = output.files["output.musicxml"].read_text()
    assert "Back in Black (practice)" in text


def test_undecodable_upload_fails_before_any_progress(transcriber, tmp_path: Path) -> None:
    path = tmp_path / "song.mp3"
    path.write_bytes(b"<html>not a song</html>" * 50)
    progress = Progress()
    with pytest.raises(TranscriptionError) as info:
        transcriber(path, JobOptions(), tmp_path / "work", progress)
    assert info.value.code == "undecodable_audio" and info.value.retryable is False
    assert progress.calls == []


def test_silent_upload_is_refused(transcriber, tmp_path: Path) -> None:
    path = tmp_path / "silence.flac"
    sf.write(path, np.zeros(44100 * 3, dtype=np.float32), 44100)
    with pytest.raises(TranscriptionError) as info:
        transcriber(path, JobOptions(), tmp_path / "work", Progress())
    assert info.value.code == "silent_audio" and info.value.retryable is False


def test_too_long_upload_is_refused(transcriber, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(
        transcriber, "settings", transcriber.settings.model_copy(update={"max_duration_seconds": 3})
    )
    with pytest.raises(TranscriptionError) as info:
        transcriber(song_file(tmp_path, seconds=5.0), JobOptions(), tmp_path / "work", Progress())
    assert info.value.code == "audio_too_long" and info.value.retryable is False


def test_a_separation_failure_fails_the_job_and_never_uses_the_raw_mix(
    transcriber, tmp_path, monkeypatch
) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("simulated out-of-threads")

    monkeypatch.setattr(transcriber.separator.model, "forward", broken)
    progress = Progress()
    work = tmp_path / "work"
    with pytest.raises(TranscriptionError) as info:
        transcriber(song_file(tmp_path), JobOptions(), work, progress)
    assert info.value.code == "separation_failed"
    assert progress.checkpoints == [(35, "separating")]
    assert not any((work / name).exists() for name in OUTPUTS)


def test_the_stems_sum_back_to_the_song(transcriber, tmp_path: Path) -> None:
    """drums + no_drums is the mix: the song without drums is exactly what separation left over."""
    song = song_file(tmp_path)
    output = transcriber(song, JobOptions(), tmp_path / "work", Progress())
    original, _ = sf.read(song, dtype="float32")
    drums, rate = sf.read(output.files[STEM_FILES["drums"]], dtype="float32")
    rest, _ = sf.read(output.files[STEM_FILES["no_drums"]], dtype="float32")
    assert rate == 44100 and drums.shape == rest.shape and drums.shape[1] == 2
    together = (drums + rest).mean(axis=1)[: original.size]
    assert together.size == original.size  # the decoder drops the encoder's delay and padding

    def below_15_khz(signal: np.ndarray) -> np.ndarray:  # LAME's lowpass at 192 kbit/s is ~19 kHz
        spectrum = np.fft.rfft(signal)
        spectrum[np.fft.rfftfreq(signal.size, 1 / rate) > 15000] = 0
        return np.fft.irfft(spectrum, signal.size)

    # Each stem carries its own MP3 coding noise (this song is mostly noise-like hi-hats and snares).
    heard, played = below_15_khz(together), below_15_khz(original)
    assert np.corrcoef(heard, played)[0, 1] > 0.98
    assert np.sqrt(np.mean(heard**2)) == pytest.approx(np.sqrt(np.mean(played**2)), rel=0.1)


def test_a_stem_encoding_failure_still_delivers_the_sheet(transcriber, tmp_path: Path, monkeypatch) -> None:
    broken = transcriber.stem_encoder.__class__("/nonexistent/ffmpeg")
    monkeypatch.setattr(transcriber, "stem_encoder", broken)
    progress = Progress()
    output = transcriber(song_file(tmp_path), JobOptions(), tmp_path / "work", progress)

    assert progress.checkpoints == EXPECTED
    assert set(output.files) == OUTPUTS  # the sheet, MIDI and events; no stems
    assert output.result.stems == ENCODING_FAILED
    assert "could not be encoded" in output.result.stems.reason
    assert "/nonexistent" not in output.result.stems.reason  # details go to the log, not to the user


def test_the_stems_encode_beside_the_hits_and_a_failed_job_waits_for_them(
    transcriber, tmp_path: Path, monkeypatch
) -> None:
    """The stem encoder runs while the hits are found; a job that fails after separation still waits
    for it, so no encoder writes into the directory of a job that is over."""
    import threading
    import time

    encoder = transcriber.stem_encoder
    started, finished = threading.Event(), threading.Event()

    class SlowEncoder:
        def encode_stems(self, *args, **kwargs):
            started.set()
            time.sleep(0.5)
            files = encoder.encode_stems(*args, **kwargs)
            finished.set()
            return files

    def failing_classify(prepared):
        assert started.wait(5), "the stems had not started when the hits were classified"
        assert not finished.is_set()  # still encoding: the two run side by side
        raise TranscriptionError("the hit model broke", code="model_failed")

    monkeypatch.setattr(transcriber, "stem_encoder", SlowEncoder())
    monkeypatch.setattr(transcriber.hit_finder, "classify", failing_classify)
    with pytest.raises(TranscriptionError, match="the hit model broke"):
        transcriber(song_file(tmp_path), JobOptions(), tmp_path / "work", Progress())
    assert finished.is_set()
    assert not [t for t in threading.enumerate() if t.name.startswith("stems")]


def test_freed_memory_goes_back_to_the_system_after_every_job(
    transcriber, tmp_path: Path, monkeypatch
) -> None:
    import groovesheet_worker.pipeline.memory as memory

    releases: list[int] = []
    monkeypatch.setattr(memory, "release_freed_memory", lambda: releases.append(1))
    transcriber(song_file(tmp_path), JobOptions(drums_only=True), tmp_path / "ok", Progress())
    assert releases == [1]

    monkeypatch.setattr(
        transcriber.hit_finder, "classify", lambda prepared: (_ for _ in ()).throw(RuntimeError("broken"))
    )
    with pytest.raises(RuntimeError):
        transcriber(song_file(tmp_path), JobOptions(drums_only=True), tmp_path / "failed", Progress())
    assert releases == [1, 1]

    def broken_separation(*args, **kwargs):
        raise RuntimeError("simulated separation failure")

    monkeypatch.setattr(transcriber.separator.model, "forward", broken_separation)
    with pytest.raises(TranscriptionError):
        transcriber(song_file(tmp_path), JobOptions(), tmp_path / "separation_failed", Progress())
    assert releases == [1, 1, 1]
