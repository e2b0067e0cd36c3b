"""`make eval-notation`: does the sheet say what was played? A notation benchmark of our own.

    python bench/eval_notation.py [--set test|check|dev|fit] [--gmd 20] [--per-style 2] [--mixes 4]
        [--runs pipeline oracle] [--hints none given] [--styles waltz 6/8 ...]
        [--hit-model hitnet|annoteator] [--cache /tmp/groovesheet-eval-notation] [--out eval-out/notation]

Pieces with a known score (training/notation_pieces.py): excerpts of Groove MIDI Dataset
performances (``--set test`` uses GMD's test split, ``dev`` its validation split, ``fit`` its train
split, which bench/fit_reading.py fits the readers' weights on; ``check`` is the test set's make-up
from other seeds: other excerpts of GMD's test split, other synthesised kits, the same presets and
recorded kits on other pieces) and generated
grooves in the meters GMD lacks (2/4, 3/4, 5/4, 6/8, 7/8, 12/8, a shuffle, a jazz ride, a half-time
feel, a slow ballad, fast punk, tempo drift, pickups), each rendered on one kit, through the
augmenter. Test kits: synthesised kits from seeds of their own (9 000 001 on; training uses seeds
below 48 and held-out ones from 100 000), three of MuseScore General's drum presets (its samples are
FluidR3_GM's, whose presets HitNet trains on, so these are the sampled kits it knows) and avldrums'
two recorded kits (Black Pearl, Red Zeppelin: CC BY-SA, evaluation only, kits HitNet never hears in
training); fit kits are synthesised kits of other
seeds (so the hits bench/fit_reading.py hears are as rough as on unheard kits), dev kits FluidR3's
presets and more synthesised kits; only the readers' tuning uses those two sets. A few pieces are
mixed with a generated band (training/accompaniment.py) and go through Demucs like any upload.

Two runs per piece, each without hints (as a new user uploads) and with the true bpm and time
signature given:
- ``pipeline``: the whole Transcriber, with whichever hit finder is the worker's default;
- ``oracle``: the true strokes as the hits, through the same reading stages (beat grid, quantize,
  MusicXML, events), so reading errors show apart from hearing errors.

The found hits are cached too (``--cache``/hits/<hit model and weights' sha256>), so a change to
the reading is measured without running the hit model again; ``--no-hit-cache`` runs it anew.

Scores (bench/notation_score.py): tempo within 4 % (octave errors counted as errors), time
signature, bar 1, notation F over (bar, exact position, instrument) allowing a one-bar shift, the
share of bars fully right, and hit F (+-50 ms per instrument). Rendered audio and Demucs stems are
cached in ``--cache`` (outside the repository); nothing here is committed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
for sub in ("shared", "worker-service", "."):
    sys.path.insert(0, str(ROOT / sub))

from bench.notation_score import (  # noqa: E402
    bar_one_right,
    confusions,
    hit_counts,
    notation_f,
    read_sheet,
    summed,
    tempo_verdict,
    true_notes,
    written_bar_one_time,
)
from groovesheet_shared.jobs import OUTPUT_FILES, JobOptions  # noqa: E402
from groovesheet_worker.pipeline import beat_grid, events, musicxml, notation_check, quantize  # noqa: E402
from groovesheet_worker.pipeline.constants import SAMPLE_RATE  # noqa: E402
from groovesheet_worker.pipeline.types import Hit  # noqa: E402
from training.arrange import gmd_entries  # noqa: E402
from training.kit import Kit  # noqa: E402
from training.notation_grooves import GROOVES, GROOVES_BY_STYLE  # noqa: E402
from training.notation_pieces import (  # noqa: E402
    NotationPiece,
    beats_per_pulse,
    generated_piece,
    gmd_piece,
    kit_map,
    render_piece,
)

# Bump when the pieces or their rendering change, so cached audio is never stale.
PIECES_VERSION = 1
SETS: dict[str, dict] = {
    "test": {
        "seed": 90_210,
        "gmd_split": "test",
        # MuseScore General's kits are FluidR3's samples (HitNet trains on FluidR3's presets); the
        # avldrums kits are recorded kits HitNet never hears in training (CC BY-SA: evaluation only).
        "kits": ("synth-9000001", "musescore-standard", "synth-9000002", "avl-blackpearl", "synth-9000003",
                 "musescore-jazz", "synth-9000004", "musescore-brush", "synth-9000005", "avl-redzeppelin"),
        "filler_seed": 9_100_000,
    },
    "fit": {
        "seed": 27_182,
        "gmd_split": "train",
        "kits": ("synth-7000001", "synth-7000002", "synth-7000003", "synth-7000004", "synth-7000005",
                 "synth-7000006", "synth-7000007", "synth-7000008"),
        "filler_seed": 7_100_000,
    },
    # The test set's make-up (GMD's test split, the same kit families) drawn from other seeds: a second
    # look at whether a change measured on the test set holds on pieces and kits it was not looked at on.
    "check": {
        "seed": 16_180,
        "gmd_split": "test",
        "kits": ("synth-9500001", "musescore-jazz", "synth-9500002", "avl-redzeppelin", "synth-9500003",
                 "musescore-brush", "synth-9500004", "musescore-standard", "synth-9500005", "avl-blackpearl"),
        "filler_seed": 9_600_000,
    },
    "dev": {
        "seed": 31_337,
        "gmd_split": "validation",
        "kits": ("fluidr3-standard", "fluidr3-room", "fluidr3-power", "fluidr3-jazz", "fluidr3-brush",
                 "synth-8000001", "synth-8000002", "synth-8000003"),
        "filler_seed": 8_100_000,
    },
}  # fmt: skip
GMD_SECONDS = 22.0
MIN_GMD_STROKES = 24
MIX_SECONDS = 16.0
# Styles of the mixed pieces (besides one GMD piece), and drifting pieces.
MIX_STYLES = ("waltz", "6/8", "shuffle")
DRIFT_STYLES = ("rock", "waltz")
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "groovesheet-eval-notation"
GROUPS = ("GMD 4/4", "generated", "mixed, Demucs", "all")


@dataclass(frozen=True)
class BenchPiece:
    piece: NotationPiece
    kit: str
    mixed: bool
    seed: tuple[int, ...]

    @property
    def group(self) -> str:
        if self.mixed:
            return "mixed, Demucs"
        return "GMD 4/4" if self.piece.name.startswith("gmd") else "generated"

    @property
    def key(self) -> str:
        from training.sources import RENDER_VERSION

        versions = (PIECES_VERSION, RENDER_VERSION)  # a SoundFont kit's one-shots are rendered anew too
        digest = hashlib.sha1(repr((versions, self.seed, self.kit, self.piece.performance)).encode())
        return digest.hexdigest()[:16]


# ----------------------------------------------------------------------------------- pieces
def build_pieces(
    set_name: str, gmd_count: int, per_style: int, mixes: int, styles: list[str] | None
) -> list[BenchPiece]:
    spec = SETS[set_name]
    seed, kits = spec["seed"], spec["kits"]
    out: list[BenchPiece] = []

    def kit_for(index: int) -> str:
        return kits[index % len(kits)]

    # GMD's few 3/4, 6/8 and 5/8 beats count their bpm in a unit the dataset does not state: 4/4 only.
    entries = [e for e in gmd_entries(spec["gmd_split"]) if e.beat_type == "beat" and e.beats_per_bar == 4]
    order = np.random.default_rng((seed, 0)).permutation(len(entries))
    if styles is None or "gmd" in styles:
        chosen = 0
        for i, k in enumerate(order):
            if chosen == gmd_count:
                break
            rng = np.random.default_rng((seed, 1, i))
            piece = gmd_piece(entries[int(k)], rng, GMD_SECONDS, varied=chosen % 2 == 1)
            if len(piece.performance.strokes) < MIN_GMD_STROKES:
                continue  # an excerpt where the drummer hardly plays
            out.append(BenchPiece(piece, kit_for(chosen), False, (seed, 1, i)))
            chosen += 1
    index = 0
    for s, groove in enumerate(GROOVES):
        if styles is not None and groove.style not in styles:
            continue
        for i in range(per_style):
            rng = np.random.default_rng((seed, 2, s, i))
            pickup = i == 1 and s % 2 == 0
            out.append(
                BenchPiece(
                    generated_piece(groove, rng, pickup=pickup), kit_for(index + 3), False, (seed, 2, s, i)
                )
            )
            index += 1
    for d, style in enumerate(DRIFT_STYLES):
        if styles is not None and style not in styles:
            continue
        rng = np.random.default_rng((seed, 3, d))
        piece = generated_piece(GROOVES_BY_STYLE[style], rng, pickup=False, drift=True)
        out.append(BenchPiece(piece, kit_for(d + 5), False, (seed, 3, d)))
    for m in range(mixes):
        rng = np.random.default_rng((seed, 4, m))
        if m % (len(MIX_STYLES) + 1) == 0:
            if styles is not None and "gmd" not in styles:
                continue
            entry = entries[int(order[-1 - m])]
            piece = gmd_piece(entry, rng, MIX_SECONDS, varied=False)
        else:
            style = MIX_STYLES[m % (len(MIX_STYLES) + 1) - 1]
            if styles is not None and style not in styles:
                continue
            piece = generated_piece(GROOVES_BY_STYLE[style], rng, pickup=False)
        out.append(BenchPiece(piece, kit_for(m + 7), True, (seed, 4, m)))
    return out


# Recorded kits for evaluation only (Debian's avldrums.lv2-soundfont, CC BY-SA 3.0 by Glen MacArthur
# and Robin Gareus): never in a training set, so a shipped model stays free of ShareAlike terms.
AVL_KITS: dict[str, Path] = {
    "avl-blackpearl": Path("/usr/share/sounds/sf2/Black_Pearl_4_LV2.sf2"),
    "avl-redzeppelin": Path("/usr/share/sounds/sf2/Red_Zeppelin_4_LV2.sf2"),
}


@lru_cache(maxsize=32)
def load_kit(name: str, cache: Path) -> Kit:
    from training.sources import (
        FLUID_R3,
        MUSESCORE_GENERAL,
        SoundFontKit,
        fluid_kits,
        muldjord_kit,
        soundfont_kit,
    )
    from training.synth_kit import synth_kit

    if name == "muldjord":
        return muldjord_kit()
    if name.startswith("synth-"):
        return synth_kit(int(name.split("-")[1]))
    if name in AVL_KITS:
        # Each file's only preset is bank 0, program 0: played on a melodic channel.
        spec = SoundFontKit(name, AVL_KITS[name], 0, "CC BY-SA 3.0, evaluation only", channel=0)
        return soundfont_kit(spec, cache / "kits")
    soundfont = MUSESCORE_GENERAL if name.startswith("musescore") else FLUID_R3
    spec = next(s for s in fluid_kits(soundfont, licence="MIT") if s.name == name)
    return soundfont_kit(spec, cache / "kits")


def piece_audio(bench: BenchPiece, set_name: str, cache: Path) -> Path:
    """The piece's audio file (mono drums, or the stereo mix), rendered once and cached."""
    path = cache / "audio" / f"{bench.key}.wav"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng((*bench.seed, 99))
    filler = load_kit(f"synth-{SETS[set_name]['filler_seed'] + bench.seed[-1]}", cache)
    drums = render_piece(bench.piece, kit_map(load_kit(bench.kit, cache), filler), rng)
    if bench.mixed:
        from training.accompaniment import mix_with_drums, render_accompaniment

        score = bench.piece.score
        bar_one = score.beats[score.downbeat]
        beat_bpm = score.bpm * beats_per_pulse(score.time_signature)
        backing = render_accompaniment(len(drums) / SAMPLE_RATE, beat_bpm, score.beats_per_bar, rng)
        backing = np.pad(backing, ((0, 0), (round(bar_one * SAMPLE_RATE), 0)))
        audio = mix_with_drums(drums, backing, drums_to_backing_db=float(rng.uniform(0.0, 6.0))).T
    else:
        audio = drums
    sf.write(path, audio, SAMPLE_RATE, subtype="FLOAT")
    return path


