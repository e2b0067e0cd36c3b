"""Tempo and bars: BPM, beat times and the downbeat of bar 1 (stage 5).

The grid's beats are the notated beat unit of the time signature: quarter notes in x/4, eighth notes
in x/8. Tempo is found at the level a drummer counts (the "pulse"): quarters in x/4, dotted quarters
in 6/8 and 12/8, eighths in other x/8 meters; compound pulses are then split into three eighths.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import librosa
import numpy as np

from groovesheet_shared.errors import TranscriptionError
from groovesheet_worker.pipeline.types import Hit, TempoGrid

# The onset envelope's hop: about 11.6 ms whatever the sample rate (512 samples at 44.1 kHz).
ENVELOPE_HOP_SECONDS = 512 / 44100
# Spectrogram frames computed at once (about 24 s), which bounds the memory of long songs.
ENVELOPE_CHUNK_FRAMES = 2048
# Tempo used when the audio gives nothing to track (silence, a handful of hits).
FALLBACK_BPM = 120.0
# Fewer hits than this and the audio is too sparse to track a tempo from.
MIN_HITS_FOR_TRACKING = 4
# A hit this close to a beat (in beats) counts as "on the beat" for phase and downbeat search.
ON_BEAT_TOLERANCE = 0.125
DEFAULT_TIME_SIGNATURE = "4/4"


@dataclass(frozen=True)
class Meter:
    """A parsed time signature and the pulse a drummer counts in it."""

    beats_per_bar: int
    beat_unit: int

    @property
    def is_compound(self) -> bool:
        """6/8, 9/8, 12/8: felt in dotted quarters, three eighths each."""
        return self.beat_unit == 8 and self.beats_per_bar % 3 == 0 and self.beats_per_bar >= 6

    @property
    def beats_per_pulse(self) -> int:
        return 3 if self.is_compound else 1

    @property
    def pulse_range(self) -> tuple[float, float, float]:
        """(lowest, highest, most likely) pulse tempo when nothing else is known."""
        if self.is_compound:
            return 40.0, 120.0, 70.0
        if self.beat_unit == 8:
            return 140.0, 360.0, 230.0
        return 70.0, 180.0, 115.0


def parse_time_signature(time_signature: str | None) -> Meter:
    """'4/4', '3/4', '6/8', '2/4', '5/4', '7/8', '12/8' ... into a Meter; None means 4/4."""
    text = (time_signature or DEFAULT_TIME_SIGNATURE).strip()
    try:
        top, bottom = (int(part) for part in text.split("/"))
    except ValueError:
        top, bottom = 0, 0
    if bottom not in (4, 8) or not 1 <= top <= 16:
        raise TranscriptionError(
            f"Time signature {text!r} is not supported: use one like 4/4, 3/4, 2/4, 5/4, 6/8, 7/8 or 12/8.",
            code="invalid_time_signature",
        )
    return Meter(top, bottom)


def estimate_tempo_grid(
    drums_mono: np.ndarray,
    sr: int,
    hits: Sequence[Hit],
    bpm_hint: float | None,
    time_signature: str | None,
) -> TempoGrid:
    """Beat grid for the song: tempo, beat times covering every hit, and bar 1's downbeat.

    ``bpm_hint`` counts the pulse (quarters in x/4, dotted quarters in 6/8 and 12/8, eighths in
    other x/8); with a hint the grid is even and only its phase is taken from the music.
    """
    meter = parse_time_signature(time_signature)
    if bpm_hint is not None and not (10.0 <= bpm_hint <= 500.0):
        raise TranscriptionError(f"A tempo of {bpm_hint} BPM is not plausible.", code="invalid_bpm")
    audio = np.asarray(drums_mono, dtype=np.float32).reshape(-1)
    duration = len(audio) / sr if sr > 0 else 0.0
    hop = max(64, round(sr * ENVELOPE_HOP_SECONDS))
    frame_rate = sr / hop
    envelope = _onset_envelope(audio, sr, hop)
    if envelope is None and len(hits) >= MIN_HITS_FOR_TRACKING:
        # No usable audio but the hits themselves still carry the rhythm.
        envelope = _hits_envelope(hits, frame_rate)

    if envelope is None:
        pulse_bpm = float(bpm_hint or _fallback_pulse_bpm(meter))
        first = min((h.time for h in hits), default=0.0)
        pulses = _even_pulses(first, 60.0 / pulse_bpm)
    elif bpm_hint is not None:
        pulse_bpm = float(bpm_hint)
        phase_guide = _with_backbeat(envelope, hits, frame_rate)
        pulses = _even_pulses(_best_phase(phase_guide, frame_rate, 60.0 / pulse_bpm), 60.0 / pulse_bpm)
    else:
        pulse_bpm = _pulse_tempo(envelope, frame_rate, meter)
        pulses = _track_pulses(envelope, sr, hop, pulse_bpm)
        if (
            meter.beat_unit == 4
            and pulse_bpm * 2 <= meter.pulse_range[1]
            and _snare_on_the_ands(pulses, hits)
        ):
            pulses = _split_pulses(pulses, 2)
            pulse_bpm *= 2
        if len(pulses) >= 4:
            # The fitted slope follows the whole song, not the autocorrelation's lag resolution.
            pulse_bpm = 60.0 / float(np.polyfit(np.arange(len(pulses)), pulses, 1)[0])
        else:
            pulses = _even_pulses(_best_phase(envelope, frame_rate, 60.0 / pulse_bpm), 60.0 / pulse_bpm)

    beats = _split_pulses(pulses, meter.beats_per_pulse)
    beats = _align_to_hits(beats, hits)
    end = max([duration, *(h.time for h in hits)])
    start = min([0.0, *(h.time for h in hits)])
    beats = _extend(beats, start, end, margin_beats=meter.beats_per_bar + 1)
    downbeat = _choose_downbeat(beats, hits, meter)
    return TempoGrid(
        bpm=float(pulse_bpm),
        beats=tuple(float(b) for b in beats),
        downbeat=downbeat,
        beats_per_bar=meter.beats_per_bar,
        beat_unit=meter.beat_unit,
    )


def beat_index_at(grid: TempoGrid, time: float) -> float:
    """Fractional beat index of ``time`` in ``grid.beats`` (linear between beats, extrapolated outside)."""
    beats = np.asarray(grid.beats)
    if len(beats) < 2:
        return 0.0
    k = int(np.clip(np.searchsorted(beats, time, side="right") - 1, 0, len(beats) - 2))
    return k + (time - beats[k]) / (beats[k + 1] - beats[k])


def _fallback_pulse_bpm(meter: Meter) -> float:
    return FALLBACK_BPM / meter.beats_per_pulse * (2 if meter.beat_unit == 8 and not meter.is_compound else 1)


def _onset_envelope(audio: np.ndarray, sr: int, hop: int) -> np.ndarray | None:
    """Spectral-flux onset strength, or None when the audio is too short or silent to track."""
    if sr <= 0 or len(audio) < 4 * hop or not np.any(np.abs(audio) > 1e-4):
        return None
    envelope = librosa.onset.onset_strength(S=_mel_power_db(audio, sr, hop), sr=sr, hop_length=hop)
    if envelope.max() <= 0:
        return None
    return envelope


def _mel_power_db(audio: np.ndarray, sr: int, hop: int) -> np.ndarray:
    """librosa's default onset mel spectrogram, computed a chunk at a time.

    Identical to ``onset_strength(y=...)``'s own, but a 10-minute song never holds its whole
    complex STFT (over 400 MB at 44.1 kHz) in memory at once.
    """
    n_fft = 2048
    frames = 1 + len(audio) // hop
    padded = np.pad(audio, n_fft // 2)  # what center=True does
    parts = []
    for first in range(0, frames, ENVELOPE_CHUNK_FRAMES):
        count = min(ENVELOPE_CHUNK_FRAMES, frames - first)
        segment = padded[first * hop : (first + count - 1) * hop + n_fft]
        parts.append(
            librosa.feature.melspectrogram(y=segment, sr=sr, n_fft=n_fft, hop_length=hop, center=False)
        )
    return librosa.power_to_db(np.concatenate(parts, axis=1))


def _pulse_tempo(envelope: np.ndarray, frame_rate: float, meter: Meter) -> float:
    """Most likely pulse tempo: autocorrelation comb with its harmonics, times a tempo prior.

    Scoring the lag together with its double, quadruple and half is what stops the octave errors of
    a plain peak pick: a busy hi-hat makes the half-beat lag strong, but only the true beat also
    lines up with the bar.
    """
    low, high, likely = meter.pulse_range
    centred = envelope - envelope.mean()
    max_lag = min(len(centred) - 1, int(8 * 60.0 / low * frame_rate) + 2)
    acf = librosa.autocorrelate(centred, max_size=max_lag + 1)
    if acf[0] <= 0:
        return likely
    acf = acf / acf[0]
    lags = np.arange(len(acf))
    candidates = np.arange(low, high + 0.01, 0.1)
    scores = np.zeros(len(candidates))
    for factor, weight in _comb_harmonics(meter):
        lag = 60.0 / candidates * frame_rate * factor
        inside = lag < len(acf) - 1
        scores[inside] += weight * np.interp(lag[inside], lags, acf)
    # A broad log-normal prior only breaks near-ties between octaves.
    prior = np.exp(-0.5 * (np.log2(candidates / likely) / 1.0) ** 2)
    scores = np.maximum(scores, 0.0) * prior
    return float(candidates[int(np.argmax(scores))])


def _comb_harmonics(meter: Meter) -> list[tuple[float, float]]:
    """Lag multiples scored with the pulse: its subdivision, and the bar (or two pulses when even)."""
    subdivision = 3.0 if meter.is_compound else 2.0
    pulses_per_bar = meter.beats_per_bar // meter.beats_per_pulse
    bar = 2.0 if pulses_per_bar % 2 == 0 else float(pulses_per_bar)
    return [(1.0, 1.0), (1.0 / subdivision, 0.5), (bar, 0.5), (2.0 * bar, 0.25)]


def _track_pulses(envelope: np.ndarray, sr: int, hop: int, pulse_bpm: float) -> np.ndarray:
    """Pulse times from librosa's dynamic-programming tracker held to ``pulse_bpm``."""
    _, frames = librosa.beat.beat_track(
        onset_envelope=envelope, sr=sr, hop_length=hop, bpm=pulse_bpm, tightness=200, trim=False
    )
    times = np.asarray(librosa.frames_to_time(frames, sr=sr, hop_length=hop), dtype=float)
    return _trim_ragged_edges(times)


