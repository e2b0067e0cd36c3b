"""Fit the readers' weights (rhythm_constants.py's PHASE_, READING_, DOWNBEAT_ and profile weights).

    python bench/fit_reading.py [--set fit] [--gmd 120] [--per-style 6] [--check dev] [--found-hits]
        [--calibration-only] [--write]

Pieces come from bench/eval_notation.py's ``fit`` set (GMD's train split and generated grooves of
their own seeds, never the reported ``test`` set); the hits are the true strokes and, with
``--found-hits``, also what the worker's hit finder hears in the piece's audio (cached like
bench/eval_notation.py's, by the model's weights), so the readers learn to read real hits too. For every piece,
each candidate tempo (``tempo.candidate_tempi``) is read at each phase (``tempo.readings_at``); a
reading is right when its tempo is within 4 % of the true pulse and its pulses sit on the true beats.
First the phase weights are fitted (each right tempo's readings: the one on the beats is right), then
the tempo-level weights (each candidate tempo on the phase the phase weights choose). Each maximises
the softmax probability of the right readings, L2-regularised towards the weights in force. The
downbeat weights are fitted the same way over each piece's bar phases, on the true beats and time
signature (``downbeat.phase_features``). With ``--found-hits``, first the hits' confidence is
calibrated per role (``ROLE_CONFIDENCE_CALIBRATION``: how likely a found hit of that confidence is
a true stroke of its role), and the readers are fitted on strokes weighed by it. Printed with the share of pieces read right before and
after, on the fit set and on ``--check``; ``--write`` writes them into rhythm_constants.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

ROOT = Path(__file__).resolve().parents[1]
for sub in ("shared", "worker-service", "."):
    sys.path.insert(0, str(ROOT / sub))

from bench.eval_notation import (  # noqa: E402
    DEFAULT_CACHE,
    BenchPiece,
    build_pieces,
    cached_hit_finder,
    drum_track,
    piece_audio,
)
from groovesheet_worker.pipeline import rhythm_constants as C  # noqa: E402
from groovesheet_worker.pipeline.constants import SAMPLE_RATE  # noqa: E402
from groovesheet_worker.pipeline.downbeat import (  # noqa: E402
    DOWNBEAT_FEATURES,
    bar_profile_features,
    phase_features,
)
from groovesheet_worker.pipeline.pulse_evidence import (  # noqa: E402
    SIXTEENTHS,
    TRIPLETS,
    profile_features,
    reading_features,
)
from groovesheet_worker.pipeline.rhythm_analysis import analyse, role_of  # noqa: E402
from groovesheet_worker.pipeline.tempo import (  # noqa: E402
    best_phase_reading,
    candidate_tempi,
    readings_at,
    steadiest_grid,
)
from groovesheet_worker.pipeline.time_signature import parse_time_signature  # noqa: E402
from groovesheet_worker.pipeline.types import Hit  # noqa: E402

PHASE_NAMES = DOWNBEAT_FEATURES + tuple(bar_profile_features())
NAMES = tuple(C.READING_WEIGHTS) + tuple(
    name for division in (SIXTEENTHS, TRIPLETS) for name in profile_features(division)
)
# A reading's pulses sit on the true pulses when the median distance is below this (pulses).
PHASE_TOLERANCE = 0.15
REGULARISATION = 0.01
# A found hit is right when a true stroke of its role lies this close (the hit F window).
CALIBRATION_WINDOW_SECONDS = 0.05
# Fewer found hits of a role than this and its calibration stays as it is.
MIN_CALIBRATION_HITS = 50


def true_pulses(bench: BenchPiece) -> tuple[list[float], np.ndarray | None]:
    """Tempos a reading may rightly track at, and the true pulse times (None: phase not checked)."""
    score = bench.piece.score
    beats = np.asarray(score.beats)
    top, bottom = (int(x) for x in score.time_signature.split("/"))
    if bottom == 8 and top % 3 == 0:
        return [score.bpm], beats[score.downbeat % 3 :: 3]
    if bottom == 8:
        return [score.bpm, score.bpm / 2], None
    return [score.bpm], beats


Candidate = list[tuple[np.ndarray, bool, bool]]  # one tracked tempo: (features, tempo right, phase right)


def true_hits(bench: BenchPiece) -> list[Hit]:
    return [Hit(s.time, s.cls, 1.0, s.velocity) for s in bench.piece.performance.strokes]


def labelled_readings(bench: BenchPiece, drums: np.ndarray, hits: list[Hit]) -> list[Candidate]:
    """Every candidate tempo's readings at each phase, labelled."""
    analysis = analyse(drums, SAMPLE_RATE, hits)
    envelope = analysis.tracking_envelope()
    if envelope is None:
        return []
    tempi, truth = true_pulses(bench)
    out = []
    for bpm in candidate_tempi(envelope, analysis.frame_rate):
        candidate = []
        # As tempo.steadier_level reads a candidate: its tracked pulses, or the steadiest grid near it.
        tracked = readings_at(analysis, envelope, bpm)
        best = best_phase_reading(tracked)
        for reading in tracked + steadiest_grid(analysis, envelope, best.bpm, best.subdivision):
            features = reading_features(reading.evidence, reading.subdivision, reading.bpm)
            vector = np.array([features.get(name, 0.0) for name in NAMES])
            tempo_right = any(abs(reading.bpm / t - 1.0) <= 0.04 for t in tempi)
            candidate.append((vector, tempo_right, tempo_right and _on_the_beats(reading, analysis, truth)))
        out.append(candidate)
    return out


