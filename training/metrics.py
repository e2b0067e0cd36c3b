"""Event-level scores of predicted strokes against the known ones, as the issue asks for them.

Matching is mir_eval's one-to-one matching within +-WINDOW seconds, per class. Besides F per class:
the five evaluation classes (kick, snare, hi-hat, toms, cymbals) with their pooled "sum F", hi-hat
recall where the hi-hat sounds together with a kick or snare, ghost-snare recall (snare velocity
below GHOST_VELOCITY) and open hi-hat F.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np
from mir_eval.util import match_events

from groovesheet_worker.pipeline.types import FIVE_CLASS

from .classes import CLASSES

WINDOW = 0.05
GHOST_VELOCITY = 50
TOGETHER_S = 0.03
FIVE = ("kick", "snare", "hihat", "toms", "cymbals")

Event = tuple[float, str, int]  # time, class, velocity


class Tally:
    """True/false positives and misses pooled over pieces, per key."""

    def __init__(self) -> None:
        self.tp: dict[str, int] = defaultdict(int)
        self.fp: dict[str, int] = defaultdict(int)
        self.fn: dict[str, int] = defaultdict(int)

    def add(self, key: str, ref: Sequence[float], est: Sequence[float]) -> list[tuple[int, int]]:
        matches = (
            match_events(np.asarray(ref, float), np.asarray(est, float), WINDOW)
            if len(ref) and len(est)
            else []
        )
        self.tp[key] += len(matches)
        self.fp[key] += len(est) - len(matches)
        self.fn[key] += len(ref) - len(matches)
        return list(matches)

    def f(self, key: str) -> float:
        tp, fp, fn = self.tp[key], self.fp[key], self.fn[key]
        return 2 * tp / (2 * tp + fp + fn) if tp else 0.0

    def recall(self, key: str) -> float:
        tp, fn = self.tp[key], self.fn[key]
        return tp / (tp + fn) if tp + fn else float("nan")

    def pooled_f(self, keys: Iterable[str]) -> float:
        tp = sum(self.tp[k] for k in keys)
        fp = sum(self.fp[k] for k in keys)
        fn = sum(self.fn[k] for k in keys)
        return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def pooled_f(pieces: Iterable[tuple[Sequence[Event], Sequence[Event]]], classes: Sequence[str]) -> float:
    """F pooled over ``classes``, each class matched on its own (a closed stroke written as a pedal
    is a miss and a false stroke)."""
    tally = Tally()
    for ref, est in pieces:
        for cls in classes:
            tally.add(cls, [t for t, c, _ in ref if c == cls], [t for t, c, _ in est if c == cls])
    return tally.pooled_f(classes)


def score(pieces: Iterable[tuple[Sequence[Event], Sequence[Event]]]) -> dict[str, float]:
    """``pieces`` yields (reference, estimate) event lists; returns the named scores."""
    fine, five, special = Tally(), Tally(), Tally()
    for ref, est in pieces:
        for cls in CLASSES:
            fine.add(cls, [t for t, c, _ in ref if c == cls], [t for t, c, _ in est if c == cls])
        for group in FIVE:
            r = [t for t, c, _ in ref if FIVE_CLASS[c] == group]
            e = [t for t, c, _ in est if FIVE_CLASS[c] == group]
            five.add(group, r, e)
        # Hi-hat strokes sounding with a kick or snare, and whether a hi-hat was found there.
        ks = np.array([t for t, c, _ in ref if c in ("kick", "snare")])
        est_hh = [t for t, c, _ in est if FIVE_CLASS[c] == "hihat"]
        under = [
            t
            for t, c, _ in ref
            if c in ("hihat_closed", "hihat_open") and len(ks) and np.min(np.abs(ks - t)) < TOGETHER_S
        ]
        m = special.add("hihat_under", under, est_hh)
        special.fp["hihat_under"] -= len(est_hh) - len(m)  # recall only
        ghosts = [t for t, c, v in ref if c == "snare" and v < GHOST_VELOCITY]
        est_sn = [t for t, c, _ in est if c == "snare"]
        m = special.add("ghost_snare", ghosts, est_sn)
        special.fp["ghost_snare"] -= len(est_sn) - len(m)
    out = {f"F_{c}": fine.f(c) for c in CLASSES}
    out.update({f"F5_{g}": five.f(g) for g in FIVE})
    out["sum_F5"] = five.pooled_f(FIVE)
    out["recall_hihat_under_kick_snare"] = special.recall("hihat_under")
    out["recall_ghost_snare"] = special.recall("ghost_snare")
    out["F_open_hihat"] = fine.f("hihat_open")
    out["n_ref"] = float(sum(five.tp[g] + five.fn[g] for g in FIVE))
    return out
