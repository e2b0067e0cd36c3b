"""The analysis the tempo, meter and downbeat readers share: onset envelopes and the classified hits.

Computed once per song by ``analyse``: the audio's spectral-flux onset envelope (the flux of the
drum-track spectrogram HitNet already computed, ``hitnet.spectrogram``, passed in rather than
computed again), and each hit as a ``Stroke`` with its rhythmic role
(kick, snare, time-keeping cymbal, pedal hi-hat, crash, tom) and a weight (how likely the finder's
label is right, from its confidence, times the stroke's loudness when it is known).
``tracking_envelope`` joins the two: the audio says where the sound is, the hits say which sounds
are drums and how sure the finder is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from groovesheet_worker.hitnet.spectrogram import (
    FRAME_RATE,
    HOP,
    SAMPLE_RATE,
    drum_track_spectrogram,
    spectral_flux,
)
from groovesheet_worker.pipeline import rhythm_constants as C
from groovesheet_worker.pipeline.audio import to_sample_rate
from groovesheet_worker.pipeline.types import Hit

KICK, SNARE, TIME, PEDAL, CRASH, TOM = "kick", "snare", "time", "pedal", "crash", "tom"

# What each instrument does for the rhythm. Names outside types.INSTRUMENTS (older callers) are
# matched by prefix in ``role_of``.
ROLES: dict[str, str] = {
    "kick": KICK,
    "snare": SNARE,
    "cross_stick": SNARE,
    "hihat_closed": TIME,
    "hihat_open": TIME,
    "ride": TIME,
    "ride_bell": TIME,
    "hihat_pedal": PEDAL,
    "crash": CRASH,
    "tom_high": TOM,
    "tom_mid": TOM,
    "tom_floor": TOM,
}
# Roles that make up the groove, repeated bar after bar (crashes and toms mark the phrases).
GROOVE_ROLES: tuple[str, ...] = (KICK, SNARE, TIME, PEDAL)


def role_of(instrument: str) -> str:
    if instrument in ROLES:
        return ROLES[instrument]
    for prefix, role in (("hihat", TIME), ("ride", TIME), ("tom", TOM), ("crash", CRASH), ("china", CRASH)):
        if instrument.startswith(prefix):
            return role
    return TIME


@dataclass(frozen=True)
class Stroke:
    """A hit as the readers see it: when, what it does, how much it counts, how loud (or None)."""

    time: float
    role: str
    weight: float
    velocity: int | None
    belief: float = 1.0  # how likely the role is right (``role_belief``), loudness aside

    @property
    def is_ghost(self) -> bool:
        return self.velocity is not None and self.velocity < C.GHOST_VELOCITY


@dataclass(frozen=True)
class RhythmAnalysis:
    """Onset envelope of the audio (None when silent or too short) and the hits as strokes."""

    frame_rate: float
    hop: int
    sample_rate: int
    duration: float
    onset_envelope: np.ndarray | None
    strokes: tuple[Stroke, ...]

    def of_role(self, *roles: str, main_only: bool = False) -> list[Stroke]:
        """Strokes of these roles; ``main_only`` leaves out ghost notes."""
        return [s for s in self.strokes if s.role in roles and not (main_only and s.is_ghost)]

    def backbeat_strokes(self) -> list[Stroke]:
        """The strokes that carry the backbeat: the main snares, or the pedal hi-hat when it plays more
        often than they do (a jazz ride pattern, whose snare only comps and fills). Counted by belief,
        so a finder's unsure pedal hi-hats (often a hi-hat misheard) do not outvote the snare. Pedal
        strokes that keep time (``keeping_time``) are no backbeat."""
        snares = self.of_role(SNARE, main_only=True)
        pedals = self.of_role(PEDAL)
        pedals = [s for s, busy in zip(pedals, keeping_time(pedals), strict=True) if not busy]
        return pedals if sum(s.belief for s in pedals) > sum(s.belief for s in snares) else snares

    @property
    def played_span(self) -> tuple[float, float]:
        """First and last stroke time (0, 0 without strokes)."""
        if not self.strokes:
            return 0.0, 0.0
        return self.strokes[0].time, self.strokes[-1].time

    def tracking_envelope(self) -> np.ndarray | None:
        """The audio's onset envelope plus the hits' own, each scaled to a peak of 1."""
        hits = self.hits_envelope()
        audio = self.onset_envelope
        if audio is None or audio.max() <= 0:
            return hits
        audio = audio / audio.max()
        if hits is None:
            return audio
        length = max(len(audio), len(hits))
        out = np.zeros(length)
        out[: len(audio)] += audio
        out[: len(hits)] += hits / hits.max()
        return out

    def hits_envelope(self, roles: Sequence[str] | None = None) -> np.ndarray | None:
        """A bump at each stroke (of ``roles``, default all but crashes), as high as its weight."""
        chosen = [s for s in self.strokes if (s.role in roles if roles else s.role != CRASH) and s.time >= 0]
        if len(chosen) < C.MIN_HITS_FOR_TRACKING:
            return None
        frames = int((max(self.duration, chosen[-1].time) + 1.0) * self.frame_rate) + 1
        envelope = np.zeros(frames)
        for stroke in chosen:
            envelope[round(stroke.time * self.frame_rate)] += stroke.weight
        return np.convolve(envelope, np.array([0.25, 1.0, 0.25]), mode="same")


def analyse(
    drums_mono: np.ndarray, sr: int, hits: Sequence[Hit], spectrogram: np.ndarray | None = None
) -> RhythmAnalysis:
    """Onset envelope of ``drums_mono`` and ``hits`` as strokes, sorted by time.

    ``spectrogram`` is the track's ``drum_track_spectrogram`` when the hit finder computed it
    already (HitNet does); otherwise it is computed here, from the track resampled to 44.1 kHz.
    """
    audio = np.asarray(drums_mono, dtype=np.float32).reshape(-1)
    duration = len(audio) / sr if sr > 0 else 0.0
    strokes = _mean_weight_one(sorted((_stroke(h) for h in hits), key=lambda s: s.time))
    if spectrogram is None:
        spectrogram = _spectrogram_of(audio, sr)
    return RhythmAnalysis(
        frame_rate=FRAME_RATE,
        hop=HOP,
        sample_rate=SAMPLE_RATE,
        duration=max(duration, strokes[-1].time if strokes else 0.0),
        onset_envelope=_onset_envelope(spectrogram),
        strokes=strokes,
    )


def keeping_time(strokes: Sequence[Stroke]) -> np.ndarray:
    """For each of ``strokes`` (one instrument, sorted by time): is it played faster than a backbeat?

    A stroke within PEDAL_TIME_GAP_SECONDS of its neighbour (strokes closer than SAME_NOTE_SECONDS
    being one note) plays at least every pulse: a foot keeping 8ths or quarters on the pedal hi-hat,
    or a closed hi-hat the finder heard as a pedal one. Either way it marks the pulse, not the
    backbeat, which lands on every other pulse at most.
    """
    times = np.array([s.time for s in strokes], dtype=float)
    if len(times) < 2:
        return np.zeros(len(times), dtype=bool)
    gaps = np.diff(times)
    gaps = np.where(gaps <= C.SAME_NOTE_SECONDS, np.inf, gaps)
    nearest = np.minimum(np.concatenate([[np.inf], gaps]), np.concatenate([gaps, [np.inf]]))
    return nearest <= C.PEDAL_TIME_GAP_SECONDS


def _stroke(hit: Hit) -> Stroke:
    loudness = 1.0
    if hit.velocity is not None:
        loudness = float(np.clip(hit.velocity / C.REFERENCE_VELOCITY, *C.LOUDNESS_WEIGHT_RANGE))
    role = role_of(hit.instrument)
    belief = max(role_belief(role, hit.confidence), C.MIN_HIT_WEIGHT)
    return Stroke(float(hit.time), role, belief * loudness, hit.velocity, belief)


def _mean_weight_one(strokes: list[Stroke]) -> tuple[Stroke, ...]:
    """The strokes with their weights scaled so the average stroke weighs 1.

    The readers' evidence is counted per bar in stroke weights; this keeps it on one scale whether
    the hits are sure and loud (true strokes) or a finder's softer, less certain ones, so a constant
    term (the opening) neither drowns nor is drowned by them.
    """
    if not strokes:
        return ()
    mean = sum(s.weight for s in strokes) / len(strokes)
    if mean <= 0:
        return tuple(strokes)
    return tuple(replace(s, weight=s.weight / mean) for s in strokes)


def role_belief(role: str, confidence: float) -> float:
    """How likely a hit of this confidence really is a stroke of ``role``, relative to a sure hit (0..1).

    The finder's confidence, calibrated per role (``ROLE_CONFIDENCE_CALIBRATION``): the hit model's
    mistakes (a hi-hat heard as a snare or a pedal hi-hat) come with low confidences.
    """
    a, b = C.ROLE_CONFIDENCE_CALIBRATION.get(role, (0.0, 1.0))
    low, high = C.CONFIDENCE_CLIP

    def calibrated(c: float) -> float:
        c = min(max(float(c), low), high)
        return 1.0 / (1.0 + math.exp(-(a + b * math.log(c / (1.0 - c)))))

    return min(1.0, calibrated(confidence) / calibrated(high))


def _spectrogram_of(audio: np.ndarray, sr: int) -> np.ndarray | None:
    """The drum-track spectrogram of ``audio``, or None when it is silent or has no sample rate."""
    if sr <= 0 or not np.any(np.abs(audio) > C.SILENCE_LEVEL):
        return None
    if sr != SAMPLE_RATE:
        audio = to_sample_rate(audio, sr)
    return drum_track_spectrogram(audio)


def _onset_envelope(spectrogram: np.ndarray | None) -> np.ndarray | None:
    """Spectral flux of the spectrogram, or None when it is too short or silent to track."""
    if spectrogram is None or len(spectrogram) < C.MIN_ENVELOPE_FRAMES:
        return None
    envelope = spectral_flux(spectrogram)
    if envelope.max() <= 0:
        return None
    return envelope


def fractional_index(grid: np.ndarray, times: np.ndarray | float) -> np.ndarray:
    """Position of ``times`` in units of ``grid`` steps (linear between steps, extrapolated outside)."""
    grid = np.asarray(grid, dtype=float)
    t = np.atleast_1d(np.asarray(times, dtype=float))
    if len(grid) < 2:
        return np.zeros_like(t)
    k = np.clip(np.searchsorted(grid, t, side="right") - 1, 0, len(grid) - 2)
    return k + (t - grid[k]) / (grid[k + 1] - grid[k])


def weight_on_alternate_pulses(strokes: Sequence[Stroke], pulses: np.ndarray) -> np.ndarray:
    """The weight of ``strokes`` on the even and on the odd ``pulses`` (within GRID_TOLERANCE of one)."""
    return weight_by_pulse_in_cycle(strokes, pulses, 2)


def weight_by_pulse_in_cycle(strokes: Sequence[Stroke], pulses: np.ndarray, cycle: int) -> np.ndarray:
    """The weight of ``strokes`` on the ``pulses`` (within GRID_TOLERANCE of one), by the pulse's place
    in a cycle of ``cycle`` pulses: entry k sums the strokes on pulses k, k + cycle, k + 2 cycle, ..."""
    if not strokes:
        return np.zeros(cycle)
    position = fractional_index(pulses, np.array([s.time for s in strokes]))
    weight = np.array([s.weight for s in strokes])
    on_pulse = np.abs(position - np.round(position)) <= C.GRID_TOLERANCE
    place = np.round(position[on_pulse]).astype(int) % cycle
    return np.bincount(place, weights=weight[on_pulse], minlength=cycle)