class CachedSeparator:
    """The worker's DrumSeparator, its stems kept in the cache by input, so a mix is separated once."""

    def __init__(self, separator, cache: Path) -> None:
        self.separator = separator
        self.cache = cache / "stems"
        self.sample_rate = separator.sample_rate

    def settings_key(self) -> str:
        """What the stem depends on besides the input: the backend and its overlap and shifts (the
        float32 reference keeps the cache names it always had)."""
        backend = getattr(self.separator, "backend", "torch")
        if backend == "torch":
            return ""
        overlap, shifts = getattr(self.separator, "overlap", None), getattr(self.separator, "shifts", None)
        bf16 = getattr(self.separator, "autocast_bf16", False)
        return f"-{backend}{'' if bf16 else '-float32'}-o{overlap}-s{shifts}"

    def separate_drums(self, stereo: np.ndarray, progress=None) -> np.ndarray:
        digest = hashlib.sha1(np.ascontiguousarray(stereo, dtype=np.float32).tobytes()).hexdigest()[:20]
        path = self.cache / f"{digest}{self.settings_key()}.npy"
        if path.exists():
            return np.load(path)
        stem = (
            self.separator.separate_drums(stereo, progress)
            if progress
            else self.separator.separate_drums(stereo)
        )
        self.cache.mkdir(parents=True, exist_ok=True)
        np.save(path, stem)
        return stem


