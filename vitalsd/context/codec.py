"""Associations and patients as JSON documents (context.json, the local API, /status).

Strict on the way in: a document that does not parse names the field that is wrong,
so a bad API request gets a 400 that says what to fix, never a traceback.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from vitalsd.errors import ContextRejected
from vitalsd.model import Association, AssociationScope, Location, Patient, Sex

PATIENT_FIELDS = (
    "id",
    "assigning_authority",
    "family_name",
    "given_name",
    "birth_date",
    "sex",
    "visit_number",
)


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def location_doc(loc: Location) -> dict[str, str]:
    return {
        k: v
        for k, v in (
            ("facility", loc.facility),
            ("point_of_care", loc.point_of_care),
            ("room", loc.room),
            ("bed", loc.bed),
        )
        if v is not None
    }


def patient_doc(p: Patient) -> dict[str, str]:
    doc = {
        "id": p.id,
        "assigning_authority": p.assigning_authority,
        "family_name": p.family_name,
        "given_name": p.given_name,
        "birth_date": p.birth_date.isoformat() if p.birth_date else None,
        "sex": p.sex.value if p.sex else None,
        "visit_number": p.visit_number,
    }
    return {k: v for k, v in doc.items() if v is not None}


def association_doc(a: Association) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "scope": a.scope.value,
        "location": location_doc(a.location),
        "patient": patient_doc(a.patient),
        "source": a.source,
        "since": _iso(a.since),
        "expires": _iso(a.expires),
    }
    if a.device_id is not None:
        doc["device"] = a.device_id
    if a.reference is not None:
        doc["reference"] = a.reference
    return doc


def _text(doc: dict[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    value = doc.get(key)
    if value is None:
        if required:
            raise ContextRejected(f"{where}{key}: missing")
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # an MRN typed as a number is still the MRN
    if not isinstance(value, str):
        raise ContextRejected(f"{where}{key}: must be a string")
    value = value.strip()
    if not value:
        if required:
            raise ContextRejected(f"{where}{key}: must not be empty")
        return None
    if len(value) > 200 or any(ord(c) < 32 for c in value):
        raise ContextRejected(f"{where}{key}: too long or contains control characters")
    return value


def patient_from_doc(doc: object, where: str = "patient.") -> Patient:
    if not isinstance(doc, dict):
        raise ContextRejected(f"{where.rstrip('.')}: must be an object")
    unknown = sorted(set(doc) - set(PATIENT_FIELDS))
    if unknown:
        raise ContextRejected(
            f"{where}{unknown[0]}: unknown field (known: {', '.join(PATIENT_FIELDS)})"
        )
    birth = _text(doc, "birth_date", where)
    birth_date = None
    if birth is not None:
        try:
            birth_date = date.fromisoformat(birth)
        except ValueError:
            raise ContextRejected(
                f"{where}birth_date: '{birth}' is not a date (YYYY-MM-DD)"
            ) from None
    sex_text = _text(doc, "sex", where)
    sex = None
    if sex_text is not None:
        try:
            sex = Sex(sex_text.upper())
        except ValueError:
            known = ", ".join(s.value for s in Sex)
            raise ContextRejected(f"{where}sex: '{sex_text}' is not one of {known}") from None
    patient_id = _text(doc, "id", where, required=True)
    assert patient_id is not None
    return Patient(
        id=patient_id,
        assigning_authority=_text(doc, "assigning_authority", where),
        family_name=_text(doc, "family_name", where),
        given_name=_text(doc, "given_name", where),
        visit_number=_text(doc, "visit_number", where),
        birth_date=birth_date,
        sex=sex,
    )


def _time(doc: dict[str, Any], key: str) -> datetime | None:
    value = doc.get(key)
    if value is None:
        return None
    t = datetime.fromisoformat(str(value))
    if t.tzinfo is None:
        raise ContextRejected(f"{key}: time without a zone")
    return t


def association_from_doc(doc: dict[str, Any]) -> Association:
    """The inverse of ``association_doc`` (for context.json)."""
    loc = doc.get("location") or {}
    since = _time(doc, "since")
    if since is None:
        raise ContextRejected("since: missing")
    return Association(
        patient=patient_from_doc(doc.get("patient")),
        scope=AssociationScope(doc["scope"]),
        location=Location(
            facility=loc.get("facility"),
            point_of_care=loc.get("point_of_care"),
            room=loc.get("room"),
            bed=loc.get("bed"),
        ),
        device_id=doc.get("device"),
        source=str(doc["source"]),
        since=since,
        expires=_time(doc, "expires"),
        reference=doc.get("reference"),
    )
