"""Drum separation with the real Demucs code (its tiny random `demucs_unittest` model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from groovesheet_shared.errors import TranscriptionError
from groovesheet_worker.pipeline.separation import DrumSeparator
from tests.audio_samples import groove


@pytest.fixture(scope="module")
def separator() -> DrumSeparator:
    return DrumSeparator("demucs_unittest", shifts=1, overlap=0.25, num_workers=1)


def stereo(seconds: float = 2.0) -> np.ndarray:
    mono = groove(seconds)
    return np.stack([mono, 0.5 * mono])


def test_only_the_drums_stem_comes_back_with_the_song_length(separator: DrumSeparator) -> None:
    mix = stereo()
    fractions: list[float] = []

    drums = separator.separate_drums(mix, fractions.append)

    assert drums.shape == mix.shape
    assert drums.dtype == np.float32
    assert np.all(np.isfinite(drums))
    # Progress rises as segments finish and ends at exactly 1.
    assert fractions and fractions[-1] == 1.0
    assert fractions == sorted(fractions)
    assert all(0.0 < f <= 1.0 for f in fractions)
    assert len(fractions) >= 2


def test_the_drums_stem_is_what_the_model_says_not_the_mix(separator: DrumSeparator) -> None:
    mix = stereo()
    drums = separator.separate_drums(mix)
    # The random test model cannot reproduce the input: a raw-mix fallback would be caught here.
    assert not np.allclose(drums, mix, atol=1e-3)


def test_mono_input_is_separated_as_stereo(separator: DrumSeparator) -> None:
    drums = separator.separate_drums(groove(1.5)[None, :])
    assert drums.shape == (2, int(1.5 * 44100))


def test_a_crash_inside_the_model_fails_the_job_as_separation_failed(monkeypatch, separator) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("simulated kernel failure")

    monkeypatch.setattr(separator.model, "forward", broken)
    with pytest.raises(TranscriptionError) as info:
        separator.separate_drums(stereo(1.0))
    assert info.value.code == "separation_failed"
    assert info.value.retryable is True
    assert "simulated kernel failure" in info.value.message


def test_invalid_model_output_is_not_passed_on(monkeypatch, separator) -> None:
    real_forward = separator.model.forward

    def nan_forward(mix):
        return real_forward(mix) * float("nan")

    monkeypatch.setattr(separator.model, "forward", nan_forward)
    with pytest.raises(TranscriptionError) as info:
        separator.separate_drums(stereo(1.0))
    assert info.value.code == "separation_failed"
    assert info.value.retryable is False


def test_a_missing_model_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TranscriptionError) as info:
        DrumSeparator("htdemucs", tmp_path / "nowhere")
    assert info.value.code == "separation_failed"
    assert info.value.retryable is False
    assert "make models" in info.value.message


def test_thread_count_is_applied() -> None:
    before = torch.get_num_threads()
    try:
        DrumSeparator("demucs_unittest", threads=1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_a_long_song_is_one_pass_of_many_segments_with_progress(
    monkeypatch, separator: DrumSeparator
) -> None:
    monkeypatch.setattr(separator.model, "segment", 0.5)
    mix = stereo(3.2)
    fractions: list[float] = []

    drums = separator.separate_drums(mix, fractions.append)

    assert drums.shape == mix.shape
    assert np.all(np.isfinite(drums))
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    # 3.2 s plus a random shift of up to 0.5 s in strides of 0.375 s: 9 or 10 passes, one report
    # each, plus the final 1.0.
    assert len(fractions) in (10, 11)