class CachedHitFinder:
    """The worker's hit finder, its hits kept in the cache by model and drum track, so iterating on
    the reading never runs the model twice on one piece.

    The key is the hit model (for HitNet the sha256 of its weights, so new weights are never read
    from an old cache) and the drum track's own digest; ``prepare`` only remembers the track.
    """

    def __init__(self, finder, model_key: str, cache: Path, hint_matters: bool) -> None:
        self.finder = finder
        self.cache = cache / "hits" / model_key
        self.hint_matters = hint_matters  # HitNet does not use a bpm hint; the AnNOTEator does

    def prepare(self, drums: np.ndarray, sr: int = SAMPLE_RATE, bpm_hint: float | None = None):
        return drums, sr, bpm_hint

    def classify(self, prepared) -> list[Hit]:
        drums, sr, bpm_hint = prepared
        bpm_hint = bpm_hint if self.hint_matters else None
        digest = hashlib.sha1(np.ascontiguousarray(drums, dtype=np.float32).tobytes()).hexdigest()[:20]
        path = self.cache / f"{digest}-{sr}-{bpm_hint}.json"
        if path.exists():
            return [Hit(*row) for row in json.loads(path.read_text())]
        hits = self.finder.classify(self.finder.prepare(drums, sr, bpm_hint))
        self.cache.mkdir(parents=True, exist_ok=True)
        rows = [[h.time, h.instrument, h.confidence, h.velocity] for h in hits]
        path.write_text(json.dumps(rows))
        return hits


