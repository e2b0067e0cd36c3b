"""demucs_segments computes exactly what demucs' apply_model computes, for one source."""

from __future__ import annotations

import contextlib
import functools
import random
import threading

import pytest
import torch
from demucs.apply import BagOfModels, apply_model
from demucs.pretrained import get_model

from groovesheet_worker.pipeline.demucs_segments import segment_passes, separate_source


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    model = get_model("demucs_unittest")
    model.segment = 0.6  # many segments on a few seconds of audio
    return model.eval()


def song(seconds: float, seed: int = 1) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return 0.5 * torch.randn(2, int(seconds * 44100), generator=generator)


def reference(model, mix: torch.Tensor, *, shifts: int, overlap: float, seed: int) -> torch.Tensor:
    random.seed(seed)
    with torch.inference_mode():
        return apply_model(model, mix[None], shifts=shifts, split=True, overlap=overlap, progress=False)[0]


@pytest.mark.parametrize(("shifts", "overlap"), [(1, 0.25), (0, 0.1), (2, 0.1), (1, 0.0)])
@pytest.mark.parametrize("source", [0, 3])
def test_the_source_is_apply_models_sample_for_sample(
    model, shifts: int, overlap: float, source: int
) -> None:
    mix = song(2.9)
    expected = reference(model, mix, shifts=shifts, overlap=overlap, seed=5)[source]
    passes: list[int] = []

    random.seed(5)
    with torch.inference_mode():
        got = separate_source(
            model, mix, source=source, overlap=overlap, shifts=shifts, on_segment=lambda: passes.append(1)
        )

    assert got.shape == mix.shape
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)
    # The count for progress assumes the longest random shift: at most one pass more per shift.
    predicted = segment_passes(model, source, mix.shape[-1], overlap=overlap, shifts=shifts)
    assert predicted - max(1, shifts) <= len(passes) <= predicted
    assert len(passes) > 4


def test_a_bag_of_models_is_weighted_per_source_like_apply_model(model) -> None:
    other = get_model("demucs_unittest").eval()
    other.segment = 0.9
    bag = BagOfModels([model, other], weights=[[1.0, 0.0, 1.0, 1.0], [3.0, 1.0, 0.0, 1.0]])
    mix = song(2.0, seed=2)

    for source in range(4):
        expected = reference(bag, mix, shifts=2, overlap=0.25, seed=9)[source]
        passes: list[int] = []
        random.seed(9)
        with torch.inference_mode():
            got = separate_source(
                bag,
                mix,
                source=source,
                overlap=0.25,
                shifts=2,
                on_segment=functools.partial(passes.append, 1),
            )
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)
        # A model whose weight for this source is 0 is not run at all.
        assert len(passes) <= segment_passes(bag, source, mix.shape[-1], overlap=0.25, shifts=2)
    assert segment_passes(bag, 1, mix.shape[-1], overlap=0.25, shifts=2) < segment_passes(
        bag, 3, mix.shape[-1], overlap=0.25, shifts=2
    )


def test_worker_threads_give_the_same_source_and_run_under_the_precision_context(model) -> None:
    mix = song(2.5, seed=3)
    random.seed(4)
    with torch.inference_mode():
        alone = separate_source(model, mix, source=0, overlap=0.25, shifts=1)
    entered: list[str] = []

    @contextlib.contextmanager
    def precision():
        entered.append(threading.current_thread().name)
        yield

    random.seed(4)
    with torch.inference_mode():
        pooled = separate_source(model, mix, source=0, overlap=0.25, shifts=1, workers=2, precision=precision)

    torch.testing.assert_close(pooled, alone, rtol=0, atol=1e-6)
    assert len(entered) >= segment_passes(model, 0, mix.shape[-1], overlap=0.25, shifts=1) - 1
    assert all(name.startswith("demucs") for name in entered)
