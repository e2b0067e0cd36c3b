"""Find the drum hits in a drum track: onsets, one clip per onset, the AnNOTEator model, labels.

The model (cb-42/AnNOTEator ``complete_network.h5``) gives six independent probabilities per
clip (snare, hi-hat, kick, ride, tom, crash). The reference code rounds them at 0.5 and falls back
to the single most likely class, which loses the second instrument of every kick + hi-hat; here
every instrument above its own threshold is kept (see THRESHOLDS for how they were chosen).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import librosa
import numpy as np

from groovesheet_shared.errors import TranscriptionError

from .constants import MODEL_CLASSES, SAMPLE_RATE
from .features import band_levels, band_power, high_band_sustain, onset_clips
from .types import ANNOTEATOR_TO_INSTRUMENT, Hit

# Fitted numbers live in a versioned tuning file written by the command that fits them
# (`bench/eval_mdb.py --fit --write-tuning ...`), with the feature names and the data they came from.
TUNING_PATH = Path(__file__).with_name("annoteator_tuning.json")
TUNING_VERSION = 1


@dataclass(frozen=True)
class Tuning:
    """Per-instrument thresholds (multi-label) and the logistic re-scoring of kick, snare and hi-hat.

    A clip keeps every instrument whose (re-scored) probability reaches its threshold. Kick, snare
    and hi-hat are re-scored from the model's six logits plus where each stroke's energy sits
    (features.band_levels) and how long its high band rings (features.high_band_sustain): the model
    alone calls a hi-hat over a snare a snare and rarely hears the hi-hat under a kick.
    """

    thresholds: dict[str, float]
    features: tuple[str, ...]
    rescorer: dict[str, tuple[tuple[float, ...], float]]


def load_tuning(path: Path = TUNING_PATH) -> Tuning:
    doc = json.loads(Path(path).read_text())
    if doc.get("version") != TUNING_VERSION:
        raise ValueError(f"{path}: tuning version {doc.get('version')!r}, this code reads {TUNING_VERSION}")
    features = tuple(doc["rescore_features"])
    rescorer = {
        k: (tuple(float(w) for w in v["weights"]), float(v["bias"])) for k, v in doc["rescorer"].items()
    }
    if any(len(w) != len(features) for w, _ in rescorer.values()):
        raise ValueError(f"{path}: re-scorer weights do not match its {len(features)} features")
    return Tuning({k: float(v) for k, v in doc["thresholds"].items()}, features, rescorer)


def write_tuning(path: Path, thresholds: Mapping[str, float], rescorer: Mapping, provenance: dict) -> None:
    """The tuning file ``load_tuning`` reads, with where its numbers came from."""
    doc = {
        "version": TUNING_VERSION,
        **provenance,
        "thresholds": {k: round(float(v), 4) for k, v in thresholds.items()},
        "rescore_features": list(RESCORE_FEATURES),
        "rescorer": {k: {"weights": list(w), "bias": b} for k, (w, b) in rescorer.items()},
    }
    Path(path).write_text(json.dumps(doc, indent=2) + "\n")


RESCORE_FEATURES = (
    *(f"logit_{name}" for name in MODEL_CLASSES),
    "level_30_120",
    "level_120_400",
    "level_400_2k",
    "level_2k_5k",
    "level_5k_20k",
    "sustain",
)
_TUNING = load_tuning()
if _TUNING.features != RESCORE_FEATURES:
    raise ValueError(f"{TUNING_PATH}: features {_TUNING.features} are not this code's {RESCORE_FEATURES}")
THRESHOLDS: dict[str, float] = _TUNING.thresholds
RESCORER: dict[str, tuple[tuple[float, ...], float]] = _TUNING.rescorer

# A 'hi-hat' needs at least this raw probability to be considered a ride by its ring (the hi-hat
# threshold fitted before re-scoring existed).
RIDE_CANDIDATE = 0.04

# Tempo used to size the clips is folded into this range: librosa often lands an octave off
# (55 or 225 bpm for a 110 bpm song), which would make every clip half or twice as long.
CLIP_TEMPO_RANGE = (70.0, 180.0)

# Onset detection resolution: 256 samples (5.8 ms) keeps hit times well inside the 30-50 ms
# tolerance that sheet music and the evaluation allow.
ONSET_HOP = 256
# Onsets are picked separately below and above 5 kHz, then merged: quiet hi-hat and ride strokes
# are drowned in the full-band envelope by the kick and snare decays, but stand out up high.
# (MDB drum_only onset recall 0.875 -> 0.963 at precision 0.985 -> 0.970.)
ONSET_BANDS_HZ: tuple[tuple[float, float], ...] = ((0.0, 5_000.0), (5_000.0, 22_050.0))
# The model hears a ride like a hi-hat. A closed hi-hat's high band falls by ~17 dB within
# 60-120 ms, a ride's or crash's by ~3 dB (MDB Drums medians; CHH 90th percentile -7 dB), so a
# "hi-hat" that keeps ringing within 6 dB of its peak is written as ride.
RIDE_SUSTAIN_DB = -6.0
# Onsets closer than this are one hit (a flam or the two bands seeing the same stroke).
ONSET_MERGE_SECONDS = 0.03


@dataclass(frozen=True)
class HitRules:
    """How onsets become labelled hits (AnNOTEator's published rules are replayed by
    ``bench/annoteator_reference.py``, outside the production path)."""

    thresholds: Mapping[str, float] = field(default_factory=lambda: dict(THRESHOLDS))
    onset_hop: int = ONSET_HOP
    # A 'hi-hat' whose high band still rings this close to its peak (dB) is a ride; None: off.
    ride_sustain_db: float | None = RIDE_SUSTAIN_DB
    # Logistic re-scoring of kick/snare/hi-hat (see RESCORER); None or empty: the model's outputs.
    rescorer: Mapping[str, tuple[tuple[float, ...], float]] | None = field(
        default_factory=lambda: dict(RESCORER)
    )
    onset_bands: tuple[tuple[float, float], ...] = ONSET_BANDS_HZ


@dataclass(frozen=True)
class Onsets:
    """Onsets of a drum track and the model input prepared for them."""

    samples: np.ndarray
    clip_bpm: float
    spectrograms: np.ndarray
    sample_rate: int = SAMPLE_RATE
    sustain_db: np.ndarray | None = None
    band_db: np.ndarray | None = None

    @property
    def times(self) -> np.ndarray:
        return self.samples / self.sample_rate


def detect_band_onsets(
    drums: np.ndarray, sr: int, hop: int, bands: Sequence[tuple[float, float]], merge_seconds: float
) -> np.ndarray:
    """Onsets picked in each frequency band of the log-mel spectrogram, merged (earliest wins)."""
    mel = band_power(drums, 2048, hop, librosa.filters.mel(sr=sr, n_fft=2048, n_mels=128))
    log_mel = librosa.power_to_db(mel)
    freqs = librosa.mel_frequencies(n_mels=128, fmax=sr / 2)
    found = []
    for low, high in bands:
        rows = (freqs >= low) & (freqs < high)
        if not rows.any():
            continue
        envelope = librosa.onset.onset_strength(S=log_mel[rows], sr=sr, hop_length=hop)
        found.append(librosa.onset.onset_detect(onset_envelope=envelope, sr=sr, hop_length=hop))
    frames = np.sort(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)
    merged: list[int] = []
    gap = merge_seconds * sr / hop
    for frame in frames:
        if not merged or frame - merged[-1] > gap:
            merged.append(int(frame))
    return np.asarray(merged, dtype=np.int64) * hop


def fold_tempo(bpm: float, low: float = CLIP_TEMPO_RANGE[0], high: float = CLIP_TEMPO_RANGE[1]) -> float:
    """Double or halve ``bpm`` until it lies in [low, high]."""
    if not np.isfinite(bpm) or bpm <= 0:
        return 120.0
    while bpm < low:
        bpm *= 2
    while bpm > high:
        bpm /= 2
    return float(bpm)


def clip_tempo(drums: np.ndarray, sr: int, bpm_hint: float | None, rules: HitRules) -> float:
    """Tempo that sets the clip length; an uploader's bpm wins over any estimate."""
    if bpm_hint:
        return fold_tempo(float(bpm_hint))
    # librosa's own onset envelope (log mel, hop 512), built in blocks to keep long songs small.
    mel = band_power(drums, 2048, 512, librosa.filters.mel(sr=sr, n_fft=2048, n_mels=128))
    envelope = librosa.onset.onset_strength(S=librosa.power_to_db(mel), sr=sr, hop_length=512)
    tempo, _ = librosa.beat.beat_track(onset_envelope=envelope, sr=sr, hop_length=512, start_bpm=110.0)
    return fold_tempo(float(np.atleast_1d(tempo)[0]))