def cached_hit_finder(cache: Path) -> CachedHitFinder:
    """The worker's default hit finder (its settings from the environment), its hits cached in ``cache``."""
    from groovesheet_worker.config import WorkerSettings
    from groovesheet_worker.pipeline.hit_finding import load_hit_finder

    settings = WorkerSettings()
    return CachedHitFinder(
        load_hit_finder(settings), hit_model_key(settings), cache, hint_matters=settings.hit_model != "hitnet"
    )


def hit_model_key(settings) -> str:
    """What the cached hits depend on: the hit model and, for HitNet, its weights' sha256, how the
    finder feeds the network (hitnet/finder.py) and its peak-picking rules (hitnet/peaks.py:
    thresholds apart, the same-drum groups decide which hits stay)."""
    if settings.hit_model == "hitnet":
        from groovesheet_worker.hitnet import finder, peaks
        from groovesheet_worker.model_files import sha256_of

        code = sha256_of(Path(finder.__file__))[:8] + sha256_of(Path(peaks.__file__))[:8]
        return f"hitnet-{sha256_of(settings.hitnet_model_path)[:16]}-code-{code}"
    return settings.hit_model


# ----------------------------------------------------------------------------------- runs
def options_for(bench: BenchPiece, hints: str) -> JobOptions:
    score = bench.piece.score
    given = hints == "given"
    return JobOptions(
        title=bench.piece.name,
        bpm=round(score.bpm, 2) if given else None,
        time_signature=score.time_signature if given else None,
        drums_only=not bench.mixed,
    )


