"""The hit finder a worker uses, chosen by ``HIT_MODEL``: one protocol, two models.

``prepare`` turns the drum track into the model's input (the "onsets" stage), ``classify`` turns it
into labelled hits (the "classified" checkpoint). Both finders are loaded once per process.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from ..config import WorkerSettings
from .types import Hit


class HitFinding(Protocol):
    def prepare(self, drums: np.ndarray, sr: int, bpm_hint: float | None = None) -> Any: ...

    def classify(self, prepared: Any) -> list[Hit]: ...


def load_hit_finder(settings: WorkerSettings) -> HitFinding:
    """HitNet (default) or the AnNOTEator reference (``HIT_MODEL=annoteator``)."""
    if settings.hit_model == "annoteator":
        from .hits import HitFinder

        return HitFinder(settings.annoteator_model_path)
    from ..hitnet.finder import NetHitFinder

    return NetHitFinder(settings.hitnet_model_path)
