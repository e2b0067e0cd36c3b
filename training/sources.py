"""Where the licensed one-shots come from: MuldjordKit's FLACs and General MIDI SoundFont kits.

Only sources whose licence allows a commercially shipped model are listed (see the model card and
../shared/training/kits/README.md): MuldjordKit (CC BY 4.0), FluidR3_GM and MuseScore General (MIT),
and our own synthesised kits (``synth_kit``). SoundFont kits are rendered key by key and velocity
by velocity with Debian's ``fluidsynth`` (reverb and chorus off: rooms are added by the augmenter),
then cut at each stroke; the cut one-shots are cached as ``.npz`` so later runs skip fluidsynth.
"""

from __future__ import annotations

import csv
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np
import soundfile as sf

from .classes import GM_NOTES, MULDJORD_INSTRUMENTS
from .kit import SAMPLE_RATE, Kit

FLUID_R3 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
MUSESCORE_GENERAL = Path("/usr/share/sounds/sf3/MuseScore_General_Full.sf3")
MULDJORD_DIR = Path(__file__).resolve().parents[2] / "shared" / "training" / "kits" / "muldjord"

# Velocities each SoundFont key is played at: its velocity zones change gain and filter.
SOUNDFONT_VELOCITIES = (35, 60, 85, 110, 127)
# Seconds between strokes when rendering a kit: longer than any cymbal tail we keep.
STROKE_GAP_S = 4.0
# When the first stroke sounds in the rendering.
FIRST_STROKE_S = 0.5
# Bumped whenever the rendering or the cutting changes, so cached one-shots are rendered again.
# 2: the strokes are cut where they sound (version 1 cut each 0.5 s late: a short sound's tail, or
# the first 50 ms of the next stroke, often another velocity or class).
# 3: a cut starts at most PLAN_LEAD_S before the planned stroke (version 2 started LOOKBACK_S before
# it wherever the previous stroke's tail still rang above SILENCE_DB: most crash shots, and recorded
# kits' rides, sounded 40-54 ms after their stroke).
RENDER_VERSION = 3
# One-shots are cut this long at most (a crash's tail beyond it is faded out).
MAX_SHOT_S = 3.5
SILENCE_DB = -60.0
# A stroke is looked for from this long before its planned time (FluidSynth sounds it 4-5 ms late), and
# its cut starts at most PLAN_LEAD_S before the plan.
LOOKBACK_S = 0.05
PLAN_LEAD_S = 0.002


@dataclass(frozen=True)
class SoundFontKit:
    """One drum preset (bank 128) of a SoundFont file."""

    name: str
    soundfont: Path
    program: int
    licence: str
    # General MIDI's drum channel (10, counted from 0); a kit stored as an ordinary preset of bank 0
    # plays on a melodic channel.
    channel: int = 9


# FluidR3_GM's drum presets on bank 128 (programs), all MIT. Presets that share a program family
# share most samples; the family is part of the name so splits can keep families apart.
FLUID_PROGRAMS: dict[int, str] = {
    0: "standard",
    8: "room",
    16: "power",
    24: "electronic",
    25: "tr808",
    32: "jazz",
    40: "brush",
}


def fluid_kits(
    soundfont: Path = FLUID_R3, licence: str = "MIT (FluidR3_GM, Frank Wen)"
) -> list[SoundFontKit]:
    stem = soundfont.stem.lower().split("_")[0]
    return [
        SoundFontKit(f"{stem}-{name}", soundfont, program, licence)
        for program, name in FLUID_PROGRAMS.items()
    ]


def muldjord_kit(folder: Path = MULDJORD_DIR) -> Kit:
    """MuldjordKit (CC BY 4.0): every manifest row becomes a one-shot of its class."""
    kit = Kit("muldjord", "CC BY 4.0 (MuldjordKit by Lars Muldjord, SFZ edition by kinwie)")
    with open(folder / "manifest.csv", newline="") as f:
        for row in csv.DictReader(f):
            cls = MULDJORD_INSTRUMENTS.get(row["instrument"])
            if cls is None:
                continue
            audio, sr = sf.read(folder / row["file"], dtype="float32", always_2d=True)
            if sr != SAMPLE_RATE:
                raise ValueError(f"{row['file']}: {sr} Hz, expected {SAMPLE_RATE}")
            kit.add(cls, audio.mean(axis=1), int(row["velocity"]))
    return kit


