"""Make rendered drums sound produced: each part of the kit processed on its own, as a mix engineer does.

``augment.augment`` treats the kit as one signal (one room, one EQ). Records do not: the snare and
toms go to a plate or hall reverb (in the 1980s a gated one), the kick is compressed dry, the
cymbals are brightened; and on a real kit the snare wires buzz whenever the kick or a tom is hit.
A model that has only heard the whole-kit treatment takes a reverberant snare for a cymbal and a
snare's reverb tail for another snare. Here each group is rendered alone (``render.render`` of the
group's strokes), processed, and summed; the labels do not change (the buzz is not a stroke).

Everything is drawn from the piece's random generator, so a piece is the same on every build.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np
from scipy import signal

from .arrange import Performance, Stroke
from .augment import biquad_peak, biquad_shelf, compress, random_eq, room_impulse
from .kit import SAMPLE_RATE, Kit
from .render import render

# The kit's parts as a mix engineer groups them (each group is one channel of the mix).
GROUPS: dict[str, tuple[str, ...]] = {
    "kick": ("kick",),
    "snare": ("snare", "cross_stick"),
    "toms": ("tom_high", "tom_mid", "tom_floor"),
    "hihat": ("hihat_closed", "hihat_open", "hihat_pedal"),
    "cymbals": ("ride", "ride_bell", "crash"),
}
# Snare wires sound only above about this frequency when another drum shakes them.
WIRE_HIGHPASS_HZ = 2500.0
# Level of the sympathetic buzz under the snare stroke of the same velocity, dB.
BUZZ_DB = (-36.0, -22.0)


def add_unisons(perf: Performance, rng: np.random.Generator) -> Performance:
    """Kick under the backbeat snare, or four on the floor: unisons GMD's drummers rarely play."""
    beat = perf.beat_seconds
    strokes = list(perf.strokes)
    kicks = np.array([s.time for s in strokes if s.cls == "kick"])

    def has_kick(t: float) -> bool:
        return bool(len(kicks)) and bool(np.min(np.abs(kicks - t)) < 0.03)

    roll = rng.random()
    if roll < 0.35:  # kick doubles every loud snare (80s rock, dance-pop backbeats)
        for s in perf.strokes:
            if s.cls == "snare" and s.velocity >= 70 and not has_kick(s.time):
                strokes.append(Stroke(s.time, "kick", int(rng.integers(70, 120))))
    elif roll < 0.6:  # four on the floor
        for t in np.arange(0.0, perf.duration, beat):
            if not has_kick(float(t)):
                strokes.append(Stroke(round(float(t), 5), "kick", int(rng.integers(70, 120))))
    return replace(perf, strokes=tuple(sorted(strokes, key=lambda s: s.time)))


def _only(perf: Performance, classes: tuple[str, ...]) -> Performance:
    return replace(perf, strokes=tuple(s for s in perf.strokes if s.cls in classes))


