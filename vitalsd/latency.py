"""A cumulative latency histogram an output can keep without depending on a metrics library."""

from __future__ import annotations

import bisect
from dataclasses import dataclass

# Seconds; MLLP ACKs on a LAN take milliseconds, a struggling engine seconds.
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True, slots=True)
class LatencySnapshot:
    buckets: tuple[tuple[float, int], ...]  # (upper bound, cumulative count), +Inf last
    total: float
    count: int


class LatencyHistogram:
    def __init__(self, buckets: tuple[float, ...] = DEFAULT_BUCKETS) -> None:
        self._bounds = buckets
        self._counts = [0] * (len(buckets) + 1)  # the last one is +Inf
        self._sum = 0.0

    def observe(self, seconds: float) -> None:
        self._counts[bisect.bisect_left(self._bounds, seconds)] += 1
        self._sum += seconds

    def snapshot(self) -> LatencySnapshot:
        cumulative, running = [], 0
        for bound, n in zip((*self._bounds, float("inf")), self._counts, strict=True):
            running += n
            cumulative.append((bound, running))
        return LatencySnapshot(tuple(cumulative), self._sum, running)