def _stroke_midi(program: int, path: Path, channel: int = 9) -> list[tuple[str, int, float]]:
    """A MIDI file with every class's notes at every velocity, STROKE_GAP_S apart; returns the plan."""
    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=500_000))  # 120 bpm: 960 ticks per second
    track.append(mido.Message("program_change", channel=channel, program=program, time=0))
    ticks_per_s = 960
    plan: list[tuple[str, int, float]] = []
    t = FIRST_STROKE_S
    pending = int(FIRST_STROKE_S * ticks_per_s)
    for cls, notes in GM_NOTES.items():
        for note in notes:
            for velocity in SOUNDFONT_VELOCITIES:
                plan.append((cls, velocity, t))
                track.append(
                    mido.Message("note_on", channel=channel, note=note, velocity=velocity, time=pending)
                )
                track.append(mido.Message("note_off", channel=channel, note=note, velocity=0, time=96))
                pending = int(STROKE_GAP_S * ticks_per_s) - 96
                t += STROKE_GAP_S
    track.append(mido.MetaMessage("end_of_track", time=pending))
    mid.save(path)
    return plan


def _cut(audio: np.ndarray, stroke_s: float) -> np.ndarray | None:
    """The stroke planned at ``stroke_s``: from its first sample above SILENCE_DB of its peak, looked
    for from LOOKBACK_S before the plan, but never more than PLAN_LEAD_S before the plan (there the
    previous stroke's tail can still ring above SILENCE_DB)."""
    lo = max(0, int((stroke_s - LOOKBACK_S) * SAMPLE_RATE))
    seg = audio[lo : lo + int(min(STROKE_GAP_S, MAX_SHOT_S + 0.1) * SAMPLE_RATE)]
    peak = float(np.abs(seg).max()) if len(seg) else 0.0
    if peak < 1e-4:
        return None
    above = np.flatnonzero(np.abs(seg) > peak * 10 ** (SILENCE_DB / 20))
    first = max(int(above[0]), int((stroke_s - PLAN_LEAD_S) * SAMPLE_RATE) - lo)
    seg = seg[first : above[-1] + 1][: int(MAX_SHOT_S * SAMPLE_RATE)]
    fade = min(len(seg) // 10, int(0.3 * SAMPLE_RATE))
    if fade > 0:
        seg = seg.copy()
        seg[-fade:] *= 0.5 * (1 + np.cos(np.linspace(0, np.pi, fade)))
    return seg.astype(np.float32)


def soundfont_kit(spec: SoundFontKit, cache_dir: Path) -> Kit:
    """The kit's one-shots, rendered with fluidsynth once and cached in ``cache_dir``."""
    cache = Path(cache_dir) / f"{spec.name}-r{RENDER_VERSION}.npz"
    kit = Kit(spec.name, spec.licence)
    if not cache.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            mid, wav = Path(tmp) / "strokes.mid", Path(tmp) / "strokes.wav"
            plan = _stroke_midi(spec.program, mid, spec.channel)
            subprocess.run(
                ["fluidsynth", "-ni", "-R", "0", "-C", "0", "-g", "0.5", "-r", str(SAMPLE_RATE),
                 "-F", str(wav), str(spec.soundfont), str(mid)],
                check=True, capture_output=True,
            )  # fmt: skip
            audio, _ = sf.read(wav, dtype="float32", always_2d=True)
        mono = audio.mean(axis=1)
        arrays: dict[str, np.ndarray] = {}
        for i, (cls, velocity, start) in enumerate(plan):
            shot = _cut(mono, start)
            if shot is not None:
                arrays[f"{i:04d}|{cls}|{velocity}"] = shot
        np.savez_compressed(cache, **arrays)
    with np.load(cache) as data:
        for key in sorted(data.files):
            _, cls, velocity = key.split("|")
            kit.add(cls, data[key], int(velocity))
    return kit
