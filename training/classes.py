"""The drum classes the hit model hears, and how source note numbers map onto them.

The classes are the worker's instrument vocabulary (``groovesheet_worker.pipeline.types.INSTRUMENTS``),
so a model trained here writes exactly the notes the sheet knows.
"""

from __future__ import annotations

from groovesheet_worker.pipeline.types import INSTRUMENTS

CLASSES: tuple[str, ...] = INSTRUMENTS
CLASS_INDEX: dict[str, int] = {name: i for i, name in enumerate(CLASSES)}

# Groove MIDI Dataset notes (Roland TD-11 map, as the GMD paper documents it). 58 is the floor
# tom's rim, not a crash; 22/26 are the hi-hat's edge zones.
GMD_NOTES: dict[int, str] = {
    36: "kick",
    38: "snare",
    40: "snare",
    37: "cross_stick",
    42: "hihat_closed",
    22: "hihat_closed",
    46: "hihat_open",
    26: "hihat_open",
    44: "hihat_pedal",
    51: "ride",
    59: "ride",
    53: "ride_bell",
    49: "crash",
    55: "crash",
    57: "crash",
    52: "crash",
    48: "tom_high",
    50: "tom_high",
    45: "tom_mid",
    47: "tom_mid",
    43: "tom_floor",
    58: "tom_floor",
}

# General MIDI drum notes played from a SoundFont kit to get each class's one-shots.
GM_NOTES: dict[str, tuple[int, ...]] = {
    "kick": (35, 36),
    "snare": (38, 40),
    "cross_stick": (37,),
    "hihat_closed": (42,),
    "hihat_open": (46,),
    "hihat_pedal": (44,),
    "ride": (51, 59),
    "ride_bell": (53,),
    "crash": (49, 57, 52, 55),
    "tom_high": (50, 48),
    "tom_mid": (47, 45),
    "tom_floor": (43, 41),
}

# MuldjordKit manifest instruments (../shared/training/kits/muldjord/manifest.csv). Its fourth tom
# (tom_low, ~83 Hz) sits with the mid tom; the china is written as a crash.
MULDJORD_INSTRUMENTS: dict[str, str] = {
    "kick": "kick",
    "snare": "snare",
    "hihat_closed": "hihat_closed",
    "hihat_open": "hihat_open",
    "ride": "ride",
    "ride_bell": "ride_bell",
    "crash": "crash",
    "china": "crash",
    "tom_high": "tom_high",
    "tom_mid": "tom_mid",
    "tom_low": "tom_mid",
    "tom_floor": "tom_floor",
}
