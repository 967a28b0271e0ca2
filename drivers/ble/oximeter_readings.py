"""What every streaming BLE oximeter decoder reports: live SpO2, pulse and PI readings,
and a conditions event whenever the device's state changes.

Live stream values carry no device time and are never stored records. A value a device
marks as invalid never reaches these helpers: decoders pass None instead.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from vitalsd.conditions import conditions_event
from vitalsd.model import Condition, DriverReport, Flag, Measurement, Metric, Unit

# Under these the numbers on the device's screen are dashes: report none.
INVALIDATING = frozenset(
    {Condition.NO_SENSOR, Condition.SENSOR_OFF, Condition.PULSE_SEARCH, Condition.SENSOR_FAULT}
)


def live_readings(
    spo2: int | None,
    pulse: int | None,
    perfusion: Decimal | None = None,
    *,
    flags: frozenset[Flag] = frozenset(),
) -> list[DriverReport]:
    """One frame's values as measurements sharing a group."""
    group = uuid.uuid4().hex
    out: list[DriverReport] = []
    if spo2 is not None:
        out.append(Measurement(Metric.SPO2, Decimal(spo2), Unit.PERCENT, None, flags, group))
    if pulse is not None:
        out.append(
            Measurement(
                Metric.PULSE_RATE_OXIMETER, Decimal(pulse), Unit.PER_MIN, None, flags, group
            )
        )
    if perfusion is not None and out:
        out.append(Measurement(Metric.PERFUSION_INDEX, perfusion, Unit.PERCENT, None, flags, group))
    return out


def paired_readings(
    spo2: int | None,
    pulse: int | None,
    perfusion: Decimal | None = None,
    *,
    flags: frozenset[Flag] = frozenset(),
) -> list[DriverReport]:
    """``live_readings`` of a frame with both SpO2 and pulse, else none: half a reading
    is the device still acquiring, and charting the half that is there would show a
    number the device itself does not display yet."""
    if spo2 is None or pulse is None:
        return []
    return live_readings(spo2, pulse, perfusion, flags=flags)


class ConditionsTracker:
    """Emits the conditions event only when the set in force changes."""

    def __init__(self) -> None:
        self._now: frozenset[Condition] | None = None

    def update(self, conditions: frozenset[Condition]) -> list[DriverReport]:
        if conditions == self._now:
            return []
        self._now = conditions
        return [conditions_event(conditions, invalidating=INVALIDATING)]

    @property
    def invalidated(self) -> bool:
        return bool(self._now and self._now & INVALIDATING)
