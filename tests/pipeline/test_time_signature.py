"""Time signatures: parsing the uploader's and what each means for beats and pulses."""

from __future__ import annotations

import pytest

from groovesheet_shared.errors import TranscriptionError
from groovesheet_worker.pipeline.time_signature import Meter, parse_time_signature


@pytest.mark.parametrize("text", ["4/4", "3/4", "6/8", "2/4", "5/4", "7/8", "12/8", " 6/8 "])
def test_time_signatures_accepted(text: str) -> None:
    assert parse_time_signature(text).time_signature == text.strip()


@pytest.mark.parametrize("text", ["4/3", "waltz", "0/4", "4"])
def test_bad_time_signature_is_a_typed_error(text: str) -> None:
    with pytest.raises(TranscriptionError) as caught:
        parse_time_signature(text)
    assert caught.value.code == "invalid_time_signature"


def test_none_means_four_four() -> None:
    assert parse_time_signature(None) == Meter(4, 4)


@pytest.mark.parametrize(
    ("meter", "compound", "beats_per_pulse", "pulses"),
    [
        (Meter(6, 8), True, 3, 2),
        (Meter(12, 8), True, 3, 4),
        (Meter(7, 8), False, 1, 7),
        (Meter(3, 4), False, 1, 3),
    ],
)
def test_compound_meters_count_dotted_quarters(
    meter: Meter, compound: bool, beats_per_pulse: int, pulses: int
) -> None:
    assert (meter.is_compound, meter.beats_per_pulse, meter.pulses_per_bar) == (
        compound,
        beats_per_pulse,
        pulses,
    )


@pytest.mark.parametrize(
    ("meter", "eighths"),
    [(Meter(7, 8), True), (Meter(5, 8), True), (Meter(6, 8), False), (Meter(4, 4), False)],
)
def test_only_simple_eighth_meters_count_eighths(meter: Meter, eighths: bool) -> None:
    assert meter.counts_eighths is eighths