def _on_the_beats(reading, analysis, truth: np.ndarray | None) -> bool:
    if truth is None:
        return True
    first, last = analysis.played_span
    pulses = reading.pulses[(reading.pulses >= first) & (reading.pulses <= last)]
    if not len(pulses):
        return False
    period = float(np.median(np.diff(reading.pulses)))
    distance = np.min(np.abs(pulses[:, None] - truth[None, :]), axis=1) / period
    return float(np.median(distance)) <= PHASE_TOLERANCE


def phase_groups(pieces: list[list[Candidate]]) -> Labelled:
    """The phases of each right-tempo candidate: which of them are the beats."""
    return [
        [(v, phase) for v, _, phase in c]
        for candidates in pieces
        for c in candidates
        if all(t for _, t, _ in c)
    ]


def level_choices(pieces: list[list[Candidate]], phase_weights: np.ndarray) -> Labelled:
    """Per piece, each candidate tempo on the phase ``phase_weights`` choose: is it the right reading?"""
    out = []
    for candidates in pieces:
        chosen = [max(c, key=lambda item: float(item[0] @ phase_weights)) for c in candidates if c]
        if chosen:
            out.append([(v, phase) for v, _, phase in chosen])
    return out


def labelled_phases(bench: BenchPiece, hits: list[Hit]) -> list[tuple[np.ndarray, bool]]:
    """Each bar phase's downbeat features on the true beats, the true phase labelled right."""
    score = bench.piece.score
    meter = parse_time_signature(score.time_signature)
    strokes = list(analyse(np.zeros(0, dtype=np.float32), SAMPLE_RATE, hits).strokes)
    if not strokes:
        return []
    features = phase_features(np.asarray(score.beats), strokes, meter, pulse_offset=score.downbeat)
    right = score.downbeat % meter.beats_per_bar
    return [
        (np.array([f.get(name, 0.0) for name in PHASE_NAMES]), phase == right)
        for phase, f in features.items()
    ]


Labelled = list[list[tuple[np.ndarray, bool]]]


def accuracy(data: list[list[tuple[np.ndarray, bool]]], weights: np.ndarray) -> float:
    right = 0
    for readings in data:
        scores = [float(v @ weights) for v, _ in readings]
        right += readings[int(np.argmax(scores))][1]
    return right / len(data)


def fit(data: list[list[tuple[np.ndarray, bool]]], start: np.ndarray) -> np.ndarray:
    usable = [r for r in data if any(ok for _, ok in r)]
    if any(not np.all(np.isfinite(v)) for r in usable for v, _ in r):
        raise ValueError("a feature is not a finite number")
    matrices = [(np.array([v for v, _ in r]), np.array([ok for _, ok in r])) for r in usable]

    def loss(w: np.ndarray) -> float:
        total = 0.0
        for x, ok in matrices:
            s = x @ w
            m = s.max()
            total -= np.log(np.exp(s[ok] - m).sum()) - np.log(np.exp(s - m).sum())
        return total / len(matrices) + REGULARISATION * float(((w - start) ** 2).sum())

    return minimize(loss, start, method="L-BFGS-B").x


