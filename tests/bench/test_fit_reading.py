"""The readers' weight fitting: a softmax over each piece's candidates, towards the right ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.fit_reading import (
    _logit,
    accuracy,
    calibration_loss,
    constant_text,
    fit,
    fit_calibration,
    level_choices,
    phase_groups,
    write_constants,
)


def test_fitting_finds_the_feature_that_marks_the_right_candidate() -> None:
    rng = np.random.default_rng(0)
    data = []
    for _ in range(60):
        vectors = rng.normal(size=(5, 2))
        right = int(rng.integers(5))
        vectors[right, 1] += 2.0  # the second feature marks the right candidate
        data.append([(v, i == right) for i, v in enumerate(vectors)])
    start = np.array([1.0, 0.0])  # hand-set weights that look at the wrong feature
    fitted = fit(data, start)
    assert fitted[1] > 1.0
    assert accuracy(data, fitted) > accuracy(data, start) + 0.3


def test_phase_groups_keep_right_tempos_and_levels_take_the_chosen_phase() -> None:
    on_beat, on_and = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    right_tempo = [(on_beat, True, True), (on_and, True, False)]
    wrong_tempo = [(on_beat, False, False), (on_and, False, False)]
    pieces = [[right_tempo, wrong_tempo]]
    assert len(phase_groups(pieces)) == 1
    # Phase weights that prefer the first feature pick the on-beat reading of each tempo.
    levels = level_choices(pieces, np.array([1.0, 0.0]))
    assert [ok for _, ok in levels[0]] == [True, False]


def test_weights_are_written_into_the_constants_file(tmp_path: Path) -> None:
    path = tmp_path / "constants.py"
    path.write_text('A = 1\nW: dict[str, float] = {\n    "x": 1.00,\n}\nB = 2\n')
    write_constants(path, {"W": {"x": 0.5, "y": -1.25}})
    assert path.read_text() == "A = 1\n" + constant_text("W", {"x": 0.5, "y": -1.25}) + "B = 2\n"
    namespace: dict = {}
    exec(path.read_text(), namespace)
    assert namespace["W"] == {"x": 0.5, "y": -1.25}


def test_calibration_learns_how_far_a_finder_s_confidence_can_be_trusted() -> None:
    """A finder whose unsure hits are mostly wrong: the fitted curve believes them less than it
    believes sure ones, and predicts right and wrong better than the raw confidence does."""
    rng = np.random.default_rng(1)
    confidence = rng.uniform(0.05, 0.99, 4000)
    right = rng.uniform(size=4000) < confidence**2
    samples = {"snare": list(zip(confidence.tolist(), right.tolist(), strict=True))}
    fitted = fit_calibration(samples, samples)
    a, b = fitted["snare"]
    assert b > 1.0  # steeper than the raw confidence
    x, y = _logit(confidence), right.astype(float)
    assert calibration_loss(np.array([a, b]), x, y) < calibration_loss(np.array([0.0, 1.0]), x, y)
    # Roles with too few hits keep the calibration in force.
    assert fitted["pedal"] == fit_calibration({}, {})["pedal"]


def test_calibration_pairs_are_written_into_the_constants_file(tmp_path: Path) -> None:
    path = tmp_path / "constants.py"
    path.write_text('A = 1\nP: dict[str, tuple[float, float]] = {\n    "kick": (0.00, 1.00),\n}\nB = 2\n')
    write_constants(path, {"P": {"kick": (1.5, 2.25)}})
    namespace: dict = {}
    exec(path.read_text(), namespace)
    assert namespace["P"] == {"kick": (1.5, 2.25)} and namespace["B"] == 2
