"""Report batching: a streaming oximeter's per-line groups still make one summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hl7.batching import ReportBatcher
from vitalsd.model import (
    DeviceIdentity,
    DeviceKind,
    Location,
    Measurement,
    Metric,
    Observation,
    Unit,
)
from vitalsd.normalize import DeviceProfile, NormalizationPolicy, Normalizer

OX = DeviceProfile("exam1-ox", "masimo_ascii1", DeviceKind.PULSE_OXIMETER, Location(room="1"), UTC)


def line(n: int, normalizer: Normalizer) -> list[Observation]:
    """One Rad-8 line's worth: SpO2 and pulse sharing the line's group, as the driver does."""
    t = datetime(2026, 11, 27, 9, 0) + timedelta(seconds=n)
    group = t.strftime("%Y%m%d%H%M%S")
    out = []
    for metric, value, unit in (
        (Metric.SPO2, 95 + n % 3, Unit.PERCENT),
        (Metric.PULSE_RATE_OXIMETER, 70 + n, Unit.PER_MIN),
    ):
        obs = normalizer.normalize(
            OX,
            DeviceIdentity(),
            Measurement(metric, Decimal(value), unit, t, group=group),
            datetime.now(UTC),
        )
        assert obs is not None
        out.append(obs)
    return out


def test_streaming_oximeter_lines_make_one_summary_per_interval() -> None:
    n = Normalizer(NormalizationPolicy(max_clock_skew=None))
    b = ReportBatcher(summary_interval=60.0, group_window=2.0)
    reports = []
    for i in range(30):  # 30 one-second lines
        for obs in line(i, n):
            reports += b.add(obs, now=float(i))
    reports += b.due(59.0)
    assert reports == []  # nothing before the interval closes
    (summary,) = b.due(60.0)
    assert {o.metric: o.value for o in summary} == {
        Metric.SPO2: Decimal(95 + 29 % 3),
        Metric.PULSE_RATE_OXIMETER: Decimal(70 + 29),
    }  # the latest value of each metric