def collect(set_name: str, gmd: int, per_style: int, finder=None) -> tuple[list[list[Candidate]], Labelled]:
    """(tempo readings, bar phases) of every piece, labelled: from its true strokes, and from the hits
    ``finder`` (the worker's hit finder) hears in its audio when one is given."""
    pieces = build_pieces(set_name, gmd, per_style, 0, None)
    readings, phases = [], []
    for number, bench in enumerate(pieces, start=1):
        drums = drum_track(bench, piece_audio(bench, set_name, DEFAULT_CACHE), None)
        sources = [true_hits(bench)]
        if finder is not None:
            sources.append(finder.classify(finder.prepare(drums, SAMPLE_RATE)))
        for hits in sources:
            readings.append(labelled_readings(bench, drums, hits))
            phases.append(labelled_phases(bench, hits))
        if number % 20 == 0:
            print(f"  {number}/{len(pieces)} pieces read", flush=True)
    return readings, [p for p in phases if p]


def calibration_samples(
    set_name: str, gmd: int, per_style: int, finder
) -> dict[str, list[tuple[float, bool]]]:
    """Per role, each found hit's (confidence, right): a true stroke of its role within 50 ms."""
    samples: dict[str, list[tuple[float, bool]]] = {}
    for bench in build_pieces(set_name, gmd, per_style, 0, None):
        drums = drum_track(bench, piece_audio(bench, set_name, DEFAULT_CACHE), None)
        truth: dict[str, np.ndarray] = {}
        for stroke in bench.piece.performance.strokes:
            truth.setdefault(role_of(stroke.cls), []).append(stroke.time)
        truth = {role: np.sort(np.array(times)) for role, times in truth.items()}
        for hit in finder.classify(finder.prepare(drums, SAMPLE_RATE)):
            role = role_of(hit.instrument)
            times = truth.get(role, np.zeros(0))
            right = bool(len(times) and np.min(np.abs(times - hit.time)) <= CALIBRATION_WINDOW_SECONDS)
            samples.setdefault(role, []).append((float(hit.confidence), right))
    return samples


def _logit(confidence: np.ndarray) -> np.ndarray:
    c = np.clip(confidence, *C.CONFIDENCE_CLIP)
    return np.log(c / (1.0 - c))