def _trim_ragged_edges(times: np.ndarray) -> np.ndarray:
    """Drop beats at either end that are off the tracked tempo (the tracker guesses there).

    ``_extend`` then replaces them by extrapolating the steady beats.
    """
    if len(times) < 4:
        return times
    intervals = np.diff(times)
    steady = np.abs(intervals / np.median(intervals) - 1.0) <= 0.1
    first = int(np.argmax(steady))
    last = len(steady) - int(np.argmax(steady[::-1]))
    return times[first : last + 1] if last - first >= 2 else times


def _snare_on_the_ands(pulses: np.ndarray, hits: Sequence[Hit]) -> bool:
    """True when kicks sit on the pulse and snares halfway between: a backbeat counted at half speed.

    The autocorrelation cannot tell 87 from 174 BPM when the hi-hat plays 8ths at 174; the drummer's
    backbeat can: at the right tempo the snare is on beats 2 and 4, never on the "and".
    """
    if len(pulses) < 4:
        return False
    on_beat = {"kick": 0.0, "snare": 0.0}
    on_and = {"kick": 0.0, "snare": 0.0}
    total = {"kick": 0.0, "snare": 0.0}
    for hit in hits:
        if hit.instrument not in total or not pulses[0] <= hit.time <= pulses[-1]:
            continue
        fraction = _fractional_index(pulses, hit.time) % 1.0
        total[hit.instrument] += hit.confidence
        if min(fraction, 1.0 - fraction) <= ON_BEAT_TOLERANCE:
            on_beat[hit.instrument] += hit.confidence
        elif abs(fraction - 0.5) <= ON_BEAT_TOLERANCE:
            on_and[hit.instrument] += hit.confidence
    if total["snare"] <= 0 or total["kick"] <= 0:
        return False
    kick_beat, kick_and = on_beat["kick"] / total["kick"], on_and["kick"] / total["kick"]
    snare_beat, snare_and = on_beat["snare"] / total["snare"], on_and["snare"] / total["snare"]
    # Either way round: the tracker may have locked onto the snares instead of the kicks.
    return (snare_and >= 0.7 and kick_beat >= 0.5) or (snare_beat >= 0.7 and kick_and >= 0.5)


