"""A drum kit as the renderer sees it: for each class, one-shots at known velocities."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SAMPLE_RATE = 44_100


@dataclass(frozen=True)
class OneShot:
    """One recorded (or synthesised) stroke: mono float32 at SAMPLE_RATE, the stroke at sample 0."""

    audio: np.ndarray
    velocity: int


@dataclass
class Kit:
    """Named kit: ``shots[class]`` lists its one-shots (several velocities and round-robins)."""

    name: str
    licence: str
    shots: dict[str, list[OneShot]] = field(default_factory=dict)

    def add(self, cls: str, audio: np.ndarray, velocity: int) -> None:
        self.shots.setdefault(cls, []).append(OneShot(np.asarray(audio, dtype=np.float32), int(velocity)))

    def has(self, cls: str) -> bool:
        return bool(self.shots.get(cls))

    def pick(self, cls: str, velocity: int, rng: np.random.Generator) -> tuple[np.ndarray, float]:
        """A one-shot for ``velocity`` (nearest layer, random round-robin) and the gain to apply.

        The gain scales the layer to the asked velocity, taking amplitude as (velocity/127)^2 within
        a factor of 4 either way, so a soft stroke from a loud-only kit is still soft.
        """
        shots = self.shots[cls]
        layers = np.array([s.velocity for s in shots])
        nearest = np.flatnonzero(np.abs(layers - velocity) == np.abs(layers - velocity).min())
        shot = shots[int(rng.choice(nearest))]
        gain = float(np.clip((velocity / max(shot.velocity, 1)) ** 2, 0.25, 4.0))
        return shot.audio, gain
