"""What each ADT/SIU trigger does to the context store (semantics: docs/interface-spec.md).

A message concerns this gateway when its location (PV1-3, or AIL-3 for SIU) covers a
configured device room by the store's own rule (``vitalsd.context.store.covers``), or
when it names a patient who is associated here now. Anything else is for another part of
the facility: the engine sends every ADT, and it is acknowledged and ignored.
Each function returns a one-line summary without patient data, for logs and /status.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from hl7.adt.demographics import location_of, parse_ts, patient_identity, patient_of
from hl7.adt.er7 import Er7Message
from hl7.adt.errors import REQUIRED_FIELD_MISSING, ErrorLocation, MessageNotApplied
from hl7.adt.options import AdtOptions
from vitalsd.context.store import ContextStore, covers, same_patient
from vitalsd.model import Association, AssociationScope, Location, Patient

__all__ = ["ADT_TRIGGERS", "SIU_TRIGGERS", "TriggerContext", "apply"]

# Statuses (SCH-25, HL7 table 0278) that mean the appointment will not take place.
_CANCELLED_STATUSES = frozenset({"CANCELLED", "DELETED", "NOSHOW", "DC"})


@dataclass(frozen=True, slots=True)
class TriggerContext:
    msg: Er7Message
    options: AdtOptions
    rooms: tuple[Location, ...]
    store: ContextStore
    source: str  # the source instance's name, recorded on associations
    reference: str  # MSH-10 of the message that started an association
    now: datetime

    @property
    def expires_after(self) -> timedelta | None:
        t = self.options.timeout
        return None if t is None else timedelta(seconds=t)


def label(loc: Location) -> str:
    """A room as logs show it: ``FM/EXAM1`` (``/1`` for a bed)."""
    text = f"{loc.point_of_care or '-'}/{loc.room}"
    return f"{text}/{loc.bed}" if loc.bed else text


def _served(ctx: TriggerContext, loc: Location | None) -> bool:
    return loc is not None and any(covers(loc, room) for room in ctx.rooms)


def _associations(ctx: TriggerContext, patient: Patient) -> tuple[Association, ...]:
    return tuple(a for a in ctx.store.snapshot() if same_patient(a.patient, patient))


def _pv1_location(ctx: TriggerContext, field: int = 3) -> Location | None:
    return location_of(ctx.msg, ctx.msg.raw(ctx.msg.segment("PV1"), field))


def _associate(ctx: TriggerContext, trigger: str, loc: Location) -> str:
    patient = patient_of(ctx.msg, ctx.options.identifier_authority)
    # One place at a time: a patient admitted or moved elsewhere leaves the old room.
    ended = [a for a in _associations(ctx, patient) if a.location != loc]
    if ended:
        ctx.store.end_patient(patient, reason="transferred")
    ctx.store.associate(
        patient,
        source=ctx.source,
        location=loc,
        expires_after=ctx.expires_after,
        reference=ctx.reference,
    )
    return f"{trigger} associated a patient with {label(loc)}"


def _admit(ctx: TriggerContext, trigger: str) -> str:
    loc = _pv1_location(ctx)
    if loc is None or not _served(ctx, loc):
        return ""
    return _associate(ctx, trigger, loc)


def _transfer(ctx: TriggerContext, trigger: str) -> str:
    # A02: PV1-3 is the new location. A12 (cancel transfer): PV1-3 is the location the
    # patient returns to. Either way the patient now belongs where PV1-3 says.
    loc = _pv1_location(ctx)
    if _served(ctx, loc):
        assert loc is not None
        return _associate(ctx, trigger, loc)
    identity = patient_identity(ctx.msg, ctx.options.identifier_authority)
    if ctx.store.end_patient(identity, reason="transferred"):
        return f"{trigger} moved a patient out of the rooms served here"
    return ""


def _end(reason: str) -> Callable[[TriggerContext, str], str]:
    def run(ctx: TriggerContext, trigger: str) -> str:
        identity = patient_identity(ctx.msg, ctx.options.identifier_authority)
        ended = ctx.store.end_patient(identity, reason=reason)
        if not ended:
            return ""
        rooms = ", ".join(sorted({label(a.location) for a in ended}))
        return f"{trigger} ended the association in {rooms} ({reason})"

    return run


def _update(ctx: TriggerContext, trigger: str) -> str:
    identity = patient_identity(ctx.msg, ctx.options.identifier_authority)
    if not _associations(ctx, identity):
        return ""
    updated = ctx.store.update_patient(patient_of(ctx.msg, ctx.options.identifier_authority))
    return f"{trigger} updated the demographics of {len(updated)} association(s)"


def _merge(ctx: TriggerContext, trigger: str) -> str:
    """A40: the MRG-1 patient is merged into the PID patient; associations follow."""
    prior = patient_identity(ctx.msg, ctx.options.identifier_authority, "MRG", 1)
    before = _associations(ctx, prior)
    if not before:
        return ""
    survivor = patient_of(ctx.msg, ctx.options.identifier_authority)
    ctx.store.end_patient(prior, reason="merged")
    for a in before:
        left = None if a.expires is None else max(a.expires - ctx.now, timedelta(seconds=1))
        if a.scope is AssociationScope.DEVICE:
            ctx.store.associate(
                survivor, source=a.source, device_id=a.device_id, device_location=a.location,
                since=a.since, expires_after=left, reference=ctx.reference,
            )  # fmt: skip
        else:
            ctx.store.associate(
                survivor, source=a.source, location=a.location, since=a.since,
                expires_after=left, reference=ctx.reference,
            )  # fmt: skip
    return f"{trigger} merged a patient record ({len(before)} association(s) kept)"


def _appointment_start(msg: Er7Message) -> datetime | None:
    # AIL-6 (this location's start), AIS-4 (the service's), TQ1-7, then SCH-11.4 (TQ,
    # deprecated since v2.5 but what many schedulers still fill).
    for name, field, component in (("AIL", 6, 1), ("AIS", 4, 1), ("TQ1", 7, 1), ("SCH", 11, 4)):
        start = parse_ts(msg.get(name, field, component))
        if start is not None:
            return start
    return None


def _siu_location(ctx: TriggerContext) -> Location | None:
    for ail in ctx.msg.all("AIL"):
        for rep in ctx.msg.repetitions(ail, 3):
            loc = location_of(ctx.msg, rep)
            if _served(ctx, loc):
                return loc
    loc = _pv1_location(ctx)
    return loc if _served(ctx, loc) else None


def _appointment(ctx: TriggerContext, trigger: str) -> str:
    status = ctx.msg.get("SCH", 25).upper().replace("-", "")
    if status in _CANCELLED_STATUSES:
        return _end("cancelled")(ctx, trigger)
    loc = _siu_location(ctx)
    if loc is None:
        return ""
    start = _appointment_start(ctx.msg)
    if start is None:
        raise MessageNotApplied(
            "the appointment has no start time (AIL-6, AIS-4, TQ1-7 or SCH-11.4)",
            code=REQUIRED_FIELD_MISSING,
            location=ErrorLocation("SCH", 1, 11),
        )
    early = timedelta(seconds=ctx.options.siu_window_before)
    late = timedelta(seconds=ctx.options.siu_window_after)
    if not ctx.now - late <= start <= ctx.now + early:
        return ""  # booked for another time: vitalsd keeps no schedule
    return _associate(ctx, trigger, loc)


_HANDLERS: dict[str, Callable[[TriggerContext, str], str]] = {
    "A01": _admit,
    "A04": _admit,
    "A13": _admit,
    "A02": _transfer,
    "A12": _transfer,
    "A03": _end("discharged"),
    "A11": _end("cancelled"),
    "A08": _update,
    "A40": _merge,
    "S12": _appointment,
    "S13": _appointment,
    "S14": _appointment,
    "S15": _end("cancelled"),
    "S17": _end("cancelled"),
}
ADT_TRIGGERS = frozenset(t for t in _HANDLERS if t.startswith("A"))
SIU_TRIGGERS = frozenset(t for t in _HANDLERS if t.startswith("S"))


def apply(ctx: TriggerContext, trigger: str) -> str:
    """Apply one message; returns what it did, or "" when it does not concern this gateway.

    Raises ``MessageNotApplied`` when it concerns us but cannot be applied.
    """
    handler = _HANDLERS.get(trigger)
    return handler(ctx, trigger) if handler else ""