def reverb_impulse(rng: np.random.Generator, gated: bool) -> np.ndarray:
    """A plate/hall (rt60 0.8-2.5 s) or a gated reverb: a dense tail cut after 150-400 ms."""
    if not gated:
        return room_impulse(rng, float(rng.uniform(0.8, 2.5)))
    ir = room_impulse(rng, float(rng.uniform(1.5, 3.0)))
    gate = int(rng.uniform(0.15, 0.4) * SAMPLE_RATE)
    fade = int(0.02 * SAMPLE_RATE)
    ir = ir[: gate + fade].copy()
    ir[gate:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    # A gated reverb is flat while open, not decaying: that is what makes it sound big.
    t = np.arange(gate + fade) / SAMPLE_RATE
    ir[int(0.01 * SAMPLE_RATE) :] *= np.exp(t[int(0.01 * SAMPLE_RATE) :] * 4.0).astype(np.float32)
    return (ir / np.sqrt(np.sum(ir**2))).astype(np.float32)


def send_reverb(audio: np.ndarray, ir: np.ndarray, wet_db: float) -> np.ndarray:
    wet = signal.fftconvolve(audio, ir)[: len(audio)].astype(np.float32)
    dry_rms = np.sqrt(np.mean(audio**2)) + 1e-9
    wet_rms = np.sqrt(np.mean(wet**2)) + 1e-9
    return (audio + wet * (dry_rms / wet_rms) * 10 ** (wet_db / 20)).astype(np.float32)


def snare_buzz(perf: Performance, kits: Mapping[str, Kit], rng: np.random.Generator, n: int) -> np.ndarray:
    """The snare wires answering each kick and tom stroke: the kit's snare, high-passed and quiet."""
    out = np.zeros(n, dtype=np.float32)
    kit = kits["snare"]
    if not kit.has("snare"):
        return out
    sos = signal.butter(2, WIRE_HIGHPASS_HZ / (SAMPLE_RATE / 2), btype="high", output="sos")
    level = float(rng.uniform(*BUZZ_DB))
    for s in perf.strokes:
        if s.cls not in ("kick", "tom_high", "tom_mid", "tom_floor"):
            continue
        shot, gain = kit.pick("snare", s.velocity, rng)
        buzz = signal.sosfilt(sos, shot[: int(0.3 * SAMPLE_RATE)]).astype(np.float32)
        start = round(s.time * SAMPLE_RATE) + int(rng.integers(0, int(0.004 * SAMPLE_RATE)))
        if start >= n:
            continue
        piece = buzz[: n - start] * gain * 10 ** ((level + rng.normal(0, 2)) / 20)
        out[start : start + len(piece)] += piece
    return out


def _process_kick(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = signal.lfilter(*biquad_peak(rng.uniform(50, 90), rng.uniform(0, 8), 1.0), audio)
    out = signal.lfilter(*biquad_peak(rng.uniform(2500, 5000), rng.uniform(-3, 8), 1.2), out)
    out = out.astype(np.float32)
    if rng.random() < 0.7:
        out = compress(
            out, rng.uniform(-30, -15), rng.uniform(3, 8), rng.uniform(3, 20), rng.uniform(50, 150)
        )
    return out


def _process_snare(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = signal.lfilter(*biquad_peak(rng.uniform(150, 280), rng.uniform(-3, 6), 1.0), audio)
    out = signal.lfilter(*biquad_shelf(rng.uniform(4000, 9000), rng.uniform(-3, 8), high=True), out)
    out = out.astype(np.float32)
    if rng.random() < 0.6:
        out = compress(
            out, rng.uniform(-28, -12), rng.uniform(2, 6), rng.uniform(1, 15), rng.uniform(60, 200)
        )
    return out


def produce(
    perf: Performance,
    kits: Mapping[str, Kit],
    rng: np.random.Generator,
    class_gain_db: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Mono audio of ``perf`` mixed group by group (module docstring); same length as ``render``."""
    groups = {
        name: render(_only(perf, classes), kits, rng, class_gain_db) for name, classes in GROUPS.items()
    }
    n = len(groups["kick"])
    if rng.random() < 0.6:
        groups["snare"] += snare_buzz(perf, kits, rng, n)
    groups["kick"] = _process_kick(groups["kick"], rng)
    groups["snare"] = _process_snare(groups["snare"], rng)
    gated = rng.random() < 0.3
    ir = reverb_impulse(rng, gated)
    if rng.random() < 0.85:
        groups["snare"] = send_reverb(groups["snare"], ir, float(rng.uniform(-12, 0 if gated else -3)))
    if rng.random() < 0.6:
        groups["toms"] = send_reverb(groups["toms"], ir, float(rng.uniform(-14, -3)))
    for name in ("hihat", "cymbals"):
        if rng.random() < 0.6:
            groups[name] = random_eq(groups[name], rng)
    faders = {name: 10 ** (rng.normal(0.0, 2.0) / 20) for name in groups}
    return sum(groups[name] * faders[name] for name in groups).astype(np.float32)
