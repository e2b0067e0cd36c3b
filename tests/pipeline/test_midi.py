"""The MIDI file read back with mido."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import mido
import pytest

from groovesheet_worker.pipeline.midi import DEFAULT_VELOCITY, TICKS_PER_QUARTER, velocity_for, write_midi
from groovesheet_worker.pipeline.quantize import place_hits
from groovesheet_worker.pipeline.types import INSTRUMENTS, Hit, TempoChange, TempoGrid

# General MIDI drum notes of NOTATION.md's drum key, in INSTRUMENTS order.
GM = dict(zip(INSTRUMENTS, (36, 38, 37, 42, 46, 44, 51, 53, 49, 50, 47, 43), strict=True))


def grid_for(bpm: float = 100.0, beats_per_bar: int = 4, beat_unit: int = 4, start: float = 0.3) -> TempoGrid:
    beat = 60.0 / bpm / (3 if beat_unit == 8 and beats_per_bar % 3 == 0 else 1)
    beats = tuple(start + (i - 4) * beat for i in range(48))
    return TempoGrid(bpm=bpm, beats=beats, downbeat=4, beats_per_bar=beats_per_bar, beat_unit=beat_unit)


def read(path: Path) -> tuple[list[tuple[int, mido.Message]], list[mido.MetaMessage]]:
    midi = mido.MidiFile(path)
    notes, metas, now = [], [], 0
    for message in mido.merge_tracks(midi.tracks):
        now += message.time
        if message.is_meta:
            metas.append(message)
        elif message.type == "note_on" and message.velocity > 0:
            notes.append((now, message))
    return notes, metas


def test_drums_on_channel_ten_with_gm_numbers_tempo_and_meter(tmp_path: Path) -> None:
    grid = grid_for()
    beat = 0.6
    hits = [
        Hit(0.3, "kick", 1.0, 127),
        Hit(0.3, "crash", 0.9, 110),
        Hit(0.3 + beat, "snare", 0.5, 64),
        Hit(0.3 + 1.5 * beat, "hihat_closed", 0.0, 41),
    ]
    hits += [Hit(0.3 + 2 * beat, "ride", 0.7, 90), Hit(0.3 + 3 * beat, "tom_mid", 0.7, 100)]
    write_midi(place_hits(hits, grid), grid, tmp_path / "out.mid")
    notes, metas = read(tmp_path / "out.mid")
    assert {m.channel for _, m in notes} == {9}
    assert sorted((t, m.note) for t, m in notes) == [
        (0, 36),
        (0, 49),
        (480, 38),
        (720, 42),
        (960, 51),
        (1440, 47),
    ]
    tempo = next(m for m in metas if m.type == "set_tempo")
    assert mido.tempo2bpm(tempo.tempo) == pytest.approx(100.0, abs=0.01)
    meter = next(m for m in metas if m.type == "time_signature")
    assert (meter.numerator, meter.denominator) == (4, 4)
    # Note-on velocity is the stroke's loudness, not the finder's confidence.
    velocities = {m.note: m.velocity for _, m in notes}
    assert velocities == {36: 127, 49: 110, 38: 64, 42: 41, 51: 90, 47: 100}


def test_every_instrument_plays_its_general_midi_note(tmp_path: Path) -> None:
    grid = grid_for()
    hits = [Hit(0.3 + k * 0.3, name, 0.9, 20 + 8 * k) for k, name in enumerate(INSTRUMENTS)]
    write_midi(place_hits(hits, grid), grid, tmp_path / "kit.mid")
    notes, _ = read(tmp_path / "kit.mid")
    assert [(m.note, m.velocity) for _, m in notes] == [
        (GM[name], 20 + 8 * k) for k, name in enumerate(INSTRUMENTS)
    ]
    assert len(set(GM.values())) == 12


def test_unknown_loudness_plays_at_one_default_velocity(tmp_path: Path) -> None:
    """The AnNOTEator finder hears no loudness: sure and unsure hits sound the same."""
    grid = grid_for()
    hits = [Hit(0.3, "kick", 1.0), Hit(0.9, "snare", 0.05), Hit(1.2, "snare", 0.99, 30)]
    write_midi(place_hits(hits, grid), grid, tmp_path / "flat.mid")
    notes, _ = read(tmp_path / "flat.mid")
    assert [m.velocity for _, m in notes] == [DEFAULT_VELOCITY, DEFAULT_VELOCITY, 30]


def test_notes_keep_the_players_timing_inside_the_beat(tmp_path: Path) -> None:
    """MIDI holds the original time mapped through the grid, not the quantized slot."""
    grid = grid_for()
    laid_back = Hit(0.3 + 0.6 + 0.03, "snare", 0.8)  # 30 ms behind beat 2 = 24 ticks at 100 BPM
    write_midi(place_hits([laid_back], grid), grid, tmp_path / "late.mid")
    notes, _ = read(tmp_path / "late.mid")
    assert notes[0][0] == TICKS_PER_QUARTER + 24


def test_every_note_is_released_and_repeats_are_not_cut(tmp_path: Path) -> None:
    grid = grid_for()
    hits = [Hit(0.3 + k * 0.15, "hihat_closed", 0.6, 80) for k in range(16)]
    write_midi(place_hits(hits, grid), grid, tmp_path / "hats.mid")
    midi = mido.MidiFile(tmp_path / "hats.mid")
    ons = offs = 0
    sounding = 0
    for message in midi.tracks[0]:
        if message.type == "note_on" and message.velocity > 0:
            assert sounding == 0  # the previous hi-hat was released first
            sounding += 1
            ons += 1
        elif message.type == "note_off" or (message.type == "note_on" and message.velocity == 0):
            sounding -= 1
            offs += 1
    assert ons == offs == 16


def test_six_eight_tempo_is_in_quarters(tmp_path: Path) -> None:
    grid = grid_for(bpm=60.0, beats_per_bar=6, beat_unit=8)  # dotted quarter 60 = quarter 90
    write_midi(place_hits([Hit(0.3, "kick", 0.8)], grid), grid, tmp_path / "68.mid")
    _, metas = read(tmp_path / "68.mid")
    assert mido.tempo2bpm(next(m for m in metas if m.type == "set_tempo").tempo) == pytest.approx(
        90.0, abs=0.01
    )
    meter = next(m for m in metas if m.type == "time_signature")
    assert (meter.numerator, meter.denominator) == (6, 8)


def test_velocity_range() -> None:
    assert velocity_for(None) == DEFAULT_VELOCITY == 100
    assert velocity_for(1) == 1 and velocity_for(64) == 64 and velocity_for(127) == 127
    # Out-of-range values from a hit finder are clamped, never written as an invalid MIDI byte.
    assert velocity_for(0) == 1 and velocity_for(-3) == 1 and velocity_for(200) == 127


def test_a_pickup_is_a_short_first_bar_and_bar_one_keeps_its_ticks(tmp_path: Path) -> None:
    grid = replace(grid_for(), pickup_beats=1)
    beat = 0.6
    hits = [Hit(0.3 - beat, "snare", 0.9, 90), Hit(0.3, "kick", 0.9, 100), Hit(0.3 + beat, "snare", 0.9, 100)]
    write_midi(place_hits(hits, grid), grid, tmp_path / "pickup.mid")
    notes, metas = read(tmp_path / "pickup.mid")
    assert sorted((t, m.note) for t, m in notes) == [(0, 38), (480, 36), (960, 38)]
    signatures = [(m.numerator, m.denominator) for m in metas if m.type == "time_signature"]
    assert signatures == [(1, 4), (4, 4)]


def test_tempo_changes_are_set_at_their_bars(tmp_path: Path) -> None:
    grid = replace(grid_for(), tempo_changes=(TempoChange(3, 110.0),))
    write_midi(place_hits([Hit(0.3, "kick", 0.9, 100)], grid), grid, tmp_path / "tempo.mid")
    midi = mido.MidiFile(tmp_path / "tempo.mid")
    now, tempos = 0, []
    for message in mido.merge_tracks(midi.tracks):
        now += message.time
        if message.type == "set_tempo":
            tempos.append((now, round(mido.tempo2bpm(message.tempo), 2)))
    assert tempos == [(0, 100.0), (2 * 4 * TICKS_PER_QUARTER, 110.0)]
