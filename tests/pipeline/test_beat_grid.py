"""The beat grid stage end to end, on short generated pieces in every meter: tempo, time signature,
bar 1, pickup, tempo changes, and the uploader's hints winning over every estimate."""

from __future__ import annotations

import numpy as np
import pytest

from groovesheet_shared.errors import TranscriptionError
from groovesheet_worker.pipeline.beat_grid import beat_index_at, estimate_tempo_grid, offered_alternative_bpm
from groovesheet_worker.pipeline.quantize import place_hits
from groovesheet_worker.pipeline.time_signature import Meter
from groovesheet_worker.pipeline.types import Hit, TempoGrid
from tests.pipeline.generated_music import SR, audio_of, groove_piece, hits_of, true_bar_one
from training import notation_pieces
from training.notation_pieces import NotationPiece


def read(piece: NotationPiece, bpm: float | None = None, time_signature: str | None = None) -> TempoGrid:
    return estimate_tempo_grid(audio_of(piece), SR, hits_of(piece), bpm, time_signature)


def assert_bar_one(grid: TempoGrid, piece: NotationPiece) -> None:
    beat = 60.0 / piece.score.bpm / (3 if piece.score.time_signature in ("6/8", "12/8") else 1)
    assert grid.beats[grid.downbeat] == pytest.approx(true_bar_one(piece), abs=0.15 * beat)


@pytest.mark.parametrize(
    ("style", "seed"),
    [
        ("rock", 1),
        ("polka", 2),
        ("samba", 3),
        ("waltz", 4),
        ("jazz waltz", 5),
        ("rock 5/4", 6),
        ("6/8", 7),
        ("7/8", 8),
        ("12/8 ballad", 9),
        ("shuffle", 10),
        ("jazz ride", 11),
        ("half time", 12),
    ],
)
def test_each_meter_is_read_without_hints(style: str, seed: int) -> None:
    piece = groove_piece(style, seed)
    grid = read(piece)
    # An alternative, when offered, is another level of the written tempo, in the same unit.
    if grid.alternative_bpm is not None:
        ratios = (2.0, 0.5, 3.0, 1 / 3, 1.5, 2 / 3)
        assert min(abs(grid.alternative_bpm / grid.bpm / r - 1.0) for r in ratios) < 0.01
    assert grid.time_signature == piece.score.time_signature
    assert grid.bpm == pytest.approx(piece.score.bpm, rel=0.04)
    assert_bar_one(grid, piece)


@pytest.mark.parametrize(
    ("style", "bpm"), [("slow ballad", 42.0), ("slow ballad", 48.0), ("fast punk", 240.0)]
)
def test_tempos_at_both_ends_of_the_range(style: str, bpm: float) -> None:
    """42 bpm with 16th hi-hats is not doubled; 240 with the snare on 2 and 4 is not halved."""
    piece = groove_piece(style, 21, bpm=bpm)
    grid = read(piece)
    assert grid.bpm == pytest.approx(bpm, rel=0.04)
    assert grid.time_signature == "4/4"
    assert_bar_one(grid, piece)


def test_a_pickup_becomes_a_pickup_bar() -> None:
    piece = groove_piece("rock", 31, pickup=True)
    assert piece.score.pickup_beats > 0
    grid = read(piece)
    assert grid.pickup_beats == piece.score.pickup_beats
    assert_bar_one(grid, piece)
    placed = place_hits(hits_of(piece), grid)
    pickup = [p for p in placed if p.hit.time < true_bar_one(piece) - 0.05]
    assert pickup and {p.bar for p in pickup} == {0}
    first_beat = grid.beats_per_bar - grid.pickup_beats + 1
    assert min(p.beat for p in pickup) == first_beat


def test_a_compound_pickup_is_one_pulse() -> None:
    piece = groove_piece("6/8", 32, pickup=True)
    grid = read(piece)
    assert (grid.time_signature, grid.pickup_beats) == ("6/8", 3)
    assert_bar_one(grid, piece)


