"""The published AnNOTEator rules, replayed outside the production path for comparison."""

from __future__ import annotations

import numpy as np

from bench.annoteator_reference import argmax_fallback, reference_rules
from groovesheet_worker.pipeline.constants import MODEL_CLASSES
from groovesheet_worker.pipeline.hits import decide


def test_the_reference_rules_round_and_fall_back_to_one_class() -> None:
    probabilities = np.array([[0.2, 0.3, 0.1, 0.0, 0.0, 0.0], [0.6, 0.7, 0.0, 0.0, 0.0, 0.0]])
    keep, confidence = decide(probabilities, reference_rules())
    keep = argmax_fallback(keep, confidence)
    assert keep.sum(axis=1).tolist() == [1, 2]
    assert MODEL_CLASSES[int(np.argmax(keep[0]))] == "hihat"