def run_pipeline(transcriber, bench: BenchPiece, audio: Path, hints: str, out: Path) -> tuple[Path, Path]:
    output = transcriber(audio, options_for(bench, hints), out, lambda *_: None)
    return output.files[OUTPUT_FILES["musicxml"]], output.files[OUTPUT_FILES["json"]]


def run_oracle(bench: BenchPiece, drums: np.ndarray, hints: str, out: Path) -> tuple[Path, Path]:
    """The true strokes through the Transcriber's reading stages (beat grid, quantize, MusicXML, events)."""
    options = options_for(bench, hints)
    hits = [Hit(s.time, s.cls, 1.0, s.velocity) for s in bench.piece.performance.strokes]
    grid = beat_grid.estimate_tempo_grid(drums, SAMPLE_RATE, hits, options.bpm, options.time_signature)
    placed = quantize.place_hits(hits, grid)
    out.mkdir(parents=True, exist_ok=True)
    sheet, found = out / "oracle.musicxml", out / "oracle.events.json"
    musicxml.write_musicxml(placed, grid, bench.piece.name, sheet)
    events.write_events(hits, placed, grid, found)
    notation_check.check_musicxml(sheet, grid)
    return sheet, found


def drum_track(bench: BenchPiece, audio: Path, separator: CachedSeparator | None) -> np.ndarray:
    data, _ = sf.read(audio, dtype="float32", always_2d=True)
    if not bench.mixed:
        return data.mean(axis=1)
    if separator is None:
        raise RuntimeError("mixed pieces need the Demucs separator")
    return separator.separate_drums(data.T).mean(axis=0)


def score_sheet(bench: BenchPiece, sheet_path: Path, events_path: Path) -> dict:
    score = bench.piece.score
    sheet = read_sheet(sheet_path)
    truth = true_notes(bench.piece.performance.strokes, score)
    match = notation_f(sheet.notes, truth)
    by_instrument = hit_counts(events_path, bench.piece.performance.strokes)
    matched, found, true = summed(by_instrument)
    beats_per_bar = int(sheet.time_signature.split("/")[0])
    alternative = json.loads(Path(events_path).read_text()).get("alternative_bpm")
    return {
        "piece": bench.piece.name,
        "group": bench.group,
        "kit": bench.kit,
        "true_bpm": round(score.bpm, 2),
        "bpm": sheet.main_bpm,
        "tempo": tempo_verdict(sheet.main_bpm, score.bpm),
        "alternative_bpm": alternative,
        "alternative": None if alternative is None else tempo_verdict(alternative, score.bpm),
        "true_time_signature": score.time_signature,
        "time_signature": sheet.time_signature,
        "bar_one": bar_one_right(written_bar_one_time(events_path, beats_per_bar), score),
        "notation_f": match.f,
        "bar_shift": match.shift,
        "bars_right": match.bars_right,
        "bars": match.bars_total,
        "hits_matched": matched,
        "hits_found": found,
        "hits_true": true,
        "hits_by_instrument": by_instrument,
        "confusions": {
            f"{heard} > {written}": n
            for (heard, written), n in confusions(events_path, bench.piece.performance.strokes).items()
        },
        "tempo_marks": sheet.tempo_marks,
    }


# ----------------------------------------------------------------------------------- report
def summary(rows: list[dict]) -> dict:
    n = len(rows)
    if not n:
        return {}
    matched = sum(r["hits_matched"] for r in rows)
    hit_total = sum(r["hits_found"] + r["hits_true"] for r in rows)
    octaves = sum(r["tempo"] not in ("right", "wrong") for r in rows)
    return {
        "pieces": n,
        "tempo": sum(r["tempo"] == "right" for r in rows) / n,
        "octave_errors": octaves,
        "time_signature": sum(r["time_signature"] == r["true_time_signature"] for r in rows) / n,
        "bar_one": sum(bool(r["bar_one"]) for r in rows) / n,
        "notation_f": float(np.mean([r["notation_f"] for r in rows])),
        "bars_right": sum(r["bars_right"] for r in rows) / max(1, sum(r["bars"] for r in rows)),
        "hit_f": 2.0 * matched / hit_total if hit_total else 1.0,
    }


