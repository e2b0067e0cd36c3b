"""Frame activations -> hits: per-class peak picking, as ADTOF does it.

A frame is a hit of a class when its activation is the largest within PEAK_WINDOW frames around it,
reaches the class's threshold, and comes at least MIN_GAP_FRAMES after the previous hit of that
class. The time is refined by a parabola through the peak and its neighbours (sub-frame).

One drum is struck one way at a time: where two articulations of the same drum (snare and
cross-stick; closed, open and pedal hi-hat; ride and its bell) peak within SAME_DRUM_FRAMES of each
other, only the one further above its own threshold is kept, so the sheet never writes both. The
pedal joined the hi-hat group after closed strokes were found heard as closed + pedal: on MDB Drums
that took hi-hat F from 0.814 to 0.839 (drum only) and 0.757 to 0.826 (raw-sum mixes), with the
held-out kits unchanged (README "Hit model").

A pedal hi-hat in the middle of the hand's closed hi-hat stream is a closed stroke (``IN_STREAM``):
where the closed hi-hats nearest before and after a pedal peak are evenly spaced around it (within
STREAM_EVEN_TOLERANCE, each at most STREAM_MAX_GAP_SECONDS away), the peak sits on the hand's next
stroke and is written as a closed hi-hat. HitNet hears some kits' closed strokes as the foot
(recorded kits above all); a drummer's foot rarely plays exactly between two hand strokes of a
steady stream, and where it plays with one, only one of the two is written anyway.

One hand keeps time on one cymbal at a time (``YIELDS``): a ride peak within SAME_DRUM_FRAMES of a
closed hi-hat peak is dropped. In the whole Groove MIDI Dataset 43 of 46 104 ride strokes sound with
a closed hi-hat; where HitNet hears both at once it is the hi-hat's short, bright stroke also heard
as a ride (the notation benchmark's dev set: 96 such pairs, the ride played in 1 of them, the hi-hat
in 93), hardly ever a ride heard as a hi-hat too.

A stick on a cymbal clicks like a cross-stick (``FAINT_YIELDS``): a cross-stick peak below
FAINT_ACTIVATION sounding with a closed or open hi-hat or ride peak at least 1 / FAINT_RATIO times as
sure is that click and is dropped; a sure cross-stick with the hi-hat (a bossa nova's 2 and 4) stays.
Read on the notation benchmark's fit and dev sets (synthesised and FluidR3 kits: 1 true cross-stick
of 869 and 19 false of 57 are such peaks); on the recorded avldrums kits of the test and check sets,
which have hardly any cross-stick, 134 of HitNet's 171 false ones sound with a cymbal. Measured: MDB
Drums snare F 0.830 -> 0.859 drum only, 0.863 -> 0.882 full mix (its side-sticks are not scored, so
a cross-stick counts as a snare); MuldjordKit cross-stick F 0.799 -> 0.811, held-out kits 0.812 ->
0.817 (README "Hit model").

A kick's boom can peak again (``ECHOES``): a kick peak within ECHO_SECONDS after one at least
ECHO_RATIO times as sure is that stroke's echo and is dropped. On the notation benchmark's sets it
drops 38 kicks, every one false (32 on the dev set, 24 of them one FluidR3 preset's double-attack kick;
6 on the check set; none on the test set or MDB), and no true kick; a drummer's ghost kick after the
beat (80 ms and more in GMD) stays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from .spectrogram import FRAME_RATE

# Frames before / after a peak it must dominate (20 ms before, 10 ms after at 100 frames/s).
PEAK_WINDOW = (2, 1)
# Two hits of one class closer than this are one (a flam is two different frames apart at most).
MIN_GAP_FRAMES = 3
# Articulations of one drum that cannot sound together, and how close (frames) counts as together.
SAME_DRUM: tuple[tuple[str, ...], ...] = (
    ("snare", "cross_stick"),
    ("hihat_closed", "hihat_open", "hihat_pedal"),
    ("ride", "ride_bell"),
)
SAME_DRUM_FRAMES = 3
# (class, stream class): a peak of the first inside an even stream of the second becomes the second.
IN_STREAM: tuple[tuple[str, str], ...] = (("hihat_pedal", "hihat_closed"),)
# The longest gap of a stream (8ths at 50 bpm) and how unevenly its two gaps may differ (share of
# the longer one).
STREAM_MAX_GAP_SECONDS = 0.6
STREAM_EVEN_TOLERANCE = 0.25
# (class, stronger class): a peak of the first sounding with a peak of the second is dropped.
YIELDS: tuple[tuple[str, str], ...] = (("ride", "hihat_closed"),)
# (class, stronger class): a faint peak of the first (below FAINT_ACTIVATION, and at most FAINT_RATIO
# of the second's activation) sounding with a peak of the second is dropped.
FAINT_YIELDS: tuple[tuple[str, str], ...] = (
    ("cross_stick", "hihat_closed"),
    ("cross_stick", "hihat_open"),
    ("cross_stick", "ride"),
)
FAINT_ACTIVATION = 0.25
FAINT_RATIO = 0.5
# Classes whose peak this soon after a peak of theirs this many times as sure is its echo.
ECHOES: tuple[str, ...] = ("kick",)
ECHO_SECONDS = 0.07
ECHO_RATIO = 1.5


def same_drum_groups(classes: Sequence[str]) -> list[tuple[int, ...]]:
    """SAME_DRUM as class indices of ``classes`` (groups with fewer than two known classes dropped)."""
    index = {name: i for i, name in enumerate(classes)}
    groups = [tuple(index[n] for n in group if n in index) for group in SAME_DRUM]
    return [g for g in groups if len(g) > 1]


def _pairs(classes: Sequence[str], pairs: Sequence[tuple[str, str]]) -> tuple[tuple[int, int], ...]:
    index = {name: i for i, name in enumerate(classes)}
    return tuple((index[a], index[b]) for a, b in pairs if a in index and b in index)


@dataclass(frozen=True)
class PeakRules:
    """How the classes' peaks bear on each other, as class indices of one class list
    (``peak_rules``): one stroke per drum (``same_drum``), pedal strokes inside the hand's stream
    (``streams``), classes that give way to another sounding with them (``yields``), or only when
    they are faint beside it (``faint_yields``), and classes whose echoes are dropped (``echoes``)."""

    same_drum: tuple[tuple[int, ...], ...] = ()
    streams: tuple[tuple[int, int], ...] = ()
    yields: tuple[tuple[int, int], ...] = ()
    echoes: tuple[int, ...] = ()
    faint_yields: tuple[tuple[int, int], ...] = ()


def peak_rules(classes: Sequence[str]) -> PeakRules:
    """SAME_DRUM, IN_STREAM, YIELDS, ECHOES and FAINT_YIELDS for ``classes`` (rules naming a class it
    lacks left out)."""
    index = {name: i for i, name in enumerate(classes)}
    return PeakRules(
        tuple(same_drum_groups(classes)),
        _pairs(classes, IN_STREAM),
        _pairs(classes, YIELDS),
        tuple(index[name] for name in ECHOES if name in index),
        _pairs(classes, FAINT_YIELDS),
    )


@dataclass(frozen=True)
class Peak:
    time: float
    cls: int
    activation: float
    velocity: float


def pick_peaks(
    activations: np.ndarray,
    velocities: np.ndarray,
    thresholds: Sequence[float],
    rules: PeakRules = PeakRules(),
) -> list[Peak]:
    """``activations`` and ``velocities`` (frames, classes) in 0..1 -> peaks sorted by time.

    ``rules`` (``peak_rules``) are applied in turn: echoes dropped, one stroke per drum, the pedal
    strokes inside the hand's stream, the classes that yield, the faint peaks that yield; the default
    keeps every class independent.
    """
    act = np.asarray(activations, dtype=np.float32)
    n, k = act.shape
    before, after = PEAK_WINDOW
    padded = np.pad(act, ((before, after), (0, 0)), constant_values=-1.0)
    windows = np.lib.stride_tricks.sliding_window_view(padded, before + after + 1, axis=0)
    is_max = act >= windows.max(axis=-1)
    out: list[Peak] = []
    for c in range(k):
        frames = np.flatnonzero(is_max[:, c] & (act[:, c] >= thresholds[c]))
        last = -MIN_GAP_FRAMES
        for f in frames:
            if f - last < MIN_GAP_FRAMES:
                continue
            last = f
            offset = 0.0
            if 0 < f < n - 1:
                y0, y1, y2 = act[f - 1, c], act[f, c], act[f + 1, c]
                denom = y0 - 2 * y1 + y2
                if denom < 0:
                    offset = float(np.clip(0.5 * (y0 - y2) / denom, -0.5, 0.5))
            out.append(Peak((f + offset) / FRAME_RATE, c, float(act[f, c]), float(velocities[f, c])))
    out.sort(key=lambda p: (p.time, p.cls))
    for cls in rules.echoes:
        out = _drop_echoes(out, cls)
    if rules.same_drum:
        out = _one_stroke_per_drum(out, thresholds, rules.same_drum)
    for cls, stream in rules.streams:
        out = _join_stream(out, cls, stream)
    for cls, stronger in rules.yields:
        out = _give_way(out, cls, stronger)
    for cls, stronger in rules.faint_yields:
        out = _give_way(out, cls, stronger, faint_only=True)
    return out


def _drop_echoes(peaks: list[Peak], cls: int) -> list[Peak]:
    """``peaks`` without the ``cls`` peaks that come within ECHO_SECONDS after a ``cls`` peak at
    least ECHO_RATIO times as sure (an echo is measured against the stroke it echoes, not against
    another echo)."""
    kept: list[Peak] = []
    stroke: Peak | None = None
    for p in peaks:
        if p.cls == cls:
            if (
                stroke is not None
                and p.time - stroke.time < ECHO_SECONDS
                and stroke.activation >= ECHO_RATIO * p.activation
            ):
                continue
            stroke = p
        kept.append(p)
    return kept


def _give_way(peaks: list[Peak], cls: int, stronger: int, faint_only: bool = False) -> list[Peak]:
    """``peaks`` without the ``cls`` peaks that sound with a ``stronger`` peak (``faint_only``: only
    those below FAINT_ACTIVATION and at most FAINT_RATIO of the surest ``stronger`` peak with them)."""
    others = [p for p in peaks if p.cls == stronger]
    times = np.array([p.time for p in others])
    if not len(times):
        return peaks
    together = SAME_DRUM_FRAMES / FRAME_RATE

    def yields(p: Peak) -> bool:
        first = int(np.searchsorted(times, p.time - together, side="right"))
        last = int(np.searchsorted(times, p.time + together, side="left"))
        if last <= first:
            return False
        if not faint_only:
            return True
        surest = max(q.activation for q in others[first:last])
        return p.activation < FAINT_ACTIVATION and p.activation <= FAINT_RATIO * surest

    return [p for p in peaks if p.cls != cls or not yields(p)]


def _join_stream(peaks: list[Peak], cls: int, stream: int) -> list[Peak]:
    """Peaks of ``cls`` evenly between two peaks of ``stream`` become ``stream`` peaks."""
    times = np.array([p.time for p in peaks if p.cls == stream])
    if len(times) < 2:
        return peaks
    together = SAME_DRUM_FRAMES / FRAME_RATE

    def inside(t: float) -> bool:
        k = int(np.searchsorted(times, t - together))  # first stream peak not before t
        j = int(np.searchsorted(times, t + together, side="right"))  # first one after t
        if k == 0 or j >= len(times) or j != k:
            return False  # at an end of the stream, or a stream peak sounds with it
        before, after = t - times[k - 1], times[j] - t
        longer = max(before, after)
        return longer <= STREAM_MAX_GAP_SECONDS and abs(before - after) <= STREAM_EVEN_TOLERANCE * longer

    return [replace(p, cls=stream) if p.cls == cls and inside(p.time) else p for p in peaks]


def _one_stroke_per_drum(
    peaks: list[Peak], thresholds: Sequence[float], same_drum: Sequence[Sequence[int]]
) -> list[Peak]:
    group_of = {c: g for g, members in enumerate(same_drum) for c in members}
    window = SAME_DRUM_FRAMES / FRAME_RATE
    dropped: set[int] = set()
    for i, p in enumerate(peaks):
        if i in dropped or p.cls not in group_of:
            continue
        for j in range(i + 1, len(peaks)):
            q = peaks[j]
            if q.time - p.time >= window:
                break
            if j in dropped or q.cls == p.cls or group_of.get(q.cls) != group_of[p.cls]:
                continue
            # Compare how far each is above its own threshold: classes have different scales.
            if q.activation / max(thresholds[q.cls], 1e-6) > p.activation / max(thresholds[p.cls], 1e-6):
                dropped.add(i)
                break
            dropped.add(j)
    return [p for i, p in enumerate(peaks) if i not in dropped]
