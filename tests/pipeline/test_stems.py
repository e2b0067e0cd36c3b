"""The stems as the worker encodes them: real ffmpeg (libmp3lame), read back and measured."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from groovesheet_shared.outputs import STEM_BITRATE_KBPS, STEM_FILES
from groovesheet_worker.pipeline.stems import StemEncoder, StemsFailed
from tests.audio_samples import SR
from tests.stem_samples import TONE_HZ, encode_stems, mix_and_drums


def probe(path: Path) -> dict:
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format", str(path)],
        capture_output=True,
        check=True,
    )
    return json.loads(done.stdout)


def best_correlation(decoded: np.ndarray, reference: np.ndarray, max_lag: int = 4000) -> float:
    """Normalised correlation at the best lag (the MP3 encoder delays the audio by ~1100 samples)."""
    n = reference.size - max_lag
    best = 0.0
    for lag in range(0, max_lag, 8):
        a, b = decoded[lag : lag + n], reference[:n]
        best = max(best, float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12)))
    return best


@pytest.fixture(scope="module")
def stems(tmp_path_factory) -> dict[str, Path]:
    return encode_stems(tmp_path_factory.mktemp("stems"), seconds=4.0)


def test_both_stems_are_constant_192k_stereo_mp3_of_the_song_length(stems) -> None:
    assert set(stems) == set(STEM_FILES.values())
    for path in stems.values():
        info = probe(path)
        (stream,) = info["streams"]
        assert stream["codec_name"] == "mp3"
        assert int(stream["sample_rate"]) == SR and stream["channels"] == 2
        assert int(stream["bit_rate"]) == STEM_BITRATE_KBPS * 1000
        assert float(info["format"]["duration"]) == pytest.approx(4.0, abs=0.1)
        # Constant bit rate: size is duration x 192 kbit/s, so a byte offset is a time (seeking).
        assert path.stat().st_size == pytest.approx(4.0 * STEM_BITRATE_KBPS * 1000 / 8, rel=0.05)


def test_the_drums_stem_is_the_drums_and_no_drums_is_the_rest(stems) -> None:
    mix, drums = mix_and_drums(4.0)
    tone = (mix - drums).mean(axis=0)
    heard_drums, rate = sf.read(stems[STEM_FILES["drums"]], dtype="float32")
    heard_rest, _ = sf.read(stems[STEM_FILES["no_drums"]], dtype="float32")
    assert rate == SR and heard_drums.shape[1] == 2

    rest = heard_rest.mean(axis=1)
    assert best_correlation(rest, tone) > 0.95  # the song without drums is the tone
    assert best_correlation(rest, drums.mean(axis=0)) < 0.3  # ... with the drums taken out
    assert best_correlation(heard_drums.mean(axis=1), drums.mean(axis=0)) > 0.9
    spectrum = np.abs(np.fft.rfft(rest))
    assert np.argmax(spectrum) * SR / rest.size == pytest.approx(TONE_HZ, abs=1.0)


def test_a_stem_louder_than_full_scale_is_scaled_not_clipped(tmp_path) -> None:
    mix, drums = mix_and_drums(2.0)
    files = StemEncoder().encode_stems(mix * 3, drums * 3, SR, tmp_path)
    decoded, _ = sf.read(files[STEM_FILES["no_drums"]], dtype="float32")
    peak = float(np.abs(decoded).max())
    assert 0.8 < peak <= 1.05  # near full scale, not a flat top
    clipped = np.mean(np.abs(decoded) > 0.999)
    assert clipped < 1e-4


def fake_ffmpeg(tmp_path: Path, body: str) -> str:
    script = tmp_path / "ffmpeg"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


@pytest.mark.parametrize(
    ("ffmpeg", "says"),
    [
        ("/nonexistent/ffmpeg", "could not be started"),
        ("exit-1", "exit 1"),
        ("writes-nothing", "exit 0"),
        ("hangs", "longer than 1 s"),
    ],
)
def test_an_encoder_failure_is_reported_never_hidden(tmp_path, ffmpeg, says) -> None:
    scripts = {
        "exit-1": "cat >/dev/null; echo 'Unknown encoder libmp3lame' >&2; exit 1",
        "writes-nothing": "cat >/dev/null; exit 0",
        "hangs": "sleep 30",
    }
    binary = fake_ffmpeg(tmp_path, scripts[ffmpeg]) if ffmpeg in scripts else ffmpeg
    mix, drums = mix_and_drums(1.0)
    with pytest.raises(StemsFailed) as info:
        StemEncoder(binary, timeout_seconds=1.0).encode_stems(mix, drums, SR, tmp_path)
    assert says in str(info.value)
    if ffmpeg == "exit-1":
        assert "Unknown encoder libmp3lame" in str(info.value)


def test_mismatched_stems_are_refused(tmp_path) -> None:
    mix, drums = mix_and_drums(1.0)
    with pytest.raises(StemsFailed):
        StemEncoder().encode_stems(mix, drums[:, :-5], SR, tmp_path)
