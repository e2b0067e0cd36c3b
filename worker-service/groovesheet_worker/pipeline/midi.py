"""Write the drums as a General MIDI file (stage 7).

Timing: each note sits at its ORIGINAL hit time mapped through the beat grid, not at its quantized
slot. The first written beat is tick 0 (bar 1's downbeat, or the pickup's first beat) and every grid
beat is exactly one notated beat of ticks, so bars line up with the sheet music and a DAW's bar
ruler, while the drummer's feel inside each beat (a laid-back snare, swung hi-hats) survives for
playback. A pickup is a short first bar (its own time signature, then the song's at bar 1); the
tempo is the sheet's: the one written at bar 1, then each tempo change at its bar.

Each note is the instrument's General MIDI drum note (types.DRUM_KEY) and its note-on velocity is
the hit's loudness (``Hit.velocity``), never the finder's confidence. A hit finder that cannot
hear loudness leaves velocity None; those notes are all played at ``DEFAULT_VELOCITY``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import mido

from groovesheet_worker.pipeline.beat_grid import beat_index_at
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
    bar_one = grid.pickup_beats * ticks_per_beat
    timed: list[tuple[int, int, mido.Message]] = []
    for hit in placed:
        note = DRUM_KEY[hit.hit.instrument].gm
        beats = beat_index_at(grid, hit.hit.time) - grid.downbeat
        # The quantizer pulled hits before the first written beat onto it; so does the MIDI.
        start = max(0, bar_one + round(beats * ticks_per_beat))
        velocity = velocity_for(hit.hit.velocity)
        # Note-offs sort before note-ons at the same tick so a repeated note is never cut short.
        timed.append((start, 1, mido.Message("note_on", channel=DRUM_CHANNEL, note=note, velocity=velocity)))
        timed.append((start + NOTE_TICKS, 0, mido.Message("note_off", channel=DRUM_CHANNEL, note=note)))
    # Meta events (tempo, time signature) come first at their tick.
    timed += [(tick, -1, message) for tick, message in _meta_events(grid, ticks_per_beat)]
    timed.sort(key=lambda item: (item[0], item[1]))

    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name="Drums", time=0))
    now = 0
    for tick, _, message in timed:
        track.append(message.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    midi = mido.MidiFile(type=0, ticks_per_beat=TICKS_PER_QUARTER)
    midi.tracks.append(track)
    midi.save(str(path))


def _meta_events(grid: TempoGrid, ticks_per_beat: int) -> list[tuple[int, mido.MetaMessage]]:
    """Time signatures (a pickup's, then the song's) and tempos (bar 1's, then each change)."""
    bar_one = grid.pickup_beats * ticks_per_beat
    events: list[tuple[int, mido.MetaMessage]] = []
    if grid.pickup_beats:
        events.append(
            (0, mido.MetaMessage("time_signature", numerator=grid.pickup_beats, denominator=grid.beat_unit))
        )
    events.append(
        (
            bar_one,
            mido.MetaMessage("time_signature", numerator=grid.beats_per_bar, denominator=grid.beat_unit),
        )
    )
    events.append((0, _tempo_message(grid, grid.tempo_at_bar(1))))
    for change in grid.tempo_changes:
        if change.bar > 1:
            tick = bar_one + (change.bar - 1) * grid.beats_per_bar * ticks_per_beat
            events.append((tick, _tempo_message(grid, change.bpm)))
    return events


def _tempo_message(grid: TempoGrid, bpm: float) -> mido.MetaMessage:
    quarters_per_minute = bpm * grid.beats_per_pulse * 4 / grid.beat_unit
    return mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(quarters_per_minute))