class HitFinder:
    """The AnNOTEator classifier, loaded once, and the steps around it."""

    def __init__(self, model_path: Path, rules: HitRules | None = None) -> None:
        import keras  # deferred: TensorFlow takes seconds to import

        try:
            self.model = keras.models.load_model(str(model_path), compile=False)
        except Exception as exc:
            raise TranscriptionError(
                f"The drum-hit model could not be loaded from {model_path}: {exc}. Run `make models` "
                "(or fix ANNOTEATOR_MODEL_PATH).",
                code="model_unavailable",
                retryable=False,
            ) from exc
        self.rules = rules or HitRules()

    def prepare(self, drums: np.ndarray, sr: int = SAMPLE_RATE, bpm_hint: float | None = None) -> Onsets:
        """Onsets of the mono drum track and one model input per onset."""
        rules = self.rules
        bpm = clip_tempo(drums, sr, bpm_hint, rules)
        onsets = detect_band_onsets(drums, sr, rules.onset_hop, rules.onset_bands, ONSET_MERGE_SECONDS)
        wants_sustain = rules.ride_sustain_db is not None or rules.rescorer is not None
        sustain = high_band_sustain(drums, onsets, bpm, sr) if wants_sustain else None
        levels = band_levels(drums, onsets, sr) if rules.rescorer is not None else None
        return Onsets(
            samples=onsets,
            clip_bpm=bpm,
            spectrograms=onset_clips(drums, onsets, bpm, sr),
            sample_rate=sr,
            sustain_db=sustain,
            band_db=levels,
        )

    def probabilities(self, onsets: Onsets) -> np.ndarray:
        """(n, 6) model probabilities in MODEL_CLASSES order, one batched predict per song."""
        if len(onsets.samples) == 0:
            return np.zeros((0, len(MODEL_CLASSES)), dtype=np.float32)
        return np.asarray(self.model.predict(onsets.spectrograms, batch_size=256, verbose=0))

    def classify(self, onsets: Onsets) -> list[Hit]:
        return self.label(onsets, self.probabilities(onsets))

    def label(self, onsets: Onsets, probabilities: np.ndarray) -> list[Hit]:
        return label_hits(onsets.times, probabilities, self.rules, onsets.sustain_db, onsets.band_db)

    def find_hits(self, drums: np.ndarray, sr: int = SAMPLE_RATE, bpm_hint: float | None = None) -> list[Hit]:
        onsets = self.prepare(drums, sr, bpm_hint)
        return self.label(onsets, self.probabilities(onsets))


