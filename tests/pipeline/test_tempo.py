"""Tempo and bars on synthetic drum audio at known tempos."""

from __future__ import annotations

import numpy as np
import pytest

from groovesheet_shared.errors import TranscriptionError
from groovesheet_worker.pipeline.quantize import place_hits
from groovesheet_worker.pipeline.tempo import estimate_tempo_grid, parse_time_signature
from groovesheet_worker.pipeline.types import Hit, TempoGrid

SR = 22050


def render(hits: list[Hit], seconds: float) -> np.ndarray:
    """Drum-like audio: a pitched-down thump for kicks, noise bursts for snares and cymbals."""
    rng = np.random.default_rng(7)
    audio = np.zeros(int(seconds * SR))
    length = int(0.2 * SR)
    t = np.arange(length) / SR
    sounds = {
        "kick": np.sin(2 * np.pi * (50 + 100 * np.exp(-t * 40)) * t) * np.exp(-t * 25),
        "snare": (0.6 * rng.standard_normal(length) + np.sin(2 * np.pi * 190 * t)) * np.exp(-t * 30),
        "hihat": 0.3 * np.diff(rng.standard_normal(length + 1)) * np.exp(-t * 90),
    }
    sounds["crash"] = sounds["ride"] = sounds["hihat"] * 1.5
    sounds["tom"] = np.sin(2 * np.pi * 120 * t) * np.exp(-t * 15)
    for hit in hits:
        start = int(hit.time * SR)
        piece = sounds[hit.instrument][: max(0, len(audio) - start)] * hit.confidence
        audio[start : start + len(piece)] += piece
    return audio.astype(np.float32)


def rock_beat(bpm: float, bars: int, start: float = 0.5, hats_per_beat: int = 2) -> list[Hit]:
    """Kick on 1 and 3, snare on 2 and 4, even hi-hats: the groove a drummer counts at ``bpm``."""
    beat = 60.0 / bpm
    hits = []
    for n in range(bars * 4):
        time = start + n * beat
        hits += [Hit(time + k * beat / hats_per_beat, "hihat", 0.5) for k in range(hats_per_beat)]
        hits.append(Hit(time, "kick" if n % 2 == 0 else "snare", 0.9))
    return sorted(hits, key=lambda h: h.time)


def bar_starts(grid: TempoGrid) -> np.ndarray:
    return np.asarray(grid.beats[grid.downbeat :: grid.beats_per_bar])


def assert_covers(grid: TempoGrid, hits: list[Hit]) -> None:
    assert grid.beats[0] <= min(h.time for h in hits)
    assert grid.beats[-1] >= max(h.time for h in hits)
    assert np.all(np.diff(grid.beats) > 0)


@pytest.mark.parametrize("bpm", [72, 96, 120, 140, 174])
def test_rock_beat_tempo_within_two_percent(bpm: float) -> None:
    hits = rock_beat(bpm, bars=8)
    grid = estimate_tempo_grid(render(hits, hits[-1].time + 1), SR, hits, None, None)
    assert grid.bpm == pytest.approx(bpm, rel=0.02)
    assert grid.time_signature == "4/4"
    assert_covers(grid, hits)
    # Bar 1 starts on the first kick.
    assert grid.beats[grid.downbeat] == pytest.approx(0.5, abs=0.03)


def test_busy_hihat_does_not_double_the_tempo() -> None:
    """The octave trap: 16th hi-hats at 85 BPM look like 170 to a plain autocorrelation peak."""
    hits = rock_beat(85, bars=8, hats_per_beat=4)
    grid = estimate_tempo_grid(render(hits, hits[-1].time + 1), SR, hits, None, None)
    assert grid.bpm == pytest.approx(85, rel=0.04)


def test_fast_beat_with_quarter_hats_is_not_halved() -> None:
    hits = rock_beat(160, bars=12, hats_per_beat=1)
    grid = estimate_tempo_grid(render(hits, hits[-1].time + 1), SR, hits, None, None)
    assert grid.bpm == pytest.approx(160, rel=0.04)


def test_downbeat_follows_the_kick_not_the_first_sound() -> None:
    """Two snare pickup beats, then the band comes in with a crash: bar 1 ends with the pickup."""
    beat = 60.0 / 110
    pickup = [Hit(0.5, "snare", 0.8), Hit(0.5 + beat, "snare", 0.8)]
    groove = rock_beat(110, bars=6, start=0.5 + 2 * beat)
    groove.append(Hit(0.5 + 2 * beat, "crash", 0.9))
    hits = pickup + groove
    grid = estimate_tempo_grid(render(hits, groove[-1].time + 1), SR, hits, None, None)
    assert_covers(grid, hits)
    placed = place_hits(hits, grid)
    first_kick = min((p for p in placed if p.hit.instrument == "kick"), key=lambda p: p.hit.time)
    assert (first_kick.bar, first_kick.beat, first_kick.slot) == (2, 1, 0)
    pickup_places = sorted((p.bar, p.beat) for p in placed if p.hit in pickup)
    assert pickup_places == [(1, 3), (1, 4)]