def _with_backbeat(envelope: np.ndarray, hits: Sequence[Hit], frame_rate: float) -> np.ndarray:
    """The onset envelope plus the kicks and snares, so an even grid sits on the beat, not the "and".

    Loud off-beat hi-hats can outweigh the beat in the audio; kicks and snares rarely do.
    """
    backbeat = [h for h in hits if h.instrument in ("kick", "snare")]
    if not backbeat or envelope.max() <= 0:
        return envelope
    drums = _hits_envelope(backbeat, frame_rate)[: len(envelope)]
    drums = np.pad(drums, (0, len(envelope) - len(drums)))
    return envelope / envelope.max() + (drums / drums.max() if drums.max() > 0 else 0.0)


def _best_phase(envelope: np.ndarray, frame_rate: float, period: float) -> float:
    """Offset of an even pulse train (in seconds, 0..period) that sits on the strongest onsets."""
    times = np.arange(len(envelope)) / frame_rate
    best, best_score = 0.0, -math.inf
    for phase in np.arange(0.0, period, 0.002):
        grid = np.arange(phase, times[-1], period)
        score = float(np.interp(grid, times, envelope).sum())
        if score > best_score:
            best, best_score = float(phase), score
    return best


def _even_pulses(anchor: float, period: float) -> np.ndarray:
    """Two pulses a period apart; ``_extend`` carries them over the whole song."""
    return anchor + period * np.arange(2, dtype=float)


