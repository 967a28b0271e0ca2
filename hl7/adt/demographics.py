"""Patient and location from ADT/SIU fields: PID-3/5/7/8/18, PV1-3/6/19, PL and MRG.

Field definitions: HL7 v2.5.1 ch. 3 (PID, PV1, MRG) and ch. 2A (CX, XPN, PL, HD, TS).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from hl7.adt.er7 import Er7Message, Segment
from hl7.adt.errors import (
    DATA_TYPE_ERROR,
    REQUIRED_FIELD_MISSING,
    SEGMENT_SEQUENCE_ERROR,
    TABLE_VALUE_NOT_FOUND,
    UNKNOWN_KEY_IDENTIFIER,
    ErrorLocation,
    MessageNotApplied,
)
from vitalsd.model import Location, Patient, Sex

__all__ = ["location_of", "parse_ts", "patient_identity", "patient_of"]


def location_of(msg: Er7Message, value: str) -> Location | None:
    """A PL field (point of care ^ room ^ bed ^ facility (HD)) as a Location; None when no room."""

    def part(component: int) -> str | None:
        return msg.leaf(value, component) or None

    room = part(2)
    if room is None:
        return None
    return Location(facility=part(4), point_of_care=part(1), room=room, bed=part(3))


def patient_identity(
    msg: Er7Message, authority: str | None, segment: str = "PID", field: int = 3
) -> Patient:
    """Only the identifier (PID-3, or MRG-1): enough to find a patient's associations.

    With ``authority`` set, the repetition whose CX.4 names it is used (hospitals send an
    MRN, a national id and more in PID-3); otherwise the first repetition.
    """
    seg = msg.segment(segment)
    where = ErrorLocation(segment, 1, field)
    if seg is None:
        raise MessageNotApplied(
            f"the message has no {segment} segment", code=SEGMENT_SEQUENCE_ERROR, location=where
        )
    reps = [r for r in msg.repetitions(seg, field) if msg.leaf(r, 1)]
    if not reps:
        raise MessageNotApplied(
            f"{segment}-{field} (patient identifier) is empty",
            code=REQUIRED_FIELD_MISSING,
            location=where,
        )
    chosen = reps[0]
    if authority is not None:
        matching = [r for r in reps if _authority(msg, r) == authority]
        if not matching:
            raise MessageNotApplied(
                f"{segment}-{field} has no identifier assigned by {authority!r}",
                code=UNKNOWN_KEY_IDENTIFIER,
                location=where,
            )
        chosen = matching[0]
    return Patient(id=msg.leaf(chosen, 1), assigning_authority=_authority(msg, chosen))


def _authority(msg: Er7Message, cx: str) -> str | None:
    # CX.4 is an HD: namespace id & universal id & type; the namespace is what sites name.
    return msg.leaf(cx, 4, 1) or msg.leaf(cx, 4, 2) or None


def patient_of(msg: Er7Message, authority: str | None) -> Patient:
    """The whole patient: identifier, name, birth date, sex and visit number."""
    ident = patient_identity(msg, authority)
    pid = msg.segment("PID")
    names = msg.repetitions(pid, 5)
    name = names[0] if names else ""
    visit = msg.get("PV1", 19) or msg.get("PID", 18) or None
    return Patient(
        id=ident.id,
        assigning_authority=ident.assigning_authority,
        family_name=msg.leaf(name, 1, 1) or None,
        given_name=msg.leaf(name, 2) or None,
        visit_number=visit,
        birth_date=_birth_date(msg, pid),
        sex=_sex(msg, pid),
    )


def _birth_date(msg: Er7Message, pid: Segment | None) -> date | None:
    text = msg.leaf(msg.raw(pid, 7), 1)
    if not text:
        return None
    digits = text[:8]
    if not digits.isdigit() or len(digits) < 4:
        raise MessageNotApplied(
            "PID-7 (birth date) is not a date of the form YYYYMMDD",
            code=DATA_TYPE_ERROR,
            location=ErrorLocation("PID", 1, 7),
        )
    if len(digits) < 8:
        return None  # year or month only: known to be partial, not a date to show
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise MessageNotApplied(
            "PID-7 (birth date) is not a valid calendar date",
            code=DATA_TYPE_ERROR,
            location=ErrorLocation("PID", 1, 7),
        ) from None


def _sex(msg: Er7Message, pid: Segment | None) -> Sex | None:
    code = msg.leaf(msg.raw(pid, 8), 1).upper()
    if not code:
        return None
    try:
        return Sex(code)
    except ValueError:
        raise MessageNotApplied(
            f"PID-8 {code[:10]!r} is not an administrative sex of HL7 table 0001 "
            f"({', '.join(s.value for s in Sex)})",
            code=TABLE_VALUE_NOT_FOUND,
            location=ErrorLocation("PID", 1, 8),
        ) from None


def parse_ts(text: str) -> datetime | None:
    """An HL7 TS/DTM (``YYYY[MM[DD[HH[MM[SS[.S...]]]]]][+/-ZZZZ]``) as an aware datetime.

    Without an offset the time is taken as UTC; callers that care (the SIU window) say so.
    Returns None for an empty or unreadable value.
    """
    text = text.strip()
    if not text:
        return None
    zone = UTC
    for sign in ("+", "-"):
        if sign in text[4:]:
            text, _, offset = text.rpartition(sign)
            if len(offset) != 4 or not offset.isdigit():
                return None
            minutes = int(offset[:2]) * 60 + int(offset[2:])
            zone = timezone(timedelta(minutes=minutes if sign == "+" else -minutes))
            break
    main = text.split(".", 1)[0]
    if not main.isdigit() or len(main) < 8 or len(main) % 2:
        return None
    main = main[:14].ljust(14, "0")
    y, mo, d, h, mi, s = (int(main[:4]), *(int(main[i : i + 2]) for i in range(4, 14, 2)))
    try:
        return datetime(y, mo, d, h, mi, s, tzinfo=zone)
    except ValueError:
        return None