def alternatives_line(rows: list[dict]) -> str:
    """How often the offered alternative tempo (events.json ``alternative_bpm``) is the right one."""
    wrong = [r for r in rows if r["tempo"] != "right"]
    right = [r for r in rows if r["tempo"] == "right"]
    rescued = sum(r.get("alternative") == "right" for r in wrong)
    offered = sum(r.get("alternative_bpm") is not None for r in right)
    either = (len(right) + rescued) / max(1, len(rows))
    return (
        f"tempo right or offered as the alternative: {either:.0%} ({rescued} of the {len(wrong)} misses offered "
        f"right); an alternative offered on {offered} of the {len(right)} pieces read right"
    )


def table(results: dict[tuple[str, str], list[dict]]) -> str:
    lines = [
        "| hits | hints | pieces | n | tempo | octave errors | time signature | bar 1 | notation F | bars fully right | hit F |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (run, hints), rows in results.items():
        for group in GROUPS:
            chosen = rows if group == "all" else [r for r in rows if r["group"] == group]
            s = summary(chosen)
            if not s:
                continue
            name = "oracle (true strokes)" if run == "oracle" else "pipeline"
            lines.append(
                f"| {name} | {hints} | {group} | {s['pieces']} | {s['tempo']:.0%} | {s['octave_errors']} | "
                f"{s['time_signature']:.0%} | {s['bar_one']:.0%} | {s['notation_f']:.3f} | "
                f"{s['bars_right']:.0%} | {s['hit_f']:.3f} |"
            )
    return "\n".join(lines)


def style_table(rows: list[dict], pieces: list[BenchPiece]) -> str:
    style_of = {b.piece.name + b.kit: b.piece.style for b in pieces}
    by_style: dict[str, list[dict]] = {}
    for row in rows:
        by_style.setdefault(style_of.get(row["piece"] + row["kit"], "?"), []).append(row)
    lines = [
        "| style | n | tempo | time signature | bar 1 | notation F | hit F |",
        "|---|---|---|---|---|---|---|",
    ]
    for style, chosen in sorted(by_style.items()):
        s = summary(chosen)
        lines.append(
            f"| {style} | {s['pieces']} | {s['tempo']:.0%} | {s['time_signature']:.0%} | {s['bar_one']:.0%} | "
            f"{s['notation_f']:.3f} | {s['hit_f']:.3f} |"
        )
    return "\n".join(lines)


def kit_family(kit: str) -> str:
    """``synth-9000001`` -> ``synth``, ``musescore-jazz`` -> ``musescore``, ``avl-blackpearl`` -> ``avl``."""
    return kit.split("-")[0]


def hearing_table(rows: list[dict], top: int = 6) -> str:
    """Hit F per instrument for each kit family, and the commonest confusions: what was played and
    what the sheet says there instead (``nothing``: missed, or written where nothing was played)."""
    families = sorted({kit_family(r["kit"]) for r in rows})
    totals: dict[str, dict[str, list[int]]] = {f: {} for f in families}
    confused: dict[str, dict[str, int]] = {f: {} for f in families}
    for row in rows:
        family = kit_family(row["kit"])
        for name, counts in row.get("hits_by_instrument", {}).items():
            mine = totals[family].setdefault(name, [0, 0, 0])
            for k in range(3):
                mine[k] += counts[k]
        for pair, n in row.get("confusions", {}).items():
            confused[family][pair] = confused[family].get(pair, 0) + n
    names = sorted({name for f in families for name in totals[f]})
    lines = ["| instrument | " + " | ".join(f"{f}: F (true strokes)" for f in families) + " |"]
    lines.append("|---|" + "---|" * len(families))
    for name in names:
        cells = []
        for f in families:
            matched, found, true = totals[f].get(name, [0, 0, 0])
            cells.append(f"{2 * matched / (found + true):.2f} ({true})" if found + true else "-")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for f in families:
        common = sorted(confused[f].items(), key=lambda kv: -kv[1])[:top]
        lines.append(
            f"\n{f}, commonest confusions (played > written): " + ", ".join(f"{p} {n}" for p, n in common)
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--set", choices=sorted(SETS), default="test")
    parser.add_argument("--gmd", type=int, default=20, help="GMD pieces")
    parser.add_argument("--per-style", type=int, default=2, help="generated pieces per groove style")
    parser.add_argument("--mixes", type=int, default=4, help="pieces mixed with a band, through Demucs")
    parser.add_argument("--runs", nargs="+", choices=("pipeline", "oracle"), default=["pipeline", "oracle"])
    parser.add_argument("--hints", nargs="+", choices=("none", "given"), default=["none", "given"])
    parser.add_argument("--styles", nargs="+", help="only these styles ('gmd' for GMD pieces)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--out", type=Path, default=ROOT / "eval-out" / "notation")
    parser.add_argument("--quiet", action="store_true", help="no line per piece")
    parser.add_argument(
        "--no-hit-cache", action="store_true", help="run the hit finder anew instead of reading cached hits"
    )
    parser.add_argument(
        "--hit-model", choices=("hitnet", "annoteator"), help="default: the worker's HIT_MODEL"
    )
    args = parser.parse_args(argv)

    pieces = build_pieces(args.set, args.gmd, args.per_style, args.mixes, args.styles)
    print(f"{len(pieces)} pieces ({args.set} set); audio cache {args.cache}", flush=True)
    transcriber = separator = None
    if "pipeline" in args.runs or any(b.mixed for b in pieces):
        from groovesheet_worker.config import WorkerSettings
        from groovesheet_worker.pipeline.transcriber import Transcriber

        settings = WorkerSettings()
        if args.hit_model:
            settings = settings.model_copy(update={"hit_model": args.hit_model})
        print(f"hit finder: {settings.hit_model}", flush=True)
        transcriber = Transcriber(settings)
        separator = CachedSeparator(transcriber.separator, args.cache)
        transcriber.separator = separator
        if not args.no_hit_cache:
            key = hit_model_key(settings)
            print(f"found hits cached in {args.cache / 'hits' / key}", flush=True)
            transcriber.hit_finder = CachedHitFinder(
                transcriber.hit_finder, key, args.cache, hint_matters=settings.hit_model != "hitnet"
            )
    results: dict[tuple[str, str], list[dict]] = {}
    started = time.perf_counter()
    for number, bench in enumerate(pieces, start=1):
        audio = piece_audio(bench, args.set, args.cache)
        for run in args.runs:
            for hints in args.hints:
                work = args.out / args.set / run / hints / f"{number:03d}"
                work.mkdir(parents=True, exist_ok=True)
                if run == "pipeline":
                    sheet, found = run_pipeline(transcriber, bench, audio, hints, work)
                else:
                    sheet, found = run_oracle(bench, drum_track(bench, audio, separator), hints, work)
                row = score_sheet(bench, sheet, found)
                results.setdefault((run, hints), []).append(row)
                if not args.quiet:
                    print(
                        f"{number:3d} {run:8s} {hints:5s} {bench.piece.name[:34]:34s} {bench.kit[:18]:18s} "
                        f"bpm {row['bpm']:6.1f}/{row['true_bpm']:6.1f} {row['tempo']:5s} "
                        f"{row['time_signature']:>4s}/{row['true_time_signature']:<4s} "
                        f"bar1 {'ok' if row['bar_one'] else '--'} F {row['notation_f']:.3f} "
                        f"hitF {2 * row['hits_matched'] / max(1, row['hits_found'] + row['hits_true']):.3f}",
                        flush=True,
                    )
    print(f"\n{len(pieces)} pieces in {time.perf_counter() - started:.0f} s\n")
    print(table(results))
    for (run, hints), rows in results.items():
        if hints == "none":
            print(f"\n{run}, no hints: {alternatives_line(rows)}")
            print(f"\n{run}, no hints, by style:\n{style_table(rows, pieces)}")
    if ("pipeline", "none") in results:
        print(
            f"\nhearing by kit family (pipeline, no hints):\n{hearing_table(results[('pipeline', 'none')])}"
        )
    report = args.out / f"{args.set}.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(
        json.dumps({f"{run}/{hints}": rows for (run, hints), rows in results.items()}, indent=1, default=str)
    )
    print(f"\nper-piece scores: {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
