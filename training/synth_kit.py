"""Procedurally synthesised drum kits: every class in ``CLASSES``, a different-sounding kit per seed.

Nothing here is recorded, so a synthesised kit is CC0 by construction. ``synth_kit(seed)`` draws the
kit's character from the seed (tunings, decays, brightness, noise/tone balance, class levels), then
renders each class at ``LAYER_VELOCITIES`` with ``ROUND_ROBINS`` slightly different strokes per layer.

- A softer layer is quieter (amplitude ~ (velocity/127)^gamma, gamma 1.6-2.2 per kit) *and* darker:
  its bright parts (beater click, stick, wires) are weaker, and a low-pass closes (drums) or the band
  above a crossover drops (cymbals) as the velocity falls.
- Class balance follows a real kit's natural mix (MuldjordKit, ``../shared/training/kits/README.md``:
  loudest-layer RMS over the first 50 ms relative to the snare), then the whole kit is scaled so its
  loudest hit peaks at ``PEAK_DBFS``.
- Drums are modal: struck membranes with the circular-membrane mode ratios and a pitch drop that
  grows with velocity. Cymbals are dense inharmonic partial banks (rendered by inverse FFT in groups of
  similar decay, so hundreds of partials cost a few FFTs) plus noise; the three hi-hat classes are one
  pair of 808-style square-partial + noise cymbals per kit, played closed, open or with the foot.

Deterministic from the seed (numpy ``default_rng`` streams keyed by seed, class and round-robin).
One kit takes about 0.2 s of CPU.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.fft
from scipy.signal import lfilter, sosfilt, sosfiltfilt

from .classes import CLASSES
from .kit import SAMPLE_RATE, Kit

SR = SAMPLE_RATE
LAYER_VELOCITIES: tuple[int, ...] = (30, 55, 80, 105, 127)
ROUND_ROBINS = 2
PEAK_DBFS = -3.0
LICENCE = "CC0-1.0 (procedurally synthesised by training/synth_kit.py; no recorded material)"

# Loudest layer, RMS over its first 50 ms, relative to the snare (dB). From MuldjordKit's natural mix:
# snare -15, kick -17/-18, toms -20, crash -24/-28, closed hi-hat -26, ride bow -30 dBFS. Each kit
# moves every class by up to +-KIT_LEVEL_SPREAD_DB.
CLASS_LEVEL_DB: dict[str, float] = {
    "kick": -2.5,
    "snare": 0.0,
    "cross_stick": -9.0,
    "hihat_closed": -11.0,
    "hihat_open": -9.0,
    "hihat_pedal": -17.0,
    "ride": -14.0,
    "ride_bell": -9.0,
    "crash": -10.0,
    "tom_high": -5.0,
    "tom_mid": -5.0,
    "tom_floor": -5.0,
}
KIT_LEVEL_SPREAD_DB = 2.0
BALANCE_WINDOW_S = 0.05

# Tom fundamentals (Hz) and the smallest ratio between neighbouring toms of one kit, so their ranges
# (even with the pitch drop at the stroke) never overlap.
TOM_RANGES: dict[str, tuple[float, float]] = {
    "tom_floor": (55.0, 100.0),
    "tom_mid": (95.0, 150.0),
    "tom_high": (140.0, 240.0),
}
TOM_MIN_RATIO = 1.2
# Ideal circular-membrane mode ratios (0,1), (1,1), (2,1), (0,2), (3,1), (1,2).
MEMBRANE_RATIOS = np.array([1.0, 1.59, 2.14, 2.30, 2.65, 2.92])
# The TR-808 hi-hat's six square-wave oscillators (Hz); each kit scales and detunes them.
TR808_METAL_HZ = np.array([205.3, 304.4, 369.6, 522.7, 540.0, 800.0])
# Cymbals: a softer stroke scales the band above the crossover by v ** CYMBAL_BRIGHTNESS_POWER.
HAT_CROSSOVER_HZ = 7000.0
PEDAL_CROSSOVER_HZ = 3500.0
CYMBAL_CROSSOVER_HZ = 3000.0
CYMBAL_BRIGHTNESS_POWER = 1.2

_LN1000 = float(np.log(1000.0))  # a T60 is the time to fall by 60 dB (amplitude / 1000)
_SETTLE_TAUS = 7.0  # a pitch glide has settled (to exp(-7) of its depth) after this many time constants

# A class's synthesiser: (round-robin rng, normalised velocities) -> one signal per velocity.
Voice = Callable[[np.random.Generator, np.ndarray], list[np.ndarray]]


@dataclass(frozen=True)
class _Shared:
    """What several classes of one kit share: the dynamics, the snare drum, the toms, the hi-hat."""

    gamma: float  # amplitude ~ v ** gamma
    snare_f0: float
    tom_f0: dict[str, float]
    tom_damping: float
    hat_metal_hz: np.ndarray
    hat_highpass: float
    hat_lowpass: float
    hat_noise: float  # 0 = all square partials, 1 = all noise


# --------------------------------------------------------------------------------------------- DSP


def _time(n: int, dtype: type = np.float64) -> np.ndarray:
    """Sample times in seconds; float32 where only envelopes and short pings use them."""
    return (np.arange(n) / SR).astype(dtype, copy=False)


def _samples(seconds: float) -> int:
    return max(1, int(seconds * SR))


def _decay(t: np.ndarray, t60: float) -> np.ndarray:
    return np.exp(-_LN1000 * t / t60)


def _onset(t: np.ndarray, attack_s: float) -> np.ndarray:
    """A fast rise from exactly 0 at sample 0 (the stroke)."""
    return -np.expm1(-t / attack_s)


# Butterworth Q per biquad: order 2 is one section, order 4 two.
_BUTTERWORTH_Q = {2: (0.7071067811865476,), 4: (0.5411961001461969, 1.3065629648763766)}


def _biquads(kind: str, freq: float, order: int) -> list[list[float]]:
    """Butterworth low- or high-pass as second-order sections (RBJ cookbook; cheaper than butter())."""
    w0 = 2 * np.pi * freq / SR
    cos, sin = float(np.cos(w0)), float(np.sin(w0))
    if kind == "lowpass":
        b = [(1 - cos) / 2, 1 - cos, (1 - cos) / 2]
    else:
        b = [(1 + cos) / 2, -1 - cos, (1 + cos) / 2]
    sections = []
    for q in _BUTTERWORTH_Q[order]:
        alpha = sin / (2 * q)
        a0 = 1 + alpha
        sections.append([b[0] / a0, b[1] / a0, b[2] / a0, 1.0, -2 * cos / a0, (1 - alpha) / a0])
    return sections


def _filter(x: np.ndarray, kind: str, freq: float | tuple[float, float], order: int = 2) -> np.ndarray:
    """Butterworth ``lowpass``, ``highpass`` (order 2 or 4) or ``bandpass`` (a high-pass then a low-pass)."""
    top = 0.45 * SR
    if isinstance(freq, tuple):
        lo, hi = max(freq[0], 20.0), min(freq[1], top)
        if hi <= lo * 1.05:
            return np.zeros_like(x)
        sos = _biquads("highpass", lo, order) + _biquads("lowpass", hi, order)
    elif kind == "lowpass" and freq >= top:
        return x
    else:
        sos = _biquads(kind, freq, order)
    return sosfilt(np.array(sos, dtype=np.float32 if x.dtype == np.float32 else np.float64), x)


def _darken(x: np.ndarray, v: float, top_hz: float, octaves: float) -> np.ndarray:
    """The velocity's brightness: a low-pass at ``top_hz`` for v=1, ``octaves`` lower at v=0."""
    return _filter(x, "lowpass", top_hz * 2.0 ** (-octaves * (1.0 - v)))


