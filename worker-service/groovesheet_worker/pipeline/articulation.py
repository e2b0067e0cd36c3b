"""How each stroke is played: one articulation per hit, shared by the sheet and events.json.

Articulations (``ARTICULATIONS``), one per stroke:

- ``"open"``: an open hi-hat (``hihat_open``); ``"pedal"``: a hi-hat played with the foot
  (``hihat_pedal``). These come from the instrument and win over the loudness marks below: an
  open hi-hat is never also marked ghost or accent (its loudness is still in ``velocity``).
- ``"ghost"``: a stroke played far softer than the drum's main strokes, written in parentheses.
  Only drums (kick, snare, cross-stick, toms), never cymbals or hi-hats. A snare or cross-stick
  below ``GHOST_VELOCITY`` is a ghost note (shared/docs/NOTATION.md); any of those drums is one
  when it is at most ``GHOST_RATIO`` of the median of the bar's other strokes of that drum and
  below ``GHOST_CEILING`` (a feathered kick under full kicks).
- ``"accent"``: clearly louder than the bar's other strokes of that instrument: at least
  ``ACCENT_MARGIN`` velocity above the upper quartile of the others (ghost notes left out), so an
  accent stands out from the groove and a drummer's naturally louder downbeats do not.
- ``"normal"``: everything else, and every stroke whose velocity is unknown (``Hit.velocity`` None):
  without loudness nothing is marked.

"The bar's other strokes" are the strokes of the same instrument in the same bar; a stroke alone
in its bar is compared with nothing, so only the absolute snare rule can make it a ghost note.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from groovesheet_worker.pipeline.types import Hit

NORMAL, GHOST, ACCENT, OPEN, PEDAL = "normal", "ghost", "accent", "open", "pedal"
ARTICULATIONS: tuple[str, ...] = (NORMAL, GHOST, ACCENT, OPEN, PEDAL)

# Articulations that are the instrument itself.
BY_INSTRUMENT: dict[str, str] = {"hihat_open": OPEN, "hihat_pedal": PEDAL}
# Drums that can be played as ghost notes; the absolute rule is for the snare family only.
GHOST_DRUMS = frozenset({"kick", "snare", "cross_stick", "tom_high", "tom_mid", "tom_floor"})
SNARE_FAMILY = frozenset({"snare", "cross_stick"})
GHOST_VELOCITY = 50
GHOST_RATIO = 0.5
GHOST_CEILING = 64
ACCENT_MARGIN = 20


def articulations(strokes: Sequence[tuple[int, Hit]]) -> list[str]:
    """The articulation of each ``(bar, hit)``, in the order given, each judged against its bar."""
    groups: dict[tuple[int, str], list[int]] = {}
    for index, (bar, hit) in enumerate(strokes):
        groups.setdefault((bar, hit.instrument), []).append(index)
    result = [NORMAL] * len(strokes)
    for (_, instrument), members in groups.items():
        velocities = [strokes[i][1].velocity for i in members]
        for i, articulation in zip(members, _group(instrument, velocities), strict=True):
            result[i] = articulation
    return result


def articulation_among(hit: Hit, bar_strokes: Sequence[Hit]) -> str:
    """One stroke's articulation against the given strokes of its bar (any instruments; ``hit``
    itself may be among them). For a hit that is not on the sheet, judged against those that are."""
    same = [h for h in bar_strokes if h.instrument == hit.instrument and h is not hit]
    return _group(hit.instrument, [hit.velocity, *(h.velocity for h in same)])[0]


def _group(instrument: str, velocities: Sequence[int | None]) -> list[str]:
    """Articulations of one instrument's strokes in one bar."""
    if instrument in BY_INSTRUMENT:
        return [BY_INSTRUMENT[instrument]] * len(velocities)
    known = [(i, v) for i, v in enumerate(velocities) if v is not None]
    ghosts = {i for i, v in known if _is_ghost(instrument, v, [w for j, w in known if j != i])}
    result = [NORMAL] * len(velocities)
    for i, v in known:
        if i in ghosts:
            result[i] = GHOST
            continue
        loud_others = [w for j, w in known if j != i and j not in ghosts]
        if loud_others and v >= _upper_quartile(loud_others) + ACCENT_MARGIN:
            result[i] = ACCENT
    return result


def _is_ghost(instrument: str, velocity: int, others: list[int]) -> bool:
    if instrument not in GHOST_DRUMS:
        return False
    if instrument in SNARE_FAMILY and velocity < GHOST_VELOCITY:
        return True
    return bool(others) and velocity < GHOST_CEILING and velocity <= GHOST_RATIO * statistics.median(others)


def _upper_quartile(values: list[int]) -> float:
    if len(values) == 1:
        return float(values[0])
    return statistics.quantiles(values, n=4, method="inclusive")[2]
