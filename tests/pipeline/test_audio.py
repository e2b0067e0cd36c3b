"""Decoding uploads: every accepted format, resampling, and the three ways a file is refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from groovesheet_shared.errors import TranscriptionError
from groovesheet_worker.pipeline.audio import load_song
from groovesheet_worker.pipeline.constants import SAMPLE_RATE
from tests.audio_samples import encode, groove


@pytest.mark.parametrize("fmt", ["WAV", "FLAC", "OGG", "MP3"])
def test_every_accepted_format_decodes_to_44k_float_stereo(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"song.{fmt.lower()}"
    path.write_bytes(encode(groove(3.0), fmt))

    song = load_song(path, max_seconds=60)

    assert song.sample_rate == SAMPLE_RATE
    assert song.stereo.dtype == np.float32 and song.stereo.shape[0] == 2
    # Lossy codecs add priming samples; the length stays within a few frames of 3 s.
    assert song.duration_seconds == pytest.approx(3.0, abs=0.1)
    assert song.mono.shape == (song.stereo.shape[1],)
    assert 0.3 < float(np.abs(song.mono).max()) <= 1.0


def test_other_sample_rates_are_resampled_and_stereo_is_kept(tmp_path: Path) -> None:
    t = np.arange(22050 * 2) / 22050
    left, right = np.sin(2 * np.pi * 440 * t), 0.5 * np.sin(2 * np.pi * 660 * t)
    path = tmp_path / "stereo22k.wav"
    sf.write(path, np.stack([left, right], axis=1).astype(np.float32), 22050)

    song = load_song(path, max_seconds=60)

    assert song.stereo.shape == (2, 2 * SAMPLE_RATE)
    assert np.abs(song.stereo[0]).max() == pytest.approx(1.0, abs=0.02)
    assert np.abs(song.stereo[1]).max() == pytest.approx(0.5, abs=0.02)


def test_long_files_are_decoded_in_blocks_without_loss(tmp_path: Path) -> None:
    audio = np.random.default_rng(1).uniform(-0.5, 0.5, SAMPLE_RATE * 13).astype(np.float32)
    path = tmp_path / "noise.flac"
    sf.write(path, audio, SAMPLE_RATE, subtype="PCM_24")

    song = load_song(path, max_seconds=60)

    np.testing.assert_allclose(song.stereo[0], audio, atol=1e-6)
    np.testing.assert_array_equal(song.stereo[0], song.stereo[1])


@pytest.mark.parametrize(
    "content",
    [b"this is not audio at all" * 100, b"ID3\x03\x00\x00\x00" + bytes(range(256)) * 20, b""],
    ids=["text", "garbage-mp3", "empty-file"],
)
def test_undecodable_files_are_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.mp3"
    path.write_bytes(content)

    with pytest.raises(TranscriptionError) as info:
        load_song(path, max_seconds=60)

    assert info.value.code == "undecodable_audio"
    assert info.value.retryable is False
    assert "broken.mp3" in info.value.message


def test_silent_audio_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros(SAMPLE_RATE * 2, dtype=np.float32), SAMPLE_RATE)

    with pytest.raises(TranscriptionError) as info:
        load_song(path, max_seconds=60)

    assert info.value.code == "silent_audio"
    assert info.value.retryable is False


def test_audio_over_the_limit_is_refused_with_the_limit_in_the_message(tmp_path: Path) -> None:
    path = tmp_path / "long.wav"
    path.write_bytes(encode(groove(4.0), "WAV"))

    with pytest.raises(TranscriptionError) as info:
        load_song(path, max_seconds=2)

    assert info.value.code == "audio_too_long"
    assert info.value.retryable is False
    assert "0:04 long; the limit is 0:02" in info.value.message