def rescore_features(probabilities: np.ndarray, sustain_db: np.ndarray, band_db: np.ndarray) -> np.ndarray:
    """(n, 12) RESCORE_FEATURES: the model's logits (clipped), band levels and ring, per onset."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-4, 1 - 1e-4)
    return np.column_stack([np.log(p / (1 - p)), band_db, sustain_db])


def rescore(
    probabilities: np.ndarray,
    sustain_db: np.ndarray | None,
    band_db: np.ndarray | None,
    rescorer: Mapping[str, tuple[tuple[float, ...], float]] | None,
) -> np.ndarray:
    """The model's probabilities with the re-scored instruments replaced by their logistic output."""
    if not rescorer or sustain_db is None or band_db is None or len(probabilities) == 0:
        return probabilities
    features = rescore_features(probabilities, sustain_db, band_db)
    out = np.array(probabilities, dtype=np.float32, copy=True)
    for name, (weights, bias) in rescorer.items():
        out[:, MODEL_CLASSES.index(name)] = 1 / (1 + np.exp(-(features @ np.asarray(weights) + bias)))
    return out


def decide(
    probabilities: np.ndarray,
    rules: HitRules,
    sustain_db: np.ndarray | None = None,
    band_db: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(n, 6) booleans: which instruments each onset gets, and the confidences to report.

    Every instrument whose (re-scored) probability reaches its threshold is kept; with
    ``sustain_db`` a ringing "hi-hat" is written as ride.
    """
    raw = np.asarray(probabilities, dtype=np.float32)
    confidence = rescore(raw, sustain_db, band_db, rules.rescorer)
    thresholds = np.array([rules.thresholds[name] for name in MODEL_CLASSES], dtype=np.float32)
    keep = confidence >= thresholds[None, :]
    confidence = np.array(confidence, dtype=np.float32, copy=True)
    if sustain_db is not None and rules.ride_sustain_db is not None:
        hihat, ride = MODEL_CLASSES.index("hihat"), MODEL_CLASSES.index("ride")
        # Re-scoring learns that rides are not hi-hats, so candidates come from the raw output.
        candidate = keep[:, hihat] if not rules.rescorer else raw[:, hihat] >= RIDE_CANDIDATE
        ringing = candidate & (np.asarray(sustain_db) > rules.ride_sustain_db)
        keep[ringing, hihat] = False
        keep[ringing, ride] = True
        # The ride's confidence is the hi-hat-like probability that put it there.
        confidence[ringing, ride] = np.maximum(confidence[ringing, ride], raw[ringing, hihat])
    return keep, confidence


def label_hits(
    times: Sequence[float] | np.ndarray,
    probabilities: np.ndarray,
    rules: HitRules,
    sustain_db: np.ndarray | None = None,
    band_db: np.ndarray | None = None,
) -> list[Hit]:
    """Every kept instrument becomes a Hit at the onset time, carrying its confidence."""
    keep, confidence = decide(probabilities, rules, sustain_db, band_db)
    hits: list[Hit] = []
    for i, t in enumerate(np.asarray(times, dtype=float)):
        for k in np.flatnonzero(keep[i]):
            hits.append(
                Hit(
                    time=round(float(t), 4),
                    instrument=ANNOTEATOR_TO_INSTRUMENT[MODEL_CLASSES[k]],
                    confidence=round(float(confidence[i, k]), 4),
                )
            )
    return hits
