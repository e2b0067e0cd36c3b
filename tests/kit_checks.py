"""Checks on rendered one-shots that the training and benchmark kit tests share."""

from __future__ import annotations

import numpy as np

from training.kit import SAMPLE_RATE, Kit

# A one-shot is silent below this peak, and its loud part (10 % of its peak) must come this soon: a
# soft pedal chick reaches it after 7-20 ms; a shot that begins with the previous stroke's tail, 40-54.
SILENT_PEAK = 1e-3
LATE_START_S = 0.025


def one_shots_that_are_silent_or_start_late(kit: Kit) -> list[tuple[str, int, str]]:
    """(class, velocity, what is wrong) for each shot that is not heard or does not start on its stroke."""
    wrong = []
    for cls, shots in kit.shots.items():
        for shot in shots:
            peak = float(np.abs(shot.audio).max())
            if peak <= SILENT_PEAK:
                wrong.append((cls, shot.velocity, "silent"))
            elif np.argmax(np.abs(shot.audio) > 0.1 * peak) >= LATE_START_S * SAMPLE_RATE:
                wrong.append((cls, shot.velocity, "starts late"))
    return wrong
