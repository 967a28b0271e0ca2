"""The one shape of a device's "conditions" event, shared by every driver."""

from __future__ import annotations

from collections.abc import Set
from datetime import datetime

from vitalsd.model import Condition, DeviceEvent, EventSeverity


def conditions_event(
    conditions: frozenset[Condition],
    *,
    invalidating: Set[Condition],
    device_time: datetime | None = None,
    device_code: str | None = None,
) -> DeviceEvent:
    """The complete set of conditions now in force; empty means "all clear".

    WARNING when any condition the driver names as ``invalidating`` (one under which it
    withholds values) is set, so a sensor taken off stands out from a low-perfusion note.
    """
    if not conditions:
        return DeviceEvent(
            "conditions",
            "all clear",
            EventSeverity.INFO,
            conditions,
            device_code=device_code,
            device_time=device_time,
        )
    text = ", ".join(sorted(c.value.replace("_", " ") for c in conditions))
    severity = EventSeverity.WARNING if conditions & invalidating else EventSeverity.INFO
    return DeviceEvent("conditions", text, severity, conditions, device_code, device_time)
