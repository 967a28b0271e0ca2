"""Scan-and-confirm: when a patient scan becomes an association.

``confirm = "none"``: a patient scan associates at once, with the room the scanner sits in.
``confirm = "room_label"``: a patient scan waits; the medical assistant then scans the room
label, and only a label naming a configured room within ``within`` seconds makes the
association, with that room (the Connex-style "scan the patient, then confirm" step,
so a wristband scanned at the wrong bedside never lands in the wrong chart). A second
patient scan replaces the waiting one; a wait that runs out is dropped.

Pure: time is passed in (monotonic seconds), so tests drive it without sleeping.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from vitalsd.model import Location, Patient

ConfirmMode = Literal["none", "room_label"]


@dataclass(frozen=True, slots=True)
class Pending:
    patient: Patient
    scan_id: str
    deadline: float  # monotonic seconds


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do after a scan. ``note`` is safe to log (no patient data)."""

    action: Literal["associate", "wait", "ignore"]
    patient: Patient | None = None
    location: Location | None = None
    scan_id: str | None = None
    note: str = ""


def room_index(rooms: Iterable[Location]) -> dict[str, Location]:
    """Configured rooms by lower-cased name; a room label names the room, not a bed."""
    index: dict[str, Location] = {}
    for loc in rooms:
        if loc.room and loc.room.lower() not in index:
            index[loc.room.lower()] = Location(
                facility=loc.facility, point_of_care=loc.point_of_care, room=loc.room
            )
    return index


class Confirmation:
    def __init__(
        self,
        mode: ConfirmMode,
        *,
        within: float,
        rooms: Iterable[Location],
        scanner_location: Location | None,
    ) -> None:
        self.mode = mode
        self.within = within
        self.rooms = room_index(rooms)
        self.scanner_location = scanner_location
        self.pending: Pending | None = None

    def patient_scanned(self, patient: Patient, scan_id: str, now: float) -> Decision:
        if self.mode == "none":
            return Decision("associate", patient, self.scanner_location, scan_id)
        self.expire(now)
        note = "replaced the waiting patient scan; " if self.pending is not None else ""
        self.pending = Pending(patient, scan_id, now + self.within)
        return Decision(
            "wait", patient, None, scan_id, f"{note}waiting {self.within:g} s for a room label"
        )

    def room_scanned(self, room: str, now: float) -> Decision:
        self.expire(now)
        location = self.rooms.get(room.lower())
        if self.pending is None:
            return Decision("ignore", note="room label scanned with no patient scan waiting")
        if location is None:
            # The room name is not patient data; it helps the site fix its labels.
            known = ", ".join(sorted(loc.room or "" for loc in self.rooms.values()))
            return Decision(
                "ignore",
                note=f"room label names {room!r}, not a configured room ({known}); still waiting",
            )
        pending, self.pending = self.pending, None
        return Decision("associate", pending.patient, location, pending.scan_id)

    def expire(self, now: float) -> Pending | None:
        """Drop the waiting scan if its time is up; returns what was dropped."""
        if self.pending is not None and now >= self.pending.deadline:
            dropped, self.pending = self.pending, None
            return dropped
        return None