def _hits_envelope(hits: Sequence[Hit], frame_rate: float) -> np.ndarray:
    """An onset envelope drawn from the hits: a short bump at each hit, as high as its confidence."""
    last = max(h.time for h in hits)
    envelope = np.zeros(int((max(last, 0.0) + 1.0) * frame_rate) + 1)
    for hit in hits:
        if hit.time >= 0:
            envelope[round(hit.time * frame_rate)] += max(hit.confidence, 0.05)
    return np.convolve(envelope, np.array([0.25, 1.0, 0.25]), mode="same")


def _split_pulses(pulses: np.ndarray, beats_per_pulse: int) -> np.ndarray:
    """Beat-unit times: each dotted-quarter pulse becomes three eighths."""
    if beats_per_pulse == 1 or len(pulses) < 2:
        return np.asarray(pulses, dtype=float)
    parts = [
        pulses[i] + (pulses[i + 1] - pulses[i]) * np.arange(beats_per_pulse) / beats_per_pulse
        for i in range(len(pulses) - 1)
    ]
    return np.concatenate([*parts, pulses[-1:]])


def _align_to_hits(beats: np.ndarray, hits: Sequence[Hit]) -> np.ndarray:
    """Shift the grid by the median offset of on-beat hits, so grid and hit detector agree on 'now'."""
    if len(beats) < 2 or len(hits) < MIN_HITS_FOR_TRACKING:
        return beats
    offsets = []
    for hit in hits:
        k = int(np.clip(np.searchsorted(beats, hit.time) - 1, 0, len(beats) - 2))
        for j in (k, k + 1):
            period = beats[min(j + 1, len(beats) - 1)] - beats[max(j - 1, 0)]
            tolerance = ON_BEAT_TOLERANCE * period / 2
            if abs(hit.time - beats[j]) <= tolerance:
                offsets.append(hit.time - beats[j])
    if len(offsets) < MIN_HITS_FOR_TRACKING:
        return beats
    return beats + float(np.median(offsets))