def test_bpm_hint_gives_an_even_grid_on_the_music() -> None:
    hits = rock_beat(100, bars=6, start=0.37)
    grid = estimate_tempo_grid(render(hits, hits[-1].time + 1), SR, hits, 100.0, None)
    assert grid.bpm == 100.0
    assert np.allclose(np.diff(grid.beats), 0.6, atol=1e-9)
    assert grid.beats[grid.downbeat] == pytest.approx(0.37, abs=0.02)


def test_bpm_hint_overrides_an_octave() -> None:
    """The upload says half time: the estimate would be 120, the hint wins."""
    hits = rock_beat(120, bars=6)
    grid = estimate_tempo_grid(render(hits, hits[-1].time + 1), SR, hits, 60.0, None)
    assert grid.bpm == 60.0
    assert np.allclose(np.diff(grid.beats), 1.0)
    assert_covers(grid, hits)


def test_waltz_in_three_four() -> None:
    beat = 60.0 / 90
    hits = []
    for n in range(24):
        hits.append(Hit(0.8 + n * beat, "kick" if n % 3 == 0 else "snare", 0.9 if n % 3 == 0 else 0.6))
    grid = estimate_tempo_grid(render(hits, hits[-1].time + 1), SR, hits, None, "3/4")
    assert (grid.beats_per_bar, grid.beat_unit) == (3, 4)
    assert grid.bpm == pytest.approx(90, rel=0.04)
    kicks = [h.time for h in hits if h.instrument == "kick"]
    assert np.min(np.abs(bar_starts(grid)[:, None] - np.array(kicks)[None, :]), axis=0).max() < 0.03


def test_six_eight_counts_dotted_quarters() -> None:
    """6/8 at dotted quarter = 70: eighths 210 a minute; kick on 1, snare on 4."""
    eighth = 60.0 / 210
    hits = []
    for n in range(48):
        time = 0.6 + n * eighth
        hits.append(Hit(time, "hihat", 0.5))
        if n % 6 == 0:
            hits.append(Hit(time, "kick", 0.9))
        if n % 6 == 3:
            hits.append(Hit(time, "snare", 0.9))
    grid = estimate_tempo_grid(render(hits, hits[-1].time + 1), SR, hits, None, "6/8")
    assert (grid.beats_per_bar, grid.beat_unit, grid.beats_per_pulse) == (6, 8, 3)
    assert grid.bpm == pytest.approx(70, rel=0.04)
    assert np.median(np.diff(grid.beats)) == pytest.approx(eighth, rel=0.04)
    assert grid.beats[grid.downbeat] == pytest.approx(0.6, abs=0.03)
    placed = place_hits(hits, grid)
    assert {(p.beat, p.division) for p in placed if p.hit.instrument == "snare"} == {(4, 2)}


def test_silence_still_gives_a_grid() -> None:
    grid = estimate_tempo_grid(np.zeros(SR * 3, dtype=np.float32), SR, [], None, None)
    assert grid.bpm == 120.0
    assert grid.beats[-1] >= 3.0
    assert 0 <= grid.downbeat < len(grid.beats)


def test_a_few_hits_in_silence_are_covered() -> None:
    hits = [Hit(1.0, "snare", 0.7), Hit(2.5, "kick", 0.7)]
    grid = estimate_tempo_grid(np.zeros(SR * 3, dtype=np.float32), SR, hits, None, "3/4")
    assert_covers(grid, hits)
    assert grid.beats[grid.downbeat] <= 1.0


def test_hits_alone_carry_the_tempo_when_audio_is_empty() -> None:
    hits = rock_beat(128, bars=6)
    grid = estimate_tempo_grid(np.zeros(0, dtype=np.float32), SR, hits, None, None)
    assert grid.bpm == pytest.approx(128, rel=0.04)


@pytest.mark.parametrize("text", ["4/4", "3/4", "6/8", "2/4", "5/4", "7/8", "12/8", " 6/8 "])
def test_time_signatures_accepted(text: str) -> None:
    meter = parse_time_signature(text)
    assert f"{meter.beats_per_bar}/{meter.beat_unit}" == text.strip()


@pytest.mark.parametrize("text", ["4/3", "waltz", "0/4", "4"])
def test_bad_time_signature_is_a_typed_error(text: str) -> None:
    with pytest.raises(TranscriptionError) as caught:
        estimate_tempo_grid(np.zeros(SR, dtype=np.float32), SR, [], None, text)
    assert caught.value.code == "invalid_time_signature"


def test_bpm_hint_grid_sits_on_the_kick_not_on_loud_offbeat_hats() -> None:
    beat = 0.6
    hits = []
    for n in range(24):
        time = 0.4 + n * beat
        hits.append(Hit(time, "kick" if n % 2 == 0 else "snare", 0.4))
        hits.append(Hit(time + beat / 2, "hihat", 1.0))
    audio = render(hits, hits[-1].time + 1)
    grid = estimate_tempo_grid(audio, SR, hits, 100.0, None)
    assert grid.beats[grid.downbeat] == pytest.approx(0.4, abs=0.02)
