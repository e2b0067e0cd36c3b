"""Tempo and bars (stage 5): the beat grid the sheet is written on.

One shared analysis (``rhythm_analysis``: onset envelope, classified hits), then the three readers
in turn: ``tempo`` (the counted pulse, tracked with the drummer's drift), ``meter`` (the time
signature) and ``downbeat`` (bar 1 and a pickup), and finally ``tempo_sections`` (the written
tempo and its changes). The uploader's bpm and time signature win over every estimate: a bpm hint
fixes the pulse's tempo (the grid still follows the drummer when the tracker agrees with it), a time
signature fixes the meter; only the phase of the bars is then read from the music.

The grid's beats are the time signature's beat unit: quarter notes in x/4, eighth notes in x/8.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from groovesheet_shared.errors import TranscriptionError
from groovesheet_worker.pipeline import rhythm_constants as C
from groovesheet_worker.pipeline.downbeat import choose_bar_start
from groovesheet_worker.pipeline.meter import MeterReading, choose_meter, hinted_meter
from groovesheet_worker.pipeline.pulse_evidence import TRIPLETS
from groovesheet_worker.pipeline.rhythm_analysis import RhythmAnalysis, analyse, fractional_index
from groovesheet_worker.pipeline.tempo import PulseReading, read_pulse
from groovesheet_worker.pipeline.tempo_sections import tempo_sections
from groovesheet_worker.pipeline.time_signature import Meter, parse_time_signature
from groovesheet_worker.pipeline.types import Hit, TempoGrid

# A bpm hint outside this range is refused (the API allows 30-300).
PLAUSIBLE_BPM = (10.0, 500.0)


def estimate_tempo_grid(
    drums_mono: np.ndarray,
    sr: int,
    hits: Sequence[Hit],
    bpm_hint: float | None,
    time_signature: str | None,
    spectrogram: np.ndarray | None = None,
) -> TempoGrid:
    """Beat grid for the song: tempo, beat times covering every hit, bar 1, pickup, tempo changes.

    ``bpm_hint`` counts the pulse (quarters in x/4, dotted quarters in 6/8 and 12/8, eighths in
    other x/8); ``time_signature`` None means "read it from the music". ``spectrogram`` is the
    track's drum-track spectrogram when the hit finder has it (computed here otherwise).
    """
    meter_hint = parse_time_signature(time_signature) if time_signature else None
    if bpm_hint is not None and not (PLAUSIBLE_BPM[0] <= bpm_hint <= PLAUSIBLE_BPM[1]):
        raise TranscriptionError(f"A tempo of {bpm_hint} BPM is not plausible.", code="invalid_bpm")
    analysis = analyse(drums_mono, sr, hits, spectrogram)
    reading = read_pulse(
        analysis,
        bpm_hint=_tracked_bpm(bpm_hint, meter_hint),
        subdivision_hint=TRIPLETS if meter_hint is not None and meter_hint.is_compound else None,
    )
    chosen = choose_meter(analysis, reading) if meter_hint is None else hinted_meter(meter_hint, reading)
    meter = chosen.meter
    beats = _beats_of(reading, chosen)
    beats = _align_to_hits(beats, analysis)
    start, end = min(0.0, analysis.played_span[0]), max(analysis.duration, analysis.played_span[1])
    beats = extend(beats, start, end, margin_beats=meter.beats_per_bar + 1, multiple=meter.beats_per_pulse)
    bar = choose_bar_start(beats, analysis, meter)
    pulse_beats = meter.beats_per_pulse
    main, changes = tempo_sections(
        beats, bar.downbeat, meter.beats_per_bar, pulse_beats, analysis.played_span, main_bpm=bpm_hint
    )
    alternative = offered_alternative_bpm(float(main), reading.alternative_ratio, meter)
    return TempoGrid(
        bpm=float(main),
        beats=tuple(float(b) for b in beats),
        downbeat=bar.downbeat,
        beats_per_bar=meter.beats_per_bar,
        beat_unit=meter.beat_unit,
        pickup_beats=bar.pickup_beats,
        tempo_changes=changes,
        alternative_bpm=alternative,
    )


def offered_alternative_bpm(main_bpm: float, ratio: float | None, meter: Meter) -> float | None:
    """The other tempo level offered (``PulseReading.alternative_ratio`` of the written tempo), if the
    uploader can ask for it: inside TEMPO_RANGE, and not in a simple x/8 meter, whose written tempo
    counts eighths while a bpm sent without a time signature is tracked as the pulse (a 7/8 at 231
    would offer 462, which transcribed again reads as it did)."""
    if ratio is None or meter.counts_eighths:
        return None
    alternative = round(main_bpm * ratio, 1)
    low, high = C.TEMPO_RANGE
    return alternative if low <= alternative <= high else None


def beat_index_at(grid: TempoGrid, time: float) -> float:
    """Fractional beat index of ``time`` in ``grid.beats`` (linear between beats, extrapolated outside)."""
    return float(fractional_index(np.asarray(grid.beats), time)[0])


def _tracked_bpm(bpm_hint: float | None, meter: Meter | None) -> float | None:
    """The tempo to track for a hint: x/8 meters other than compound ones are tracked in quarters."""
    if bpm_hint is None or meter is None or not meter.counts_eighths:
        return bpm_hint
    return bpm_hint / C.EIGHTHS_PER_QUARTER


def _beats_of(reading: PulseReading, chosen: MeterReading) -> np.ndarray:
    """Beat-unit times: each tracked pulse split into ``beats_per_tracked_pulse`` even beats."""
    pulses = np.asarray(reading.pulses, dtype=float)
    split = chosen.beats_per_tracked_pulse
    if split == 1 or len(pulses) < 2:
        return pulses
    parts = [
        pulses[i] + (pulses[i + 1] - pulses[i]) * np.arange(split) / split for i in range(len(pulses) - 1)
    ]
    return np.concatenate([*parts, pulses[-1:]])


def _align_to_hits(beats: np.ndarray, analysis: RhythmAnalysis) -> np.ndarray:
    """Shift the grid by the median offset of on-beat hits, so grid and hit finder agree on 'now'."""
    if len(beats) < 2 or len(analysis.strokes) < C.MIN_HITS_FOR_TRACKING:
        return beats
    times = np.array([s.time for s in analysis.strokes])
    position = fractional_index(beats, times)
    nearest = np.clip(np.round(position).astype(int), 0, len(beats) - 1)
    on_beat = np.abs(position - np.round(position)) <= C.GRID_TOLERANCE
    inside = (times >= beats[0]) & (times <= beats[-1])
    offsets = (times - beats[nearest])[on_beat & inside]
    if len(offsets) < C.MIN_HITS_FOR_TRACKING:
        return beats
    return beats + float(np.median(offsets))


def extend(beats: np.ndarray, start: float, end: float, margin_beats: int, multiple: int = 1) -> np.ndarray:
    """Extrapolate beats at the local tempo so at least ``margin_beats`` lie beyond start and end.

    A ``multiple`` of beats is added before the first, so a pulse's first beat stays at index 0.
    """
    beats = np.asarray(beats, dtype=float)
    if len(beats) == 1:
        beats = np.array([beats[0], beats[0] + 60.0 / C.FALLBACK_BPM])
    head_period = float(np.median(np.diff(beats[:5])))
    tail_period = float(np.median(np.diff(beats[-5:])))
    before = max(0, math.ceil((beats[0] - start) / head_period)) + margin_beats
    before = math.ceil(before / multiple) * multiple
    after = max(0, math.ceil((end - beats[-1]) / tail_period)) + margin_beats
    head = beats[0] - head_period * np.arange(before, 0, -1)
    tail = beats[-1] + tail_period * np.arange(1, after + 1)
    return np.concatenate([head, beats, tail])
