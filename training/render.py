"""Strokes + kits -> mono drum audio, with the hi-hat choked the way a real one is."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .arrange import Performance
from .kit import SAMPLE_RATE, Kit

# A closed or pedal stroke stops an open hi-hat's ring over this many seconds.
CHOKE_FADE_S = 0.02
HIHAT_CLOSERS = ("hihat_closed", "hihat_pedal")


def render(
    perf: Performance,
    kits: Mapping[str, Kit],
    rng: np.random.Generator,
    class_gain_db: Mapping[str, float] | None = None,
    tail_s: float = 1.0,
) -> np.ndarray:
    """Mono float32 audio of ``perf``; ``kits[cls]`` is the kit each class is played on."""
    n = int((perf.duration + tail_s) * SAMPLE_RATE)
    out = np.zeros(n, dtype=np.float32)
    closers = np.array([s.time for s in perf.strokes if s.cls in HIHAT_CLOSERS])
    fade = int(CHOKE_FADE_S * SAMPLE_RATE)
    for stroke in perf.strokes:
        kit = kits[stroke.cls]
        audio, gain = kit.pick(stroke.cls, stroke.velocity, rng)
        gain *= 10 ** ((class_gain_db or {}).get(stroke.cls, 0.0) / 20)
        start = round(stroke.time * SAMPLE_RATE)
        if start >= n:
            continue
        shot = audio[: n - start] * gain
        if stroke.cls == "hihat_open" and len(closers):
            later = closers[closers > stroke.time + 0.01]
            if len(later):
                stop = int((later[0] - stroke.time) * SAMPLE_RATE)
                if stop < len(shot):
                    shot = shot[: stop + fade].copy()
                    shot[stop:] *= np.linspace(1.0, 0.0, len(shot) - stop, dtype=np.float32)
        out[start : start + len(shot)] += shot
    return out