def test_a_section_that_moves_gets_a_tempo_change() -> None:
    piece = groove_piece("rock", 41, bpm=100.0, drift=True)
    beats = np.diff(piece.score.beats)
    later = 60.0 / float(np.median(beats[-8:]))
    assert abs(later / 100.0 - 1.0) > 0.05
    grid = read(piece)
    assert grid.bpm == pytest.approx(100.0, rel=0.04)
    assert len(grid.tempo_changes) == 1
    change = grid.tempo_changes[0]
    assert change.bpm == pytest.approx(later, rel=0.03)
    # The grid follows the drummer: every stroke of the faster section still lands on its 16th.
    for hit in hits_of(piece)[-20:]:
        position = beat_index_at(grid, hit.time) * 4
        assert abs(position - round(position)) < 0.25


def test_a_section_a_quarter_slower_gets_its_tempo_and_its_notes_on_the_grid(monkeypatch) -> None:
    monkeypatch.setattr(notation_pieces, "DRIFT_RANGE", (0.25, 0.25))
    piece = groove_piece("rock", 2, drift=True)
    later = 60.0 / float(np.median(np.diff(piece.score.beats)[-8:]))
    grid = read(piece)
    assert grid.bpm == pytest.approx(piece.score.bpm, rel=0.04)
    assert [c.bpm for c in grid.tempo_changes] == [pytest.approx(later, rel=0.03)]
    for hit in hits_of(piece)[-20:]:
        position = beat_index_at(grid, hit.time) * 4
        assert abs(position - round(position)) < 0.25


def test_a_steady_piece_gets_no_tempo_change() -> None:
    grid = read(groove_piece("rock", 42, bpm=126.0))
    assert grid.tempo_changes == ()


def test_a_polka_offers_its_backbeat_reading_and_a_rock_groove_none() -> None:
    """A polka (kick on the beats, snare on the "and"s) reads almost as well as a backbeat at twice
    its tempo: the sheet is written in 2/4 and the double tempo offered; a rock groove is not ambiguous."""
    polka = read(groove_piece("polka", 2))
    assert polka.time_signature == "2/4"
    assert polka.alternative_bpm == pytest.approx(2 * polka.bpm, rel=0.01)
    assert read(groove_piece("rock", 1)).alternative_bpm is None
    assert read(groove_piece("polka", 2), bpm=110.0).alternative_bpm is None


def test_a_polka_read_as_a_backbeat_at_twice_its_tempo_is_written_in_eighths() -> None:
    """At 232 every stroke of a polka at 116 is a quarter, the kick on 1 and 3 and the snare on 2 and
    4, and the score preferred that; a drummer charts it in 8ths at 116, in 2/4, with 232 offered."""
    grid = read(groove_piece("polka", 1, bpm=116.0))
    assert grid.bpm == pytest.approx(116.0, rel=0.02)
    assert grid.time_signature == "2/4"
    assert grid.alternative_bpm == pytest.approx(232.0, rel=0.02)


def test_a_fast_punk_beat_with_the_kick_on_every_quarter_keeps_its_tempo() -> None:
    grid = read(groove_piece("fast punk", 1, bpm=210.0))
    assert grid.bpm == pytest.approx(210.0, rel=0.02)
    assert grid.time_signature == "4/4"


@pytest.mark.parametrize(
    ("style", "bpm"), [("jazz ride", 72.0), ("shuffle", 84.0), ("12/8 ballad", 90.0), ("6/8", 80.0)]
)
def test_a_slow_swing_is_written_in_four_and_a_slow_compound_groove_in_eighths(
    style: str, bpm: float
) -> None:
    """A pulse divided in three below COMPOUND_MAX_PULSE_BPM: a jazz ride or a shuffle skips the
    middle triplet (4/4 with triplets, not 6/8 or 12/8), a 12/8 or 6/8 groove's cymbal plays all three."""
    piece = groove_piece(style, 3, bpm=bpm)
    grid = read(piece)
    assert grid.time_signature == piece.score.time_signature
    assert grid.bpm == pytest.approx(bpm, rel=0.02)


