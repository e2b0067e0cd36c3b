"""Write the drums as a General MIDI file (stage 7).

Timing: each note sits at its ORIGINAL hit time mapped through the beat grid, not at its quantized
slot. Bar 1's downbeat is tick 0 and every grid beat is exactly one notated beat of ticks, so bars
line up with the sheet music and a DAW's bar ruler, while the drummer's feel inside each beat (a
laid-back snare, swung hi-hats) survives for playback. The file has one tempo, the grid's.

Each note is the instrument's General MIDI drum note (types.DRUM_KEY) and its note-on velocity is
the hit's loudness (``Hit.velocity``), never the finder's confidence. A hit finder that cannot
hear loudness leaves velocity None; those notes are all played at ``DEFAULT_VELOCITY``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import mido

from groovesheet_worker.pipeline.tempo import beat_index_at
from groovesheet_worker.pipeline.types import DRUM_KEY, PlacedHit, TempoGrid

TICKS_PER_QUARTER = 480
DRUM_CHANNEL = 9  # General MIDI channel 10, counted from 0 as mido does
LOWEST_VELOCITY, HIGHEST_VELOCITY = 1, 127
# Velocity for a hit of unknown loudness: one even level, the velocity drum editors enter by default.
DEFAULT_VELOCITY = 100
# Drum notes are one-shots; a 32nd note is long enough for any player and never overlaps a 16th.
NOTE_TICKS = TICKS_PER_QUARTER // 8


def velocity_for(velocity: int | None) -> int:
    """Note-on velocity for a hit's loudness: itself within 1..127, DEFAULT_VELOCITY when unknown."""
    if velocity is None:
        return DEFAULT_VELOCITY
    return min(max(int(velocity), LOWEST_VELOCITY), HIGHEST_VELOCITY)


def write_midi(placed: Sequence[PlacedHit], grid: TempoGrid, path: str | Path) -> None:
    """Write a type-0 MIDI file: tempo, time signature and the drum notes on channel 10."""
    ticks_per_beat = TICKS_PER_QUARTER * 4 // grid.beat_unit
    quarters_per_minute = grid.bpm * grid.beats_per_pulse * 4 / grid.beat_unit
    timed: list[tuple[int, int, mido.Message]] = []
    for hit in placed:
        note = DRUM_KEY[hit.hit.instrument].gm
        beats = beat_index_at(grid, hit.hit.time) - grid.downbeat
        # The quantizer pulled hits before bar 1 onto its downbeat; so does the MIDI.
        start = max(0, round(beats * ticks_per_beat))
        velocity = velocity_for(hit.hit.velocity)
        # Note-offs sort before note-ons at the same tick so a repeated note is never cut short.
        timed.append((start, 1, mido.Message("note_on", channel=DRUM_CHANNEL, note=note, velocity=velocity)))
        timed.append((start + NOTE_TICKS, 0, mido.Message("note_off", channel=DRUM_CHANNEL, note=note)))
    timed.sort(key=lambda item: (item[0], item[1]))

    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name="Drums", time=0))
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(quarters_per_minute), time=0))
    track.append(
        mido.MetaMessage("time_signature", numerator=grid.beats_per_bar, denominator=grid.beat_unit, time=0)
    )
    now = 0
    for tick, _, message in timed:
        track.append(message.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    midi = mido.MidiFile(type=0, ticks_per_beat=TICKS_PER_QUARTER)
    midi.tracks.append(track)
    midi.save(str(path))