def _extend(beats: np.ndarray, start: float, end: float, margin_beats: int) -> np.ndarray:
    """Extrapolate beats at the local tempo so at least ``margin_beats`` lie beyond start and end."""
    if len(beats) == 1:
        beats = np.array([beats[0], beats[0] + 60.0 / FALLBACK_BPM])
    head_period = float(np.median(np.diff(beats[:5])))
    tail_period = float(np.median(np.diff(beats[-5:])))
    before = max(0, math.ceil((beats[0] - start) / head_period)) + margin_beats
    after = max(0, math.ceil((end - beats[-1]) / tail_period)) + margin_beats
    head = beats[0] - head_period * np.arange(before, 0, -1)
    tail = beats[-1] + tail_period * np.arange(1, after + 1)
    return np.concatenate([head, beats, tail])


# Accent templates: beat index in the bar (0-based, in beat units) -> weight, per instrument.
def _accent_template(meter: Meter) -> dict[str, dict[int, float]]:
    n = meter.beats_per_bar
    if (n, meter.beat_unit) == (4, 4):
        return {"kick": {0: 1.0, 2: 0.6}, "snare": {1: 1.0, 3: 1.0}, "crash": {0: 1.5}}
    if (n, meter.beat_unit) == (12, 8):
        return {"kick": {0: 1.0, 6: 0.6}, "snare": {3: 1.0, 9: 1.0}, "crash": {0: 1.5}}
    if meter.is_compound:
        return {"kick": {0: 1.0}, "snare": {n // 2: 1.0}, "crash": {0: 1.5}}
    if n == 3:
        return {"kick": {0: 1.0}, "snare": {1: 0.5, 2: 0.5}, "crash": {0: 1.5}}
    if n == 2:
        return {"kick": {0: 1.0}, "snare": {1: 1.0}, "crash": {0: 1.5}}
    # Odd and long meters: the bar starts with the kick and crash; the snare avoids beat 1.
    return {"kick": {0: 1.0}, "snare": dict.fromkeys(range(1, n), 0.3), "crash": {0: 1.5}}


def _choose_downbeat(beats: np.ndarray, hits: Sequence[Hit], meter: Meter) -> int:
    """Index in ``beats`` of bar 1's first beat.

    The bar phase is the one where kicks, snares and crashes fall on the accented beats of the
    meter (kick on 1 and 3, snare on 2 and 4 in 4/4). Bar 1 is then the bar holding the first hit,
    so a pickup is written as the end of a full bar 1 that starts with rests.
    """
    n = meter.beats_per_bar
    if not hits:
        first_beat = int(np.searchsorted(beats, 0.0 - 1e-9))
        return max(0, first_beat)
    template = _accent_template(meter)
    scores = np.zeros(n)
    for hit in hits:
        weights = template.get(hit.instrument)
        if not weights:
            continue
        index = _fractional_index(beats, hit.time)
        nearest = round(index)
        if abs(index - nearest) > ON_BEAT_TOLERANCE:
            continue
        for phase in range(n):
            scores[phase] += hit.confidence * weights.get((nearest - phase) % n, 0.0)
    first_time = min(h.time for h in hits)
    first_index = _fractional_index(beats, first_time)
    # Ties (no accents at all) go to the phase that starts bar 1 on the first hit.
    tie_break = [((round(first_index) - phase) % n == 0) * 1e-6 for phase in range(n)]
    phase = int(np.argmax(scores + np.array(tie_break)))
    # Latest beat with that phase at or before the first hit (within rounding of a 16th).
    candidate = math.floor(first_index + ON_BEAT_TOLERANCE)
    while (candidate - phase) % n:
        candidate -= 1
    while candidate < 0:
        candidate += n
    return candidate


def _fractional_index(beats: np.ndarray, time: float) -> float:
    k = int(np.clip(np.searchsorted(beats, time, side="right") - 1, 0, len(beats) - 2))
    return k + (time - beats[k]) / (beats[k + 1] - beats[k])
