"""The context store: which patient each room (or single device) belongs to, right now.

Every way of associating a patient (local API, barcode scan, HL7 ADT, SIU) calls the
same few methods here, so lifetimes are the same whatever the source:
an association ends by explicit clear, by discharge or transfer, by its timeout, or by a
new association of the same room or device. A device association wins over its room's.

Rooms are matched on (facility, point_of_care, room); an association that names a bed
covers only devices configured with that bed, one without a bed covers the whole room.
``None`` in an association's facility or point of care matches any (single-site gateways
rarely configure them).

Listeners hear every change (for logs, MQTT, the status page); they never receive
patient data through the log at INFO.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from vitalsd.errors import ContextRejected
from vitalsd.model import Association, AssociationScope, Location, Patient

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ContextChange:
    """One change: ``before`` ended (or was updated), ``after`` began (or is the update)."""

    before: Association | None
    after: Association | None
    # "associated", "cleared", "discharged", "transferred", "expired", "replaced", "updated"
    reason: str


Listener = Callable[[ContextChange], None]
_Key = tuple[str | None, ...]


def _now() -> datetime:
    return datetime.now(UTC)


def _room_key(loc: Location) -> tuple[str | None, str | None, str | None]:
    return (loc.facility, loc.point_of_care, loc.room)


def covers(association_location: Location, device_location: Location) -> bool:
    """Does a ROOM association at ``association_location`` cover a device there?"""
    a, d = association_location, device_location
    if a.room is None or a.room != d.room:
        return False
    if a.facility is not None and d.facility is not None and a.facility != d.facility:
        return False
    if (
        a.point_of_care is not None
        and d.point_of_care is not None
        and a.point_of_care != d.point_of_care
    ):
        return False
    return a.bed is None or a.bed == d.bed


def same_patient(a: Patient, b: Patient) -> bool:
    return a.id == b.id and (
        a.assigning_authority is None
        or b.assigning_authority is None
        or a.assigning_authority == b.assigning_authority
    )


class ContextStore:
    """In memory; persistence and the expiry timer are layered on by
    ``vitalsd.context.lifetime``. ``default_timeout`` applies to associations whose
    request names no lifetime of its own (a visit: a few hours).
    """

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] = _now,
        default_timeout: timedelta | None = None,
    ) -> None:
        self._clock = clock
        self.default_timeout = default_timeout
        self._rooms: dict[_Key, Association] = {}
        self._devices: dict[_Key, Association] = {}
        self._listeners: list[Listener] = []

    # --- reading ---------------------------------------------------------------------

    def current(self, device_id: str, location: Location) -> Association | None:
        """The association in force for a device now (expired ones are ended first)."""
        self.expire()
        found = self._devices.get((device_id,))
        if found is not None:
            return found
        best: Association | None = None
        for assoc in self._rooms.values():
            # A bed association is more specific than a whole-room one.
            if covers(assoc.location, location) and (best is None or assoc.location.bed):
                best = assoc
        return best

    def snapshot(self) -> tuple[Association, ...]:
        self.expire()
        return (*self._rooms.values(), *self._devices.values())

    def next_expiry(self) -> datetime | None:
        """When the soonest association times out (None: none has a timeout)."""
        times = [
            a.expires
            for table in (self._rooms, self._devices)
            for a in table.values()
            if a.expires is not None
        ]
        return min(times, default=None)

    def now(self) -> datetime:
        return self._clock()

    # --- writing ---------------------------------------------------------------------

    def associate(
        self,
        patient: Patient,
        *,
        source: str,
        location: Location | None = None,
        device_id: str | None = None,
        device_location: Location | None = None,
        since: datetime | None = None,
        expires_after: timedelta | None = None,
        reference: str | None = None,
    ) -> Association:
        """Associate ``patient`` with a room (``location``) or one device (``device_id``).

        A previous association of the same room/bed or device ends ("replaced").
        """
        if (location is None) == (device_id is None):
            raise ContextRejected("name either a room (location) or a device, not both")
        if location is not None and not location.room:
            raise ContextRejected("a room association needs a room")
        if not patient.id.strip():
            raise ContextRejected("a patient needs an id")
        start = since or self._clock()
        if expires_after is None:
            expires_after = self.default_timeout
        assoc = Association(
            patient=patient,
            scope=AssociationScope.DEVICE if device_id else AssociationScope.ROOM,
            location=(location or device_location or Location()),
            device_id=device_id,
            source=source,
            since=start,
            expires=start + expires_after if expires_after else None,
            reference=reference,
        )
        if device_id is not None:
            before = self._devices.get((device_id,))
            self._devices[(device_id,)] = assoc
        else:
            assert location is not None
            key = (*_room_key(location), location.bed)
            before = self._rooms.get(key)
            self._rooms[key] = assoc
        if before is not None:
            self._emit(ContextChange(before, None, "replaced"))
        self._emit(ContextChange(None, assoc, "associated"))
        return assoc

    def clear(
        self,
        *,
        location: Location | None = None,
        device_id: str | None = None,
        reason: str = "cleared",
    ) -> tuple[Association, ...]:
        """End the associations of a room (every bed in it, unless a bed is named) or device."""
        ended: list[Association] = []
        if device_id is not None and (device_id,) in self._devices:
            ended.append(self._devices.pop((device_id,)))
        if location is not None:
            for key, assoc in list(self._rooms.items()):
                if _room_key(assoc.location) == _room_key(location) and (
                    location.bed is None or assoc.location.bed == location.bed
                ):
                    ended.append(self._rooms.pop(key))
        for assoc in ended:
            self._emit(ContextChange(assoc, None, reason))
        return tuple(ended)

    def end_patient(self, patient: Patient, *, reason: str) -> tuple[Association, ...]:
        """End every association of this patient (discharge, cancelled admission)."""
        ended: list[Association] = []
        for table in (self._rooms, self._devices):
            for key, assoc in list(table.items()):
                if same_patient(assoc.patient, patient):
                    ended.append(table.pop(key))
        for assoc in ended:
            self._emit(ContextChange(assoc, None, reason))
        return tuple(ended)

    def move_patient(
        self, patient: Patient, location: Location, *, source: str, reference: str | None = None
    ) -> Association:
        """Transfer: end the patient's current room associations and start one at ``location``."""
        self.end_patient(patient, reason="transferred")
        return self.associate(patient, source=source, location=location, reference=reference)

    def update_patient(self, patient: Patient) -> tuple[Association, ...]:
        """New demographics (A08) for associations of this patient; ``since`` is kept."""
        updated: list[Association] = []
        for table in (self._rooms, self._devices):
            for key, assoc in list(table.items()):
                if same_patient(assoc.patient, patient):
                    new = replace(assoc, patient=patient)
                    table[key] = new
                    updated.append(new)
                    self._emit(ContextChange(assoc, new, "updated"))
        return tuple(updated)

    def expire(self) -> tuple[Association, ...]:
        """End associations whose timeout has passed; returns what ended."""
        now = self._clock()
        ended: list[Association] = []
        for table in (self._rooms, self._devices):
            for key, assoc in list(table.items()):
                if assoc.expires is not None and assoc.expires <= now:
                    ended.append(table.pop(key))
        for assoc in ended:
            self._emit(ContextChange(assoc, None, "expired"))
        return tuple(ended)

    def restore(self, associations: tuple[Association, ...]) -> int:
        """Put back associations saved before a restart (no change is announced).

        Already-expired ones are dropped; returns how many were restored.
        """
        now = self._clock()
        count = 0
        for assoc in associations:
            if assoc.expires is not None and assoc.expires <= now:
                continue
            if assoc.scope == AssociationScope.DEVICE and assoc.device_id is not None:
                self._devices[(assoc.device_id,)] = assoc
            else:
                self._rooms[(*_room_key(assoc.location), assoc.location.bed)] = assoc
            count += 1
        return count

    # --- listeners -------------------------------------------------------------------

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` on every change; returns a function that stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _emit(self, change: ContextChange) -> None:
        for listener in list(self._listeners):
            try:
                listener(change)
            except Exception:  # a listener bug must not undo an association
                _LOGGER.exception("context listener failed")
