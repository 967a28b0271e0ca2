"""Readings the HL7 outputs hold before they become a message, as bytes for the outbox.

An oximeter's summary and a blood-pressure group still waiting for its last value live
in the outbox's ``held`` table from the moment they are accepted, so kill -9 loses none
of them. The form is JSON with every field spelled out (``"v": 1``): values as decimal
strings, so 36.60 comes back as 36.60; times as ISO 8601 with their offset.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from vitalsd.model import (
    Association,
    AssociationScope,
    Context,
    DeviceIdentity,
    DeviceKind,
    Flag,
    Location,
    Metric,
    Observation,
    Patient,
    Sex,
    Unit,
)

__all__ = ["HeldDecodeError", "decode_observation", "encode_observation"]

_VERSION = 1


class HeldDecodeError(ValueError):
    """A held row this vitalsd cannot read (damaged, or written by a newer version)."""


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, frozenset):
        return sorted(value)
    raise TypeError(f"cannot hold a {type(value).__name__}")


def encode_observation(obs: Observation) -> bytes:
    doc = asdict(obs)
    doc["v"] = _VERSION
    return json.dumps(doc, default=_default, separators=(",", ":")).encode()


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _sex(text: str | None) -> Sex | None:
    return None if text is None else Sex(text)


def _unit(text: str | None) -> Unit | None:
    return None if text is None else Unit(text)


def _decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _patient(doc: dict[str, Any] | None) -> Patient | None:
    if doc is None:
        return None
    birth = doc.get("birth_date")
    return Patient(
        **{
            **doc,
            "birth_date": None if birth is None else date.fromisoformat(birth),
            "sex": _sex(doc.get("sex")),
        }
    )


def _context(doc: dict[str, Any]) -> Context:
    assoc = doc.get("association")
    association = None
    if assoc is not None:
        patient = _patient(assoc["patient"])
        assert patient is not None
        association = Association(
            **{
                **assoc,
                "patient": patient,
                "scope": AssociationScope(assoc["scope"]),
                "location": Location(**assoc["location"]),
                "since": datetime.fromisoformat(assoc["since"]),
                "expires": _time(assoc.get("expires")),
            }
        )
    return Context(
        location=Location(**doc["location"]),
        patient=_patient(doc.get("patient")),
        association=association,
        unassociated_reason=doc.get("unassociated_reason"),
    )


def decode_observation(data: bytes) -> Observation:
    try:
        doc = json.loads(data)
    except ValueError as err:
        raise HeldDecodeError(f"held reading is not JSON ({err.__class__.__name__})") from err
    if not isinstance(doc, dict) or doc.pop("v", None) != _VERSION:
        raise HeldDecodeError("held reading has an unknown format version")
    try:
        receive_time = datetime.fromisoformat(doc["receive_time"])
        return Observation(
            **{
                **doc,
                "device_kind": DeviceKind(doc["device_kind"]),
                "metric": Metric(doc["metric"]),
                "value": Decimal(doc["value"]),
                "unit": Unit(doc["unit"]),
                "receive_time": receive_time,
                "device_time": _time(doc.get("device_time")),
                "identity": DeviceIdentity(**doc["identity"]),
                "context": _context(doc["context"]),
                "flags": frozenset(Flag(f) for f in doc.get("flags", ())),
                "source_value": _decimal(doc.get("source_value")),
                "source_unit": _unit(doc.get("source_unit")),
            }
        )
    except (ValueError, TypeError, KeyError, AssertionError) as err:
        # The type only: the text of a field error could carry patient data.
        raise HeldDecodeError(f"held reading cannot be read ({type(err).__name__})") from err
