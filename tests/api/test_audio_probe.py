"""The content check of an upload: decoded to the end, frames counted as the decoder returns them."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile

from groovesheet_api.audio_probe import probe_audio
from groovesheet_api.errors import ApiError
from tests.audio_samples import SR, encode, groove, song_bytes

LIMIT, MINIMUM = 900.0, 2.0


def probe(tmp_path: Path, data: bytes, **limits: float):
    path = tmp_path / "upload"
    path.write_bytes(data)
    return probe_audio(path, limits.get("max_seconds", LIMIT), limits.get("min_seconds", MINIMUM))


def refused(tmp_path: Path, data: bytes, **limits: float) -> ApiError:
    with pytest.raises(ApiError) as caught:
        probe(tmp_path, data, **limits)
    return caught.value


@pytest.mark.parametrize("fmt", ["MP3", "WAV", "FLAC", "OGG"])
def test_whole_songs_pass_with_their_real_length(tmp_path, fmt):
    probed = probe(tmp_path, song_bytes(fmt, seconds=6.0))
    assert probed.format.name == fmt
    assert probed.duration_seconds == pytest.approx(6.0, abs=0.06)


def _half(data: bytes) -> bytes:
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("first 1 KB of an MP3", lambda: song_bytes("MP3", 10)[:1024]),
        ("first half of an MP3", lambda: _half(song_bytes("MP3", 10))),
        (
            "8 KB of MP3 then garbage",
            lambda: song_bytes("MP3", 10)[:8192] + np.random.default_rng(1).bytes(80_000),
        ),
        ("first half of an OGG", lambda: _half(song_bytes("OGG", 10))),
        ("first half of a FLAC", lambda: _half(song_bytes("FLAC", 10))),
        ("first half of a WAV", lambda: _half(song_bytes("WAV", 10))),
    ],
)
def test_files_cut_short_are_undecodable(tmp_path, name, make):
    error = refused(tmp_path, make())
    assert (error.status_code, error.code) == (422, "undecodable_audio"), name
    assert "cut short" in error.message and "upload it again" in error.message


def test_a_tenth_of_a_second_is_too_short(tmp_path):
    error = refused(tmp_path, encode(groove(4.0)[: SR // 10], "WAV"))
    assert (error.status_code, error.code) == (422, "audio_too_short")
    assert "0.1 s" in error.message and "longer recording" in error.message


def test_a_one_second_tone_is_too_short(tmp_path):
    tone = (0.5 * np.sin(2 * np.pi * 8000 * np.arange(SR) / SR)).astype(np.float32)
    assert refused(tmp_path, encode(tone, "WAV")).code == "audio_too_short"


@pytest.mark.parametrize("fmt", ["WAV", "MP3"])
def test_thirty_seconds_of_silence_is_refused(tmp_path, fmt):
    error = refused(tmp_path, encode(np.zeros(30 * SR, dtype=np.float32), fmt))
    assert (error.status_code, error.code) == (422, "silent_audio")


def test_quiet_but_not_silent_passes(tmp_path):
    quiet = groove(3.0) * 0.001  # about -60 dBFS peaks
    assert probe(tmp_path, encode(quiet, "FLAC")).duration_seconds == pytest.approx(3.0, abs=0.01)


def test_too_long_is_found_while_decoding(tmp_path):
    error = refused(tmp_path, song_bytes("MP3", 5.0), max_seconds=2.0, min_seconds=1.0)
    assert (error.status_code, error.code) == (413, "audio_too_long")


def test_not_a_number_samples_are_undecodable(tmp_path):
    audio = groove(3.0)
    audio[1000] = np.nan
    buffer = io.BytesIO()
    soundfile.write(buffer, audio, SR, format="WAV", subtype="FLOAT")
    assert refused(tmp_path, buffer.getvalue()).code == "undecodable_audio"
