"""Time signatures: parsing the uploader's, and what each means for beats and pulses."""

from __future__ import annotations

from dataclasses import dataclass

from groovesheet_shared.errors import TranscriptionError

DEFAULT_TIME_SIGNATURE = "4/4"


@dataclass(frozen=True)
class Meter:
    """A time signature and the pulse a drummer counts in it.

    A beat is one ``beat_unit`` note. The counted pulse is the quarter in x/4, the dotted quarter
    (three eighths) in 6/8, 9/8 and 12/8, and the eighth in other x/8 meters (7/8).
    """

    beats_per_bar: int
    beat_unit: int

    @property
    def time_signature(self) -> str:
        return f"{self.beats_per_bar}/{self.beat_unit}"

    @property
    def is_compound(self) -> bool:
        """6/8, 9/8, 12/8: felt in dotted quarters, three eighths each."""
        return self.beat_unit == 8 and self.beats_per_bar % 3 == 0 and self.beats_per_bar >= 6

    @property
    def counts_eighths(self) -> bool:
        """7/8, 5/8 ...: the counted pulse (and the written tempo) is the eighth, not the quarter."""
        return self.beat_unit == 8 and not self.is_compound

    @property
    def beats_per_pulse(self) -> int:
        return 3 if self.is_compound else 1

    @property
    def pulses_per_bar(self) -> int:
        return self.beats_per_bar // self.beats_per_pulse


def parse_time_signature(time_signature: str | None) -> Meter:
    """'4/4', '3/4', '6/8', '2/4', '5/4', '7/8', '12/8' ... into a Meter; None gives 4/4.

    Only for a time signature someone chose: without the uploader's, ``beat_grid`` never calls this
    and reads the meter from the music (``meter.choose_meter``).
    """
    text = (time_signature or DEFAULT_TIME_SIGNATURE).strip()
    try:
        top, bottom = (int(part) for part in text.split("/"))
    except ValueError:
        top, bottom = 0, 0
    if bottom not in (4, 8) or not 1 <= top <= 16:
        raise TranscriptionError(
            f"Time signature {text!r} is not supported: use one like 4/4, 3/4, 2/4, 5/4, 6/8, 7/8 or 12/8.",
            code="invalid_time_signature",
        )
    return Meter(top, bottom)
