"""Exponential backoff with full jitter, so a room of devices does not retry in step."""

from __future__ import annotations

import random


class Backoff:
    """Delays of ``uniform(0, min(maximum, initial * 2**n))``; ``reset()`` after success."""

    def __init__(self, initial: float = 0.5, maximum: float = 30.0) -> None:
        if not 0 < initial <= maximum:
            raise ValueError("backoff needs 0 < initial <= maximum")
        self.initial = initial
        self.maximum = maximum
        self.attempts = 0
        self._rng = random.Random()  # noqa: S311 - jitter, not cryptography

    def next_delay(self) -> float:
        ceiling = min(self.maximum, self.initial * (2 ** min(self.attempts, 30)))
        self.attempts += 1
        # Never below a tenth of the floor: a zero delay would spin on a dead port.
        return max(self.initial / 10, self._rng.uniform(0, ceiling))

    def reset(self) -> None:
        self.attempts = 0
