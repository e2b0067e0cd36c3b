"""Mixing part by part: unisons, snare and tom reverb (gated or not), snare-wire buzz, same labels."""

from __future__ import annotations

import numpy as np
from scipy import signal

from training.arrange import Performance, Stroke
from training.classes import CLASSES
from training.kit import SAMPLE_RATE, Kit
from training.production import (
    WIRE_HIGHPASS_HZ,
    add_unisons,
    produce,
    reverb_impulse,
    send_reverb,
    snare_buzz,
)
from training.render import render


def _kit() -> Kit:
    kit = Kit("test", "CC0")
    t = np.arange(int(0.4 * SAMPLE_RATE)) / SAMPLE_RATE
    noise = np.random.default_rng(0).standard_normal(len(t))
    for i, cls in enumerate(CLASSES):
        tone = np.sin(2 * np.pi * (60 + 120 * i) * t)
        kit.add(cls, (0.5 * tone + (0.5 * noise if cls == "snare" else 0)) * np.exp(-t / 0.08), 100)
    return kit


def _backbeat(seconds: float = 4.0, bpm: float = 120.0) -> Performance:
    beat = 60 / bpm
    strokes = []
    for i in range(int(seconds / beat)):
        strokes.append(Stroke(round(i * beat, 5), "snare" if i % 2 else "kick", 100))
    return Performance("backbeat", bpm, 4, seconds, tuple(strokes))


def test_unisons_add_kicks_only_under_snares_or_on_every_beat() -> None:
    base = _backbeat()
    seen = set()
    for seed in range(30):
        out = add_unisons(base, np.random.default_rng(seed))
        assert [s for s in out.strokes if s.cls != "kick"] == [s for s in base.strokes if s.cls != "kick"]
        kicks = sorted(s.time for s in out.strokes if s.cls == "kick")
        assert len(kicks) == len(set(kicks))  # never a second kick on one that is there
        seen.add(len(kicks))
    # Unchanged, or a kick on every beat (here the backbeat and four on the floor coincide).
    assert seen == {4, 8}


def test_a_gated_reverb_is_flat_then_cut_and_a_hall_decays() -> None:
    rng = np.random.default_rng(3)
    gated = reverb_impulse(rng, gated=True)
    assert 0.15 * SAMPLE_RATE < len(gated) < 0.45 * SAMPLE_RATE
    frame = int(0.04 * SAMPLE_RATE)
    levels = [
        np.sqrt(np.mean(gated[i : i + frame] ** 2)) for i in range(frame, len(gated) - 2 * frame, frame)
    ]
    assert max(levels) / min(levels) < 2.0  # within 6 dB while the gate is open
    hall = reverb_impulse(rng, gated=False)
    early, late = hall[frame : 2 * frame], hall[-2 * frame : -frame]
    assert np.sqrt(np.mean(late**2)) < 0.1 * np.sqrt(np.mean(early**2))


def test_the_reverb_send_adds_a_tail_after_the_stroke() -> None:
    dry = np.zeros(SAMPLE_RATE, dtype=np.float32)
    dry[100:600] = np.hanning(500)
    wet = send_reverb(dry, reverb_impulse(np.random.default_rng(1), gated=False), -6.0)
    assert np.abs(dry[5000:]).max() == 0 and np.abs(wet[5000:]).max() > 1e-3


def test_snare_buzz_follows_kicks_and_toms_and_has_no_low_end() -> None:
    kits = dict.fromkeys(CLASSES, _kit())
    perf = Performance("p", 120, 4, 2.0, (Stroke(0.5, "kick", 100), Stroke(1.5, "hihat_closed", 100)))
    n = 2 * SAMPLE_RATE
    buzz = snare_buzz(perf, kits, np.random.default_rng(0), n)
    assert np.abs(buzz[: int(0.5 * SAMPLE_RATE)]).max() == 0  # nothing before the kick
    assert np.abs(buzz[int(0.5 * SAMPLE_RATE) : int(0.8 * SAMPLE_RATE)]).max() > 0
    assert np.abs(buzz[int(1.45 * SAMPLE_RATE) :]).max() == 0  # the hi-hat does not shake the wires
    f, power = signal.welch(buzz, SAMPLE_RATE, nperseg=4096)
    assert power[f < WIRE_HIGHPASS_HZ / 4].sum() < 0.05 * power[f > WIRE_HIGHPASS_HZ].sum()
    # Much quieter than a snare stroke of the same velocity.
    snare = render(
        Performance("s", 120, 4, 1.0, (Stroke(0.0, "snare", 100),)), kits, np.random.default_rng(0)
    )
    assert np.abs(buzz).max() < 0.2 * np.abs(snare).max()


def test_produce_is_deterministic_and_as_long_as_a_plain_render() -> None:
    kits = dict.fromkeys(CLASSES, _kit())
    perf = _backbeat()
    a = produce(perf, kits, np.random.default_rng(5))
    b = produce(perf, kits, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    assert len(a) == len(render(perf, kits, np.random.default_rng(5)))
    assert np.isfinite(a).all() and np.abs(a).max() > 0
