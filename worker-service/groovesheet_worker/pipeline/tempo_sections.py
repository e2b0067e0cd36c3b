"""Tempo sections: the written tempo of a song, and a tempo change where a section moves.

Each bar's counted tempo is measured from its own beats; ``tempo_sections`` writes the median (or the
uploader's bpm) and a change where at least MIN_SECTION_BARS bars move by more than
TEMPO_CHANGE_THRESHOLD, so a live drummer's drift is written as a drummer's chart would show it.
"""

from __future__ import annotations

import numpy as np

from groovesheet_worker.pipeline import rhythm_constants as C
from groovesheet_worker.pipeline.pulse_tracking import median_bpm
from groovesheet_worker.pipeline.types import TempoChange


def tempo_sections(
    beats: np.ndarray,
    downbeat: int,
    beats_per_bar: int,
    beats_per_pulse: int,
    played: tuple[float, float],
    main_bpm: float | None = None,
) -> tuple[float, tuple[TempoChange, ...]]:
    """The written tempo (``main_bpm``, else the median over the played bars) and its changes.

    Bars are measured from their own beats. A run of at least MIN_SECTION_BARS bars more than
    TEMPO_CHANGE_THRESHOLD away from the tempo in force (the section's opening bars') starts a
    section; a section is written at its median tempo, or at the main tempo when it is that close
    to it. A song that keeps speeding up or slowing down gets a mark every few percent.
    """
    bar_tempi = _bar_tempi(beats, downbeat, beats_per_bar, beats_per_pulse, played)
    if not bar_tempi:
        return float(main_bpm or median_bpm(beats) / beats_per_pulse), ()
    bars = sorted(bar_tempi)
    values = np.array([bar_tempi[b] for b in bars])
    main = float(main_bpm if main_bpm is not None else np.median(values))
    smooth = np.array([np.median(values[max(0, i - 1) : i + 2]) for i in range(len(values))])

    starts = [0]
    current = float(np.median(values[: C.MIN_SECTION_BARS]))
    i = 0
    while i < len(values):
        run = 0
        while i + run < len(values) and abs(smooth[i + run] / current - 1.0) > C.TEMPO_CHANGE_THRESHOLD:
            run += 1
        if run >= C.MIN_SECTION_BARS:
            # The section's tempo is its opening bars': a song that keeps speeding up (an
            # accelerando) moves on from it, and is written as a new section every 4 % or so.
            starts.append(i)
            current = float(np.median(values[i : i + C.MIN_SECTION_BARS]))
            i += C.MIN_SECTION_BARS
        else:
            i += 1
    changes: list[TempoChange] = []
    written_before = main
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(values)
        tempo = float(np.median(values[start:end]))
        written = main if abs(tempo / main - 1.0) <= C.TEMPO_CHANGE_THRESHOLD else round(tempo, 1)
        if written != written_before:
            changes.append(TempoChange(bar=bars[start], bpm=written))
            written_before = written
    return main, tuple(changes)


def _bar_tempi(
    beats: np.ndarray, downbeat: int, beats_per_bar: int, beats_per_pulse: int, played: tuple[float, float]
) -> dict[int, float]:
    """Counted tempo of every bar (1-based) that lies within the played music."""
    out: dict[int, float] = {}
    first, last = played
    bar = 1
    start = downbeat
    while start + beats_per_bar < len(beats):
        times = beats[start : start + beats_per_bar + 1]
        if times[0] >= first - 1e-6 and times[-1] <= last + (times[-1] - times[-2]):
            out[bar] = 60.0 / float(np.median(np.diff(times))) / beats_per_pulse
        start += beats_per_bar
        bar += 1
    return out
