"""Short drum pieces with a known score, played on a synthesised kit, for the rhythm readers' tests.

The pieces are ``training.notation_pieces``' generated grooves (the notation benchmark's own), so a
test knows the time signature, the tempo, every beat and bar 1 of what it plays.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import numpy as np

from groovesheet_worker.pipeline.types import Hit
from training.kit import Kit
from training.notation_grooves import GROOVES_BY_STYLE
from training.notation_pieces import NotationPiece, generated_piece, kit_map, render_piece
from training.synth_kit import synth_kit

SR = 44100
KIT_SEED = 4242


@lru_cache(maxsize=2)
def drum_kit(seed: int = KIT_SEED) -> Kit:
    return synth_kit(seed)


def groove_piece(
    style: str, seed: int, *, bpm: float | None = None, pickup: bool = False, drift: bool = False
) -> NotationPiece:
    """A piece of the benchmark's ``style`` groove; ``bpm`` pins its tempo (else drawn from its range)."""
    groove = GROOVES_BY_STYLE[style]
    if bpm is not None:
        groove = replace(groove, bpm_range=(bpm, bpm))
    return generated_piece(groove, np.random.default_rng(seed), pickup=pickup, drift=drift)


def audio_of(piece: NotationPiece, seed: int = 0) -> np.ndarray:
    kit = drum_kit()
    return render_piece(piece, kit_map(kit, kit), np.random.default_rng(seed), augmented=False)


def hits_of(piece: NotationPiece) -> list[Hit]:
    """The piece's strokes as a hit finder that heard everything would report them."""
    return [Hit(s.time, s.cls, 1.0, s.velocity) for s in piece.performance.strokes]


def true_bar_one(piece: NotationPiece) -> float:
    return piece.score.beats[piece.score.downbeat]