def _split(x: np.ndarray, crossover_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) with low + high == x: one filter, then any number of brightness layers.

    The low-pass runs forwards and backwards (zero phase), so ``low + g * high`` is a clean shelf
    between 1 and ``g`` with no notch where the two bands would cancel.
    """
    sos = np.array(_biquads("lowpass", crossover_hz, 2), dtype=x.dtype)
    low = sosfiltfilt(sos, x).astype(x.dtype, copy=False)
    return low, x - low


def _shelved(low: np.ndarray, high: np.ndarray, v: float, power: float) -> np.ndarray:
    """A softer stroke is darker: the band above the crossover scaled by v**power."""
    return low + v**power * high


def _unit(x: np.ndarray) -> np.ndarray:
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    return x / peak if peak > 0 else x


def _burst(
    rng: np.random.Generator, n: int, seconds: float, band: tuple[float, float], t60: float
) -> np.ndarray:
    """A short band-passed noise transient (stick, beater, clap of two cymbals), unit peak."""
    m = min(n, _samples(seconds))
    out = np.zeros(n)
    out[:m] = _unit(_filter(rng.standard_normal(m), "bandpass", band)) * _decay(_time(m), t60)
    return out


def _mode_length(n: int, t60: float) -> int:
    """A mode is computed while it stays above -80 dB."""
    return min(n, _samples(t60 * 4 / 3))


def _damped_sine(m: int, freq: float, t60: float, phase: float) -> np.ndarray:
    """``10**(-3 t / t60) * sin(2 pi freq t + phase)`` for m samples, as a two-pole resonator's impulse response.

    (A recursion in C: several times cheaper than numpy's exp and sin.)
    """
    r = float(np.exp(-_LN1000 / (t60 * SR)))
    w = 2 * np.pi * freq / SR
    impulse = np.zeros(m)
    impulse[0] = 1.0
    return lfilter([np.sin(phase), r * np.sin(w - phase)], [1.0, -2 * r * np.cos(w), r * r], impulse)


def _modes(n: int, freqs: np.ndarray, amps: np.ndarray, t60s: np.ndarray, phases: np.ndarray) -> np.ndarray:
    """Sum of exponentially decaying sines, n samples."""
    out = np.zeros(n)
    for f, a, t60, ph in zip(freqs, amps, t60s, phases, strict=True):
        m = _mode_length(n, t60)
        out[:m] += a * _damped_sine(m, f, t60, ph)
    return out


class _Membrane:
    """A struck drum's decaying modes, whose pitch drops at the stroke and then holds.

    The drop is a time warp ``glide(t) = drop * tau * (1 - exp(-t / tau))``: each mode starts
    ``1 + drop`` times higher and settles with time constant ``tau``. Once settled the warp is a
    constant, so each mode's tail is computed once per stroke and only re-phased per velocity.
    """

    def __init__(self, t: np.ndarray, freqs: np.ndarray, t60s: np.ndarray, phases: np.ndarray, tau: float):
        self.t, self.freqs, self.phases, self.tau = t, freqs, phases, tau
        self.settle = min(t.size, _samples(_SETTLE_TAUS * tau))
        self.envelopes: list[np.ndarray] = []  # each mode's decay over the gliding head
        self.tails: list[tuple[np.ndarray, np.ndarray] | None] = []  # settled sin and cos parts
        self.lengths: list[int] = []
        for f, t60, ph in zip(freqs, t60s, phases, strict=True):
            m = _mode_length(t.size, t60)
            self.lengths.append(m)
            self.envelopes.append(_decay(t[: min(m, self.settle)], t60))
            if m > self.settle:
                self.tails.append(
                    (
                        _damped_sine(m, f, t60, ph)[self.settle :],
                        _damped_sine(m, f, t60, ph + np.pi / 2)[self.settle :],
                    )
                )
            else:
                self.tails.append(None)

    def strike(self, amps: np.ndarray, drop: float) -> np.ndarray:
        t, s = self.t, self.settle
        warped = t[:s] + drop * self.tau * -np.expm1(-t[:s] / self.tau)
        settled = drop * self.tau
        out = np.zeros_like(t)
        modes = zip(self.freqs, amps, self.envelopes, self.phases, self.tails, self.lengths, strict=True)
        for f, a, env, ph, tail, m in modes:
            out[: env.size] += a * env * np.sin(2 * np.pi * f * warped[: env.size] + ph)
            if tail is not None:
                shift = 2 * np.pi * f * settled
                out[s:m] += a * (np.cos(shift) * tail[0] + np.sin(shift) * tail[1])
        return out


def _dense_modes(
    n: int, freqs: np.ndarray, amps: np.ndarray, t60s: np.ndarray, rng: np.random.Generator, groups: int = 4
) -> np.ndarray:
    """Hundreds of decaying partials: partials of similar T60 share one envelope, one inverse FFT each."""
    nfft = scipy.fft.next_fast_len(n, real=True)
    t = _time(n, np.float32)
    out = np.zeros(n, dtype=np.float32)
    edges = np.geomspace(t60s.min(), t60s.max() * 1.0001, groups + 1)
    bins = np.clip(np.round(freqs * nfft / SR).astype(int), 1, nfft // 2 - 1)
    phases = rng.uniform(0, 2 * np.pi, freqs.size)
    for lo, hi in itertools.pairwise(edges):
        sel = (t60s >= lo) & (t60s < hi)
        if not sel.any():
            continue
        spectrum = np.zeros(nfft // 2 + 1, dtype=np.complex64)
        np.add.at(spectrum, bins[sel], amps[sel] * np.exp(1j * phases[sel]))
        # irfft turns a bin of magnitude A into a sine of amplitude 2A/nfft.
        out += scipy.fft.irfft(spectrum, nfft)[:n] * (nfft / 2) * _decay(t, float(np.sqrt(lo * hi)))
    return out


def _trim(x: np.ndarray, floor_db: float = -60.0) -> np.ndarray:
    """Cut 10 ms after the last 10 ms block within ``floor_db`` of the peak; half-cosine fade-out.

    The first half millisecond rises from exactly 0, so the stroke is at sample 0 whatever the filters
    (zero-phase ones included) left there.
    """
    block = _samples(0.01)
    blocks = x.size // block
    if blocks > 1:
        peaks = np.abs(x[: blocks * block]).reshape(blocks, block).max(axis=1)
        loud = np.flatnonzero(peaks >= peaks.max() * 10 ** (floor_db / 20))
        x = x[: min(x.size, (int(loud[-1]) + 2) * block)]
    fade = min(x.size, int(np.clip(0.1 * x.size, _samples(0.005), _samples(0.3))))
    x = x.copy()
    x[x.size - fade :] *= 0.5 * (1 + np.cos(np.linspace(0, np.pi, fade)))
    rise = min(x.size, _samples(0.0005))
    x[:rise] *= 0.5 * (1 - np.cos(np.linspace(0, np.pi, rise)))
    return x


# ------------------------------------------------------------------------------------------ drums


def _kick(k: _Shared, rng: np.random.Generator) -> Voice:
    f_end = rng.uniform(42, 70)
    sweep = rng.uniform(0.8, 2.5)  # start pitch is f_end * (1 + sweep) at full velocity
    tau = rng.uniform(0.008, 0.035)
    t60 = rng.uniform(0.25, 0.9)  # pillow-stuffed ... open and boomy
    ratio2, amp2, t60_share2 = rng.uniform(1.45, 1.65), rng.uniform(0.05, 0.2), rng.uniform(0.08, 0.3)
    click_level = rng.uniform(0.3, 1.2)  # felt ... plastic beater
    click_t60 = rng.uniform(0.006, 0.03)
    click_band = rng.uniform(900, 2500), rng.uniform(5000, 11000)
    beater_hz = rng.uniform(1500, 4000)
    drive = rng.uniform(0.3, 2.0)

    def voice(rr: np.random.Generator, vs: np.ndarray) -> list[np.ndarray]:
        f = f_end * rr.uniform(0.99, 1.01)
        d = t60 * rr.uniform(0.95, 1.05)
        t = _time(_samples(min(d * 1.1, 1.2)))
        drum = _Membrane(t, np.array([f, f * ratio2]), np.array([d, d * t60_share2]), np.zeros(2), tau)
        click = _burst(rr, t.size, click_t60 * 4 / 3, click_band, click_t60)
        m = _samples(click_t60 * 4 / 3)
        click[:m] = _unit(click[:m] + 0.5 * np.sin(2 * np.pi * beater_hz * t[:m]) * _decay(t[:m], click_t60))
        click *= _onset(t, 0.0002)
        attack = _onset(t, 0.0006)
        out = []
        for v in vs:
            body = drum.strike(np.array([1.0, amp2]), sweep * (0.5 + 0.5 * v)) * attack
            x = body + click_level * v**1.5 * click
            g = drive * (0.3 + 0.7 * v)  # the harder the stroke, the more the head saturates
            x = np.tanh(g * x) / np.tanh(g)
            out.append(_darken(x, v, 14000, 2.5) * v**k.gamma)
        return out

    return voice


def _snare(k: _Shared, rng: np.random.Generator) -> Voice:
    ratios = np.array([1.0, rng.uniform(1.5, 1.65), rng.uniform(2.05, 2.3), rng.uniform(2.7, 3.1)])
    amps = np.array([1.0, rng.uniform(0.3, 0.7), rng.uniform(0.15, 0.4), rng.uniform(0.05, 0.25)])
    body_t60 = rng.uniform(0.12, 0.4)
    drop = rng.uniform(0.03, 0.1)
    wire_level = rng.uniform(0.5, 1.5)
    wire_t60 = rng.uniform(0.15, 0.45)
    wire_band = rng.uniform(700, 2200), rng.uniform(8000, 15000)
    stick_level = rng.uniform(0.15, 0.5)
    ring_ratio, ring_amp, ring_t60 = rng.uniform(3.2, 4.2), rng.uniform(0.0, 0.08), rng.uniform(0.4, 1.0)

    def voice(rr: np.random.Generator, vs: np.ndarray) -> list[np.ndarray]:
        f0 = k.snare_f0 * rr.uniform(0.99, 1.01)
        d = body_t60 * rr.uniform(0.95, 1.05)
        w = wire_t60 * rr.uniform(0.93, 1.07)
        t = _time(_samples(max(d, w, ring_t60 * 0.6) * 1.1))
        freqs = np.append(f0 * ratios, f0 * ring_ratio)
        t60s = np.append(d * ratios**-0.7, ring_t60)
        drum = _Membrane(t, freqs, t60s, rr.uniform(0, 2 * np.pi, freqs.size), 0.03)
        wires = _unit(_filter(rr.standard_normal(t.size), "bandpass", wire_band)) * _decay(t, w)
        wires *= _onset(t, 0.0025)  # the wires answer the head a moment later
        stick = _burst(rr, t.size, 0.01, (2500, 16000), 0.004)
        attack = _onset(t, 0.0004)
        out = []
        for v in vs:
            body = drum.strike(np.append(amps, ring_amp), drop * v) * attack
            x = body + wire_level * (0.5 + 0.5 * v) * wires + stick_level * v * stick
            out.append(_darken(x, v, 16000, 2.5) * v**k.gamma)
        return out

    return voice


def _cross_stick(k: _Shared, rng: np.random.Generator) -> Voice:
    wood = np.array([rng.uniform(350, 700), rng.uniform(1100, 1900), rng.uniform(2300, 3800)])
    amps = np.array([1.0, rng.uniform(0.4, 0.9), rng.uniform(0.2, 0.6)])
    t60s = np.array([rng.uniform(0.04, 0.1), rng.uniform(0.025, 0.06), rng.uniform(0.015, 0.04)])
    shell = rng.uniform(0.15, 0.45), rng.uniform(0.08, 0.2)  # the snare drum's ring: level, T60
    click_level = rng.uniform(0.3, 0.8)
    return _stick_on_rim(k, wood, amps, t60s, shell, None, click_level, (1000, 7000), 12000.0, 0.3)


def _stick_on_rim(
    k: _Shared,
    wood: np.ndarray,
    amps: np.ndarray,
    t60s: np.ndarray,
    shell: tuple[float, float],
    rim: tuple[float, float, float] | None,
    click_level: float,
    click_band: tuple[float, float],
    top: float,
    seconds: float,
) -> Voice:
    """A cross-stick's voice: three wood modes of the stick (``amps``, ``t60s``), the snare drum's
    ring (``shell``: level, T60), a ringing rim (``rim``: level, Hz, T60; None for none) and the
    click. The lowest wood mode and the drum's ring sound at every velocity; the upper wood modes and
    the rim grow with the stroke."""
    extra_freqs = [k.snare_f0] + ([rim[1]] if rim else [])
    extra_levels = [shell[0]] + ([rim[0]] if rim else [])
    extra_t60s = [shell[1]] + ([rim[2]] if rim else [])
    low_modes = [0, 3]
    high_modes = [1, 2] + ([4] if rim else [])

    def voice(rr: np.random.Generator, vs: np.ndarray) -> list[np.ndarray]:
        t = _time(_samples(seconds))
        freqs = np.append(wood * rr.uniform(0.98, 1.02, wood.size), extra_freqs)
        decays = np.append(t60s, extra_t60s)
        levels = np.append(amps, extra_levels)
        phases = rr.uniform(0, 2 * np.pi, freqs.size)
        low = _modes(t.size, freqs[low_modes], levels[low_modes], decays[low_modes], phases[low_modes])
        high = _modes(t.size, freqs[high_modes], levels[high_modes], decays[high_modes], phases[high_modes])
        scale = 1 / max(float(np.abs(low + high).max()), 1e-12)
        attack = _onset(t, 0.0002) * scale
        click = _burst(rr, t.size, 0.012, click_band, 0.004)
        out = []
        for v in vs:
            x = (low + (0.3 + 0.7 * v) * high) * attack + click_level * v * click
            out.append(_darken(x, v, top, 2.5) * v**k.gamma)
        return out

    return voice


def _tom(name: str, t60_range: tuple[float, float]) -> Callable[[_Shared, np.random.Generator], Voice]:
    def make(k: _Shared, rng: np.random.Generator) -> Voice:
        ratios = MEMBRANE_RATIOS * np.append(1.0, rng.uniform(0.97, 1.03, MEMBRANE_RATIOS.size - 1))
        amps = np.array([1.0, *rng.uniform([0.3, 0.2, 0.1, 0.05, 0.05], [0.7, 0.5, 0.4, 0.3, 0.2])])
        t60 = rng.uniform(*t60_range) * k.tom_damping
        drop, tau = rng.uniform(0.04, 0.12), rng.uniform(0.04, 0.12)
        click_level = rng.uniform(0.15, 0.45)
        click_band = rng.uniform(700, 1500), rng.uniform(4000, 8000)
        overtones = np.arange(amps.size) > 0

        def voice(rr: np.random.Generator, vs: np.ndarray) -> list[np.ndarray]:
            f0 = k.tom_f0[name] * rr.uniform(0.995, 1.005)
            d = t60 * rr.uniform(0.95, 1.05)
            t = _time(_samples(min(d * 1.05, 3.0)))
            drum = _Membrane(t, f0 * ratios, d * ratios**-1.5, rr.uniform(0, 2 * np.pi, ratios.size), tau)
            click = _burst(rr, t.size, 0.02, click_band, 0.008)
            attack = _onset(t, 0.0005)
            out = []
            for v in vs:
                # Harder strokes excite the higher modes more, and bend the pitch further.
                body = drum.strike(amps * np.where(overtones, 0.4 + 0.6 * v, 1.0), drop * v) * attack
                x = body + click_level * v**1.5 * click
                out.append(_darken(x, v, 12000, 2.5) * v**k.gamma)
            return out

        return voice

    return make


# --------------------------------------------------------------------------------------- cymbals


def _hat_metal(k: _Shared, rr: np.random.Generator, n: int, highpass: float) -> np.ndarray:
    """The kit's hi-hat cymbals: detuned square partials and noise, high-passed (unit peak)."""
    t = _time(n)
    freqs = k.hat_metal_hz * rr.uniform(0.995, 1.005, k.hat_metal_hz.size)
    cycles = freqs[:, None] * t[None, :] + rr.uniform(0, 1, (freqs.size, 1))
    squares = np.where(cycles % 1.0 < 0.5, 1.0, -1.0).sum(axis=0)
    metal = _unit(_filter(squares, "highpass", highpass, order=4))
    noise = _unit(_filter(rr.standard_normal(n), "highpass", highpass * 0.8))
    return _filter((1 - k.hat_noise) * metal + k.hat_noise * noise, "lowpass", k.hat_lowpass)


def _hat_layers(
    k: _Shared, x: np.ndarray, vs: np.ndarray, crossover: float = HAT_CROSSOVER_HZ
) -> list[np.ndarray]:
    low, high = _split(x, crossover)
    return [_shelved(low, high, v, CYMBAL_BRIGHTNESS_POWER) * v**k.gamma for v in vs]


def _hihat_closed(k: _Shared, rng: np.random.Generator) -> Voice:
    t60 = rng.uniform(0.07, 0.25)

    def voice(rr: np.random.Generator, vs: np.ndarray) -> list[np.ndarray]:
        d = t60 * rr.uniform(0.93, 1.07)
        t = _time(_samples(d * 1.3))
        return _hat_layers(
            k, _hat_metal(k, rr, t.size, k.hat_highpass) * _decay(t, d) * _onset(t, 0.0003), vs
        )

    return voice


def _hihat_open(k: _Shared, rng: np.random.Generator) -> Voice:
    t60 = rng.uniform(0.45, 1.2)
    sizzle = rng.uniform(0.3, 1.0)  # the stroke's first 50 ms above the ring

    def voice(rr: np.random.Generator, vs: np.ndarray) -> list[np.ndarray]:
        d = t60 * rr.uniform(0.93, 1.07)
        t = _time(_samples(d * 1.1))
        env = (_decay(t, d) + sizzle * _decay(t, 0.05)) / (1 + sizzle) * _onset(t, 0.001)
        return _hat_layers(k, _hat_metal(k, rr, t.size, k.hat_highpass * 0.7) * env, vs)

    return voice


def _hihat_pedal(k: _Shared, rng: np.random.Generator) -> Voice:
    t60 = rng.uniform(0.03, 0.07)
    lag_s, second = rng.uniform(0.002, 0.006), rng.uniform(0.3, 0.8)  # the cymbals meet twice
    chick_level, chick_band = rng.uniform(0.3, 0.8), (rng.uniform(700, 1200), rng.uniform(2500, 4000))
    top = rng.uniform(8000, 12000)

    def voice(rr: np.random.Generator, vs: np.ndarray) -> list[np.ndarray]:
        d = t60 * rr.uniform(0.93, 1.07)
        t = _time(_samples(d * 1.4 + lag_s))
        env = _decay(t, d) * _onset(t, 0.0005)
        lag = _samples(lag_s)
        env[lag:] += second * env[: t.size - lag]
        chick = _unit(_filter(rr.standard_normal(t.size), "bandpass", chick_band))
        x = (_hat_metal(k, rr, t.size, k.hat_highpass * 0.8) + chick_level * chick) * env
        return _hat_layers(k, _filter(x, "lowpass", top), vs, PEDAL_CROSSOVER_HZ)

    return voice


def _hihat_closed_varied(k: _Shared, rng: np.random.Generator) -> Voice:
    """A closed hi-hat from the whole range real ones span (``synth_kit(varied_timbres=True)``).

    Tight or loose (T60 35-250 ms), bright or dark (a top of 6-16 kHz), struck with the tip on the
    top cymbal (a wooden tick) or with the shoulder on its edge (a chunky band of 0.6-3 kHz). The
    closed stroke has no second meeting of the cymbals: that is the foot's (``_hihat_pedal``).
    """
    t60 = rng.uniform(0.035, 0.25)
    top = rng.uniform(6000.0, 16000.0)
    highpass = k.hat_highpass * rng.uniform(0.5, 1.0)
    tick_level, tick_band = rng.uniform(0.0, 0.6), (rng.uniform(1500, 3000), rng.uniform(4000, 8000))
    chunk_level, chunk_band = rng.uniform(0.0, 0.7), (rng.uniform(600, 1000), rng.uniform(2000, 3000))

    def voice(rr: np.random.Generator, vs: np.ndarray) -> list[np.ndarray]:
        d = t60 * rr.uniform(0.93, 1.07)
        t = _time(_samples(d * 1.3))
        env = _decay(t, d) * _onset(t, 0.0003)
        chunk = _unit(_filter(rr.standard_normal(t.size), "bandpass", chunk_band))
        tick = _burst(rr, t.size, 0.006, tick_band, 0.003)
        x = (_hat_metal(k, rr, t.size, highpass) + chunk_level * chunk) * env + tick_level * tick
        return _hat_layers(k, _filter(x, "lowpass", top), vs)

    return voice


def _cross_stick_varied(k: _Shared, rng: np.random.Generator) -> Voice:
    """A cross-stick from a wider range than ``_cross_stick``: the stick's wood anywhere from 250 to
    900 Hz, from a dry click to one with a ringing rim and drum (``synth_kit(varied_timbres=True)``)."""
    base = rng.uniform(250, 900)
    wood = base * np.array([1.0, rng.uniform(2.2, 3.5), rng.uniform(4.5, 7.0)])
    amps = np.array([1.0, rng.uniform(0.2, 0.9), rng.uniform(0.1, 0.6)])
    t60s = np.array([rng.uniform(0.03, 0.15), rng.uniform(0.02, 0.08), rng.uniform(0.01, 0.05)])
    shell = rng.uniform(0.05, 0.7), rng.uniform(0.06, 0.3)
    rim = rng.uniform(0.0, 0.5), rng.uniform(1500, 4000), rng.uniform(0.03, 0.15)
    click_level = rng.uniform(0.1, 1.0)
    top = rng.uniform(7000, 14000)
    return _stick_on_rim(k, wood, amps, t60s, shell, rim, click_level, (800, 7000), top, 0.35)


def _cymbal_partials(
    rng: np.random.Generator, count: int, centre: float, spread: float, t60: float, slope: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inharmonic partials, log-normally spread around ``centre`` Hz; higher ones die sooner."""
    freqs = np.clip(np.exp(rng.normal(np.log(centre), spread, count)), 200.0, 18000.0)
    amps = rng.lognormal(0.0, 0.6, count)
    t60s = np.clip(t60 * (freqs / 500.0) ** -slope, 0.15, t60)
    return freqs, amps, t60s


def _cymbal_layers(
    k: _Shared,
    body: tuple[np.ndarray, np.ndarray],
    stroke: tuple[np.ndarray, np.ndarray],
    stroke_level: Callable[[float], float],
    vs: np.ndarray,
) -> list[np.ndarray]:
    """Each velocity: the (low, high) body plus the short (low, high) stick stroke, darker when soft."""
    out = []
    for v in vs:
        x = _shelved(*body, v, CYMBAL_BRIGHTNESS_POWER)
        x[: stroke[0].size] += stroke_level(v) * _shelved(*stroke, v, CYMBAL_BRIGHTNESS_POWER)
        out.append(x * v**k.gamma)
    return out


def _ride(k: _Shared, rng: np.random.Generator) -> Voice:
    t60 = rng.uniform(2.8, 6.2)
    count = int(rng.integers(200, 600))
    centre, spread, slope = rng.uniform(2000, 4500), rng.uniform(0.6, 1.0), rng.uniform(0.1, 0.3)
    partials = _cymbal_partials(rng, count, centre, spread, t60, slope)
    ping_hz = np.sort(rng.uniform(2500, 6000, 2))
    ping_level, ping_t60 = rng.uniform(0.3, 0.8), rng.uniform(0.15, 0.4)
    wash_level, wash_hz = rng.uniform(0.15, 0.5), rng.uniform(3000, 5000)
    strike, strike_tau = rng.uniform(0.5, 1.5), rng.uniform(0.015, 0.04)  # the stroke above the ring

    def voice(rr: np.random.Generator, vs: np.ndarray) -> list[np.ndarray]:
        d = t60 * rr.uniform(0.95, 1.05)
        t = _time(_samples(d * 1.1), np.float32)
        freqs, amps, t60s = partials
        bank = _unit(_dense_modes(t.size, freqs, amps * rr.uniform(0.8, 1.2, amps.size), t60s * d / t60, rr))
        wash = _unit(_filter(rr.standard_normal(t.size, np.float32), "highpass", wash_hz))
        wash *= _decay(t, d * 0.5)
        env = (1 + strike * np.exp(-t / strike_tau)) * _onset(t, 0.0003)
        body = _split((bank + wash_level * wash) * env, CYMBAL_CROSSOVER_HZ)
        ts = t[: _samples(ping_t60 * 4 / 3)]
        pings = _modes(
            ts.size, ping_hz, np.array([1.0, 0.7]), np.full(2, ping_t60), rr.uniform(0, 2 * np.pi, 2)
        )
        tone = _unit(pings).astype(np.float32)
        stick = _burst(rr, ts.size, 0.06, (2000, 8000), 0.03)
        stroke = _split((tone + 0.7 * stick) * _onset(ts, 0.0003), CYMBAL_CROSSOVER_HZ)
        return _cymbal_layers(k, body, stroke, lambda v: ping_level * (0.6 + 0.4 * v), vs)

    return voice


def _ride_bell(k: _Shared, rng: np.random.Generator) -> Voice:
    count = int(rng.integers(5, 8))
    base = rng.uniform(700, 1400)
    bands = ((1.45, 1.7), (2.1, 2.5), (2.8, 3.3), (3.8, 4.6), (5.0, 6.0), (6.5, 9.0))
    ratios = np.array([1.0, *(rng.uniform(a, b) for a, b in bands)])[:count]
    amps = np.append(1.0, rng.uniform(0.3, 1.0, count - 1))
    t60 = rng.uniform(2.2, 5.0)
    wash_level, wash_t60 = rng.uniform(0.15, 0.4), rng.uniform(1.0, 2.5)  # the bow rings along

    def voice(rr: np.random.Generator, vs: np.ndarray) -> list[np.ndarray]:
        d = t60 * rr.uniform(0.95, 1.05)
        t = _time(_samples(d * 1.05))
        freqs = base * ratios * rr.uniform(0.998, 1.002, count)

        levels = amps * rr.uniform(0.85, 1.15, count)
        bell = _unit(_modes(t.size, freqs, levels, d * ratios**-0.5, rr.uniform(0, 2 * np.pi, count)))
        wash = _unit(_filter(rr.standard_normal(t.size), "bandpass", (3000, 14000))) * _decay(t, wash_t60)
        # A soft stroke on the bell excites its upper partials less: the crossover sits above the lowest two.
        crossover = base * 2.0
        body = _split((bell + wash_level * wash) * _onset(t, 0.0003), crossover)
        stick = _burst(rr, _samples(0.03), 0.03, (1500, 8000), 0.01)
        return _cymbal_layers(k, body, _split(stick, crossover), lambda v: 0.5 * v, vs)

    return voice


def _crash(k: _Shared, rng: np.random.Generator) -> Voice:
    t60 = rng.uniform(2.3, 5.0)
    count = int(rng.integers(600, 1500))
    centre, spread, slope = rng.uniform(2500, 6000), rng.uniform(0.8, 1.2), rng.uniform(0.05, 0.25)
    partials = _cymbal_partials(rng, count, centre, spread, t60, slope)
    noise_level, noise_hz = rng.uniform(0.5, 1.2), rng.uniform(1500, 3000)
    burst, burst_tau = rng.uniform(0.5, 2.0), rng.uniform(0.03, 0.08)  # the first splash above the ring
    attack = rng.uniform(0.0005, 0.002)

    def voice(rr: np.random.Generator, vs: np.ndarray) -> list[np.ndarray]:
        d = t60 * rr.uniform(0.95, 1.05)
        t = _time(_samples(d * 1.1), np.float32)
        freqs, amps, t60s = partials
        bank = _unit(_dense_modes(t.size, freqs, amps * rr.uniform(0.8, 1.2, amps.size), t60s * d / t60, rr))
        hiss = _unit(_filter(rr.standard_normal(t.size, np.float32), "highpass", noise_hz))
        hiss *= _decay(t, d * 0.6)
        env = (1 + burst * np.exp(-t / burst_tau)) * _onset(t, attack)
        body = _split((bank + noise_level * hiss) * env, CYMBAL_CROSSOVER_HZ)
        nothing = (np.zeros(0, np.float32), np.zeros(0, np.float32))
        return _cymbal_layers(k, body, nothing, lambda v: 0.0, vs)

    return voice


# ---------------------------------------------------------------------------------------------- kit

_VOICES: dict[str, Callable[[_Shared, np.random.Generator], Voice]] = {
    "kick": _kick,
    "snare": _snare,
    "cross_stick": _cross_stick,
    "hihat_closed": _hihat_closed,
    "hihat_open": _hihat_open,
    "hihat_pedal": _hihat_pedal,
    "ride": _ride,
    "ride_bell": _ride_bell,
    "crash": _crash,
    "tom_high": _tom("tom_high", (0.8, 2.2)),
    "tom_mid": _tom("tom_mid", (1.0, 2.6)),
    "tom_floor": _tom("tom_floor", (1.2, 3.0)),
}


def _tom_tuning(rng: np.random.Generator) -> dict[str, float]:
    """Floor, mid, high in their ranges, each at least TOM_MIN_RATIO above the one below."""
    floor = rng.uniform(*TOM_RANGES["tom_floor"])
    lo, hi = TOM_RANGES["tom_mid"]
    mid = rng.uniform(max(lo, floor * TOM_MIN_RATIO), hi)
    lo, hi = TOM_RANGES["tom_high"]
    high = rng.uniform(max(lo, mid * TOM_MIN_RATIO), hi)
    return {"tom_floor": floor, "tom_mid": mid, "tom_high": high}


def _shared(rng: np.random.Generator) -> _Shared:
    return _Shared(
        gamma=rng.uniform(1.6, 2.2),
        snare_f0=rng.uniform(160, 280),
        tom_f0=_tom_tuning(rng),
        tom_damping=rng.uniform(0.5, 1.0),
        hat_metal_hz=TR808_METAL_HZ * rng.uniform(0.75, 1.5) * rng.uniform(0.95, 1.05, TR808_METAL_HZ.size),
        hat_highpass=rng.uniform(3000, 6500),
        hat_lowpass=rng.uniform(11000, 18000),
        hat_noise=rng.uniform(0.3, 0.9),
    )


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


# ``synth_kit(varied_timbres=True)``: these classes from the whole range real ones span.
_VARIED_VOICES: dict[str, Callable[[_Shared, np.random.Generator], Voice]] = {
    "hihat_closed": _hihat_closed_varied,
    "cross_stick": _cross_stick_varied,
}


def synth_kit(seed: int, varied_timbres: bool = False) -> Kit:
    """A synthesised kit for every class in CLASSES: LAYER_VELOCITIES x ROUND_ROBINS one-shots each.

    Shots are added layer by layer (softest first), round-robins next to each other. Deterministic:
    the same ``seed`` (a non-negative int) gives bit-identical audio. ``varied_timbres`` plays the
    closed hi-hat and the cross-stick from a wider range of sounds (``_VARIED_VOICES``); every other
    class is the same as the seed's plain kit.
    """
    if seed < 0:
        raise ValueError(f"synth_kit seed must be >= 0, got {seed}")
    shared = _shared(np.random.default_rng([seed, 0]))
    vs = np.array(LAYER_VELOCITIES, dtype=float) / 127.0
    voices = _VOICES | (_VARIED_VOICES if varied_timbres else {})
    shots: dict[str, list[list[np.ndarray]]] = {}  # shots[cls][round_robin][layer]
    for idx, cls in enumerate(CLASSES):
        voice = voices[cls](shared, np.random.default_rng([seed, 1, idx]))
        shots[cls] = []
        for rr in range(ROUND_ROBINS):
            rr_rng = np.random.default_rng([seed, 2, idx, rr])
            layers = voice(rr_rng, vs)
            jitter = 10 ** (rr_rng.normal(0.0, 0.25) / 20)  # round-robins differ by ~0.25 dB
            shots[cls].append([_trim(x) * jitter for x in layers])

    # Balance the classes like a real kit (loudest layer's first 50 ms), then set the kit's peak.
    level_rng = np.random.default_rng([seed, 3])
    window = _samples(BALANCE_WINDOW_S)
    gains: dict[str, float] = {}
    for cls in CLASSES:
        loudest = float(np.mean([_rms(layers[-1][:window]) for layers in shots[cls]]))
        level_db = CLASS_LEVEL_DB[cls] + level_rng.uniform(-KIT_LEVEL_SPREAD_DB, KIT_LEVEL_SPREAD_DB)
        gains[cls] = 10 ** (level_db / 20) / max(loudest, 1e-12)
    peak = max(
        gains[cls] * float(np.abs(x).max()) for cls in CLASSES for layers in shots[cls] for x in layers
    )
    scale = 10 ** (PEAK_DBFS / 20) / peak

    kit = Kit(name=f"synth-{seed}" + ("-varied" if varied_timbres else ""), licence=LICENCE)
    for cls in CLASSES:
        for layer, velocity in enumerate(LAYER_VELOCITIES):
            for layers in shots[cls]:
                kit.add(cls, layers[layer] * (gains[cls] * scale), velocity)
    return kit
