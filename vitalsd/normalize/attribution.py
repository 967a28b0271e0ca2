"""Attribution: does this reading belong to the patient associated right now?

A reading on the wrong patient is a clinical incident; a reading without a patient is
filed by the EHR's device-data validation. So when in doubt, no patient. The rules:

- No association in force: unassociated (plain; no reason needed).
- A reading whose device time lies before the association began (a stored record from
  a cuff's memory, a BLE RACP download, or a late live reading) is never attributed:
  it goes out unassociated, or is held when the site says ``stale_records = "hold"``.
- A stored record without a device time cannot be placed in time: never attributed.
- A stored record dated after it was received comes from a clock running ahead, so its
  time cannot show it was taken after the association began: never attributed.
- A live reading whose device clock is unset or skewed beyond the bound is attributed by
  receive time only where the site allows it (``allow_receive_time``).
- A live reading from a device that sends no clock at all (streaming serial oximeters)
  is current by nature: its receive time is after the association began.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from vitalsd.model import Association, Context, Flag, Location

# Reasons, as they appear in Context.unassociated_reason (and MQTT, logs, HL7 NTE).
BEFORE_ASSOCIATION = "reading taken before the association began"
STORED_WITHOUT_TIME = "stored record without a device time"
CLOCK_UNSET = "device clock unset"
CLOCK_SKEW = "device clock differs from receive time beyond the bound"
CLOCK_AHEAD = "stored record dated after it was received (device clock ahead)"

# A record from memory cannot be younger than its arrival; a minute covers clocks that
# show whole minutes and a cuff that finished measuring as it connected.
_STORED_AHEAD_TOLERANCE = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Attribution:
    context: Context
    hold: bool = False  # stale, and the site holds stale readings instead of sending them
    time: datetime | None = None  # the time the decision was made on (picks the age band)


def attribute(
    association: Association | None,
    location: Location,
    *,
    device_time: datetime | None,
    received: datetime,
    flags: frozenset[Flag] | set[Flag],
    stored: bool,
    hold_stale: bool,
    allow_receive_time: bool,
) -> Attribution:
    if association is None:
        return Attribution(Context(location=location), time=device_time or received)

    def unassociated(reason: str, *, stale: bool) -> Attribution:
        return Attribution(
            Context(location=location, unassociated_reason=reason),
            hold=stale and hold_stale,
            time=device_time or received,
        )

    clock_bad = Flag.CLOCK_UNSET in flags or Flag.CLOCK_SKEW in flags
    if stored:
        # Receive time says nothing about when a record from memory was taken.
        if device_time is None or Flag.CLOCK_UNSET in flags:
            return unassociated(STORED_WITHOUT_TIME, stale=True)
        if device_time > received + _STORED_AHEAD_TOLERANCE:
            # A clock ahead could make an old record look newer than the association.
            return unassociated(CLOCK_AHEAD, stale=True)
        if device_time < association.since:
            return unassociated(BEFORE_ASSOCIATION, stale=True)
        return Attribution(_attributed(association, location), time=device_time)
    if device_time is None:
        return Attribution(_attributed(association, location), time=received)
    if clock_bad:
        if not allow_receive_time:
            reason = CLOCK_UNSET if Flag.CLOCK_UNSET in flags else CLOCK_SKEW
            return unassociated(reason, stale=False)
        return Attribution(_attributed(association, location), time=received)
    if device_time < association.since:
        return unassociated(BEFORE_ASSOCIATION, stale=True)
    return Attribution(_attributed(association, location), time=device_time)


def _attributed(association: Association, location: Location) -> Context:
    return Context(location=location, patient=association.patient, association=association)