def test_only_a_tempo_the_uploader_can_ask_for_is_offered() -> None:
    four_four, seven_eight, six_eight = Meter(4, 4), Meter(7, 8), Meter(6, 8)
    assert offered_alternative_bpm(120.0, 2.0, four_four) == 240.0
    assert offered_alternative_bpm(150.0, 2.0, four_four) is None  # 300 is beyond TEMPO_RANGE
    assert offered_alternative_bpm(50.0, 0.5, four_four) is None  # and 25 below it
    assert offered_alternative_bpm(231.0, 0.5, seven_eight) is None  # eighths written, pulses tracked
    assert offered_alternative_bpm(60.0, 2.0, six_eight) == 120.0
    assert offered_alternative_bpm(120.0, None, four_four) is None


def test_bpm_hint_wins_over_the_estimate() -> None:
    """Played at 120, uploaded as 60: the sheet is written at 60, its beats still on the music."""
    piece = groove_piece("rock", 51, bpm=120.0)
    grid = read(piece, bpm=60.0)
    assert grid.bpm == 60.0
    assert grid.alternative_bpm is None  # the uploader's tempo is not second-guessed
    assert np.median(np.diff(grid.beats)) == pytest.approx(1.0, rel=0.01)
    offsets = [
        abs(beat_index_at(grid, h.time) * 4 - round(beat_index_at(grid, h.time) * 4)) for h in hits_of(piece)
    ]
    assert np.median(offsets) < 0.1


def test_time_signature_hint_wins_over_the_estimate() -> None:
    piece = groove_piece("rock", 52, bpm=110.0)
    grid = read(piece, time_signature="2/4")
    assert (grid.beats_per_bar, grid.beat_unit) == (2, 4)
    grid = read(groove_piece("waltz", 53), time_signature="6/8")
    assert grid.time_signature == "6/8"


def test_both_hints_give_the_true_grid() -> None:
    piece = groove_piece("12/8 ballad", 54)
    grid = read(piece, bpm=round(piece.score.bpm, 2), time_signature="12/8")
    assert grid.time_signature == "12/8"
    assert grid.bpm == round(piece.score.bpm, 2)
    assert_bar_one(grid, piece)


def test_seven_eight_hint_counts_eighths() -> None:
    piece = groove_piece("7/8", 55, bpm=240.0)
    grid = read(piece, bpm=240.0, time_signature="7/8")
    assert grid.bpm == 240.0
    assert np.median(np.diff(grid.beats)) == pytest.approx(0.25, rel=0.02)
    assert_bar_one(grid, piece)


def test_silence_still_gives_a_grid() -> None:
    grid = estimate_tempo_grid(np.zeros(SR * 3, dtype=np.float32), SR, [], None, None)
    assert grid.bpm == pytest.approx(120.0)
    assert grid.beats[-1] >= 3.0
    assert 0 <= grid.downbeat < len(grid.beats)
    assert grid.time_signature == "4/4"


def test_a_few_hits_in_silence_are_covered() -> None:
    hits = [Hit(1.0, "snare", 0.7), Hit(2.5, "kick", 0.7)]
    grid = estimate_tempo_grid(np.zeros(SR * 3, dtype=np.float32), SR, hits, None, "3/4")
    assert grid.beats[0] <= 1.0 and grid.beats[-1] >= 2.5
    assert grid.beats[grid.downbeat - grid.pickup_beats] <= 1.0 + 1e-6


def test_hits_alone_carry_the_tempo_when_audio_is_empty() -> None:
    piece = groove_piece("rock", 56, bpm=128.0)
    grid = estimate_tempo_grid(np.zeros(0, dtype=np.float32), SR, hits_of(piece), None, None)
    assert grid.bpm == pytest.approx(128.0, rel=0.04)


@pytest.mark.parametrize("text", ["4/3", "waltz", "0/4", "4"])
def test_bad_time_signature_is_a_typed_error(text: str) -> None:
    with pytest.raises(TranscriptionError) as caught:
        estimate_tempo_grid(np.zeros(SR, dtype=np.float32), SR, [], None, text)
    assert caught.value.code == "invalid_time_signature"


def test_implausible_bpm_hint_is_a_typed_error() -> None:
    with pytest.raises(TranscriptionError) as caught:
        estimate_tempo_grid(np.zeros(SR, dtype=np.float32), SR, [], 5.0, None)
    assert caught.value.code == "invalid_bpm"
