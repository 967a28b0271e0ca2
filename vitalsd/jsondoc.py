"""The JSON document form of bus items (jsonl output, ``vitalsd decode``, later MQTT).

Versioned with ``"v"`` so consumers can tell shapes apart; values are JSON numbers
carrying exactly the decimal digits of the reading.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from vitalsd.model import (
    BusItem,
    DeviceEvent,
    DeviceIdentity,
    DeviceStatus,
    Location,
    Observation,
)

DOCUMENT_VERSION = 1


def _time(t: datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


def _number(v: Decimal) -> int | float:
    # Exact for every value a device prints (≤ 15 significant digits).
    exponent = v.as_tuple().exponent
    return int(v) if isinstance(exponent, int) and exponent >= 0 else float(v)


def identity_doc(i: DeviceIdentity) -> dict[str, str]:
    """The identity fields the device reported (unknown ones left out)."""
    return {k: v for k, v in asdict(i).items() if v is not None}


def _location(loc: Location) -> dict[str, str]:
    return {k: v for k, v in asdict(loc).items() if v is not None}


def observation_doc(o: Observation) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "type": "observation",
        "v": DOCUMENT_VERSION,
        "id": o.id,
        "device_id": o.device_id,
        "driver": o.driver,
        "device_kind": o.device_kind.value,
        "metric": o.metric.value,
        "value": _number(o.value),
        "unit": o.unit.value,
        "code": {"mdc": o.mdc_code, "mdc_refid": o.mdc_refid, "loinc": o.loinc},
        "unit_code": {"mdc": o.mdc_unit_code, "mdc_refid": o.mdc_unit_refid, "ucum": o.unit.value},
        "device_time": _time(o.device_time),
        "receive_time": _time(o.receive_time),
        "flags": sorted(f.value for f in o.flags),
        "stored": o.stored,
        "identity": identity_doc(o.identity),
        "location": _location(o.context.location),
    }
    ctx = o.context
    if ctx.patient is not None:
        # Same fields as MQTT's include_patient; names stay in the HL7 message only.
        doc["patient"] = {
            k: v
            for k, v in (
                ("id", ctx.patient.id),
                ("assigning_authority", ctx.patient.assigning_authority),
                ("visit_number", ctx.patient.visit_number),
            )
            if v is not None
        }
        if ctx.association is not None:
            doc["association"] = {
                "source": ctx.association.source,
                "since": _time(ctx.association.since),
                "scope": ctx.association.scope.value,
            }
    if ctx.unassociated_reason is not None:
        doc["unassociated_reason"] = ctx.unassociated_reason
    if o.group is not None:
        doc["group"] = o.group
    if o.sequence is not None:
        doc["sequence"] = o.sequence
    if o.source_value is not None and o.source_unit is not None:
        doc["source"] = {"value": _number(o.source_value), "unit": o.source_unit.value}
    return doc


def event_doc(e: DeviceEvent) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "code": e.code,
        "message": e.message,
        "severity": e.severity.value,
        "conditions": sorted(c.value for c in e.conditions),
    }
    if e.device_code is not None:
        doc["device_code"] = e.device_code
    if e.device_time is not None:
        doc["device_time"] = _time(e.device_time)
    return doc


def item_doc(item: BusItem) -> dict[str, Any]:
    if isinstance(item, Observation):
        return observation_doc(item)
    if isinstance(item, DeviceStatus):
        return {
            "type": "status",
            "v": DOCUMENT_VERSION,
            "device_id": item.device_id,
            "driver": item.driver,
            "device_kind": item.device_kind.value,
            "state": item.state.value,
            "since": _time(item.since),
            "reason": item.reason,
            "identity": identity_doc(item.identity),
            "location": _location(item.location),
        }
    return {
        "type": "event",
        "v": DOCUMENT_VERSION,
        "device_id": item.device_id,
        "driver": item.driver,
        "receive_time": _time(item.receive_time),
        "identity": identity_doc(item.identity),
        "location": _location(item.location),
        **event_doc(item.event),
    }


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


__all__ = [
    "DOCUMENT_VERSION",
    "dumps",
    "event_doc",
    "identity_doc",
    "item_doc",
    "observation_doc",
]