def calibration_loss(params: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    """Mean log loss of sigmoid(a + b x) against y."""
    z = params[0] + params[1] * x
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def fit_calibration(
    fit: dict[str, list[tuple[float, bool]]], check: dict[str, list[tuple[float, bool]]]
) -> dict[str, tuple[float, float]]:
    """Per role, the logistic curve in logit(confidence) that says how likely a found hit is right."""
    out: dict[str, tuple[float, float]] = {}
    print("\nconfidence calibration (log loss, uncalibrated -> fitted; fit set, check set):")
    for role, start in C.ROLE_CONFIDENCE_CALIBRATION.items():
        rows = np.array(fit.get(role, []), dtype=float).reshape(-1, 2)
        if len(rows) < MIN_CALIBRATION_HITS or rows[:, 1].min() == rows[:, 1].max():
            out[role] = start
            continue
        x, y = _logit(rows[:, 0]), rows[:, 1]
        params = minimize(calibration_loss, np.array([0.0, 1.0]), args=(x, y), method="L-BFGS-B").x
        out[role] = (round(float(params[0]), 2), round(float(params[1]), 2))
        held = np.array(check.get(role, []), dtype=float).reshape(-1, 2)
        line = f"  {role:6s} {len(rows):5d} hits, {y.mean():.0%} right: "
        line += f"{calibration_loss(np.array([0.0, 1.0]), x, y):.3f} -> {calibration_loss(params, x, y):.3f}"
        if len(held):
            hx, hy = _logit(held[:, 0]), held[:, 1]
            line += (
                f"; check {len(held)} hits: {calibration_loss(np.array([0.0, 1.0]), hx, hy):.3f}"
                f" -> {calibration_loss(params, hx, hy):.3f}"
            )
        print(line)
    return out


def report(
    names: tuple[str, ...], start: np.ndarray, data: Labelled, check: Labelled, title: str
) -> dict[str, float]:
    """Fit, print how often the readers choose right before and after, and return the weights."""
    weights = fit(data, start)
    right = sum(any(ok for _, ok in r) for r in data)
    print(f"\n{title}: pieces with a right candidate {right}/{len(data)}")
    for label, w in (("hand-set", start), ("fitted", weights)):
        print(f"  read right, {label} weights: {accuracy(data, w):.1%} fit, {accuracy(check, w):.1%} check")
    return {key: round(float(value), 2) for key, value in zip(names, weights, strict=True)}


def constant_text(name: str, weights: dict) -> str:
    if any(isinstance(v, tuple) for v in weights.values()):
        head = f"{name}: dict[str, tuple[float, float]] = {{"
        lines = [head] + [f'    "{k}": ({v[0]:.2f}, {v[1]:.2f}),' for k, v in weights.items()]
    else:
        lines = [f"{name}: dict[str, float] = {{"] + [f'    "{k}": {v:.2f},' for k, v in weights.items()]
    return "\n".join([*lines, "}"]) + "\n"


def write_constants(path: Path, constants: dict[str, dict]) -> None:
    """Replace each named dict literal in ``path`` (rhythm_constants.py) with the fitted weights."""
    text = path.read_text()
    for name, weights in constants.items():
        start = text.index(f"{name}: dict[str, ")
        end = text.index("}\n", start) + 2
        text = text[:start] + constant_text(name, weights) + text[end:]
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--set", default="fit")
    parser.add_argument("--gmd", type=int, default=120)
    parser.add_argument("--per-style", type=int, default=6)
    parser.add_argument("--check", default="dev", help="set the fitted weights are checked on")
    parser.add_argument("--check-gmd", type=int, default=40, help="GMD pieces of the check set")
    parser.add_argument("--write", action="store_true", help="write the weights into rhythm_constants.py")
    parser.add_argument(
        "--found-hits",
        action="store_true",
        help="also fit on the hits the worker's hit finder (HIT_MODEL) hears",
    )
    parser.add_argument(
        "--calibration-only",
        action="store_true",
        help="with --found-hits: fit (and write) only the hits' confidence calibration",
    )
    args = parser.parse_args(argv)
    finder = cached_hit_finder(DEFAULT_CACHE) if args.found_hits else None
    calibration = {}
    if finder is not None:
        calibration = fit_calibration(
            calibration_samples(args.set, args.gmd, args.per_style, finder),
            calibration_samples(args.check, args.check_gmd, 2, finder),
        )
        # The readers below are fitted on strokes weighed with the new calibration.
        C.ROLE_CONFIDENCE_CALIBRATION = calibration
        if args.calibration_only:
            print(constant_text("ROLE_CONFIDENCE_CALIBRATION", calibration))
            if args.write:
                write_constants(Path(C.__file__), {"ROLE_CONFIDENCE_CALIBRATION": calibration})
            return 0
    fit_readings, fit_phases = collect(args.set, args.gmd, args.per_style, finder)
    check_readings, check_phases = collect(args.check, args.check_gmd, 2, finder)
    phase_start = np.array([(C.PHASE_WEIGHTS | C.PHASE_PROFILE_WEIGHTS).get(n, 0.0) for n in NAMES])
    phase = report(NAMES, phase_start, phase_groups(fit_readings), phase_groups(check_readings), "phases")
    phase_weights = np.array([phase[n] for n in NAMES])
    level_start = np.array([(C.READING_WEIGHTS | C.PULSE_PROFILE_WEIGHTS).get(n, 0.0) for n in NAMES])
    reading = report(
        NAMES,
        level_start,
        level_choices(fit_readings, phase_weights),
        level_choices(check_readings, phase_weights),
        "tempo levels",
    )
    phase_weights = C.DOWNBEAT_WEIGHTS | C.BAR_PROFILE_WEIGHTS
    downbeat = report(
        PHASE_NAMES,
        np.array([phase_weights.get(n, 0.0) for n in PHASE_NAMES]),
        fit_phases,
        check_phases,
        "bar phases",
    )
    constants = {
        "PHASE_WEIGHTS": {k: v for k, v in phase.items() if "@" not in k},
        "PHASE_PROFILE_WEIGHTS": {k: v for k, v in phase.items() if "@" in k},
        "READING_WEIGHTS": {k: v for k, v in reading.items() if "@" not in k},
        "PULSE_PROFILE_WEIGHTS": {k: v for k, v in reading.items() if "@" in k},
        "DOWNBEAT_WEIGHTS": {k: v for k, v in downbeat.items() if "@" not in k},
        "BAR_PROFILE_WEIGHTS": {k: v for k, v in downbeat.items() if "@" in k},
    }
    if calibration:
        constants["ROLE_CONFIDENCE_CALIBRATION"] = calibration
    for name, values in constants.items():
        print(constant_text(name, values))
    if args.write:
        write_constants(Path(C.__file__), constants)
        print(f"written to {C.__file__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
