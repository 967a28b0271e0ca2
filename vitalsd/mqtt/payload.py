"""The MQTT payload documents, version 1, as pydantic models (the schema's one source).

``docs/mqtt-payload.schema.json`` is generated from these models (``vitalsd.mqtt.schema``)
and a test fails when it drifts. Patient identifiers go out only when a site asks
(``include_patient``); names never do: a dashboard needs the room, not who is in it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from vitalsd.model import (
    DeviceIdentity,
    DeviceKind,
    DeviceNotice,
    DeviceState,
    DeviceStatus,
    Flag,
    Location,
    Metric,
    Observation,
    Unit,
)

PAYLOAD_VERSION = 1


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Codes(_Doc):
    mdc: int = Field(description="IEEE 11073-10101 context-free code (partition × 65536 + term)")
    mdc_refid: str = Field(description="MDC reference id, e.g. MDC_PULS_OXIM_SAT_O2")
    loinc: str | None = Field(description="LOINC code, when the metric has one")


class UnitCode(_Doc):
    ucum: Unit
    mdc: int
    mdc_refid: str


class Source(_Doc):
    value: int | float = Field(description="the value as the device sent it, before conversion")
    unit: Unit


class Identity(_Doc):
    make: str | None = None
    model: str | None = None
    serial: str | None = None
    firmware: str | None = None
    address: str | None = None
    eui64: str | None = None


class Place(_Doc):
    facility: str | None = None
    point_of_care: str | None = None
    room: str | None = None
    bed: str | None = None


class PatientRef(_Doc):
    id: str
    assigning_authority: str | None = None
    visit_number: str | None = None


class Association(_Doc):
    source: str = Field(description="what associated the patient: api, barcode, hl7_adt, ...")
    since: datetime = Field(description="readings taken before this never go to this patient")
    scope: Literal["room", "device"]


class Context(_Doc):
    location: Place
    patient: PatientRef | None = Field(default=None, description="only with include_patient")
    associated: bool = Field(
        default=False, description="the reading was attributed to the associated patient"
    )
    association: Association | None = Field(
        default=None, description="the association the reading was attributed to"
    )
    unassociated_reason: str | None = Field(
        default=None,
        description="why a reading carries no patient although one was associated "
        "(stored record from before the association, device clock unset, ...)",
    )


class ObservationV1(_Doc):
    type: Literal["observation"] = "observation"
    v: Literal[1] = 1
    id: str = Field(description="unique per reading; consumers de-duplicate on it")
    site: str
    device_id: str
    driver: str
    device_kind: DeviceKind
    metric: Metric
    value: int | float = Field(description="in the canonical unit, exactly the reading's digits")
    unit: Unit = Field(description="UCUM code")
    code: Codes
    unit_code: UnitCode
    time: datetime = Field(description="the device clock when it sent one, else receive_time")
    device_time: datetime | None
    receive_time: datetime
    flags: list[Flag]
    stored: bool = Field(description="replayed from device memory, not taken just now")
    group: str | None = Field(default=None, description="ties readings taken together")
    sequence: int | None = None
    source: Source | None = None
    identity: Identity
    context: Context


StatusState = Literal["online", "offline", "error"]


class StatusV1(_Doc):
    type: Literal["status"] = "status"
    v: Literal[1] = 1
    site: str
    device_id: str
    driver: str
    device_kind: DeviceKind
    state: StatusState
    device_state: DeviceState = Field(description="the supervisor's finer-grained state")
    reason: str | None
    since: datetime
    identity: Identity
    location: Place


class EventV1(_Doc):
    type: Literal["event"] = "event"
    v: Literal[1] = 1
    site: str
    device_id: str
    driver: str
    code: str
    message: str
    severity: Literal["info", "warning", "error"]
    conditions: list[str]
    device_code: str | None = None
    device_time: datetime | None = None
    receive_time: datetime
    identity: Identity
    location: Place


class GatewayV1(_Doc):
    type: Literal["gateway"] = "gateway"
    v: Literal[1] = 1
    site: str
    client_id: str
    state: Literal["online", "offline"]
    since: datetime = Field(description="when this connection was made (also in the Last Will)")


Payload = Annotated[ObservationV1 | StatusV1 | EventV1 | GatewayV1, Field(discriminator="type")]
PAYLOAD_ADAPTER: TypeAdapter[ObservationV1 | StatusV1 | EventV1 | GatewayV1] = TypeAdapter(Payload)


def _number(v: Decimal) -> int | float:
    exponent = v.as_tuple().exponent
    return int(v) if isinstance(exponent, int) and exponent >= 0 else float(v)


def _identity(i: DeviceIdentity) -> Identity:
    return Identity(
        make=i.make,
        model=i.model,
        serial=i.serial,
        firmware=i.firmware,
        address=i.address,
        eui64=i.eui64,
    )


def _place(loc: Location) -> Place:
    return Place(facility=loc.facility, point_of_care=loc.point_of_care, room=loc.room, bed=loc.bed)


def observation_payload(o: Observation, site: str, *, include_patient: bool) -> ObservationV1:
    patient = None
    if include_patient and o.context.patient is not None:
        p = o.context.patient
        patient = PatientRef(
            id=p.id, assigning_authority=p.assigning_authority, visit_number=p.visit_number
        )
    source = None
    if o.source_value is not None and o.source_unit is not None:
        source = Source(value=_number(o.source_value), unit=o.source_unit)
    return ObservationV1(
        id=o.id,
        site=site,
        device_id=o.device_id,
        driver=o.driver,
        device_kind=o.device_kind,
        metric=o.metric,
        value=_number(o.value),
        unit=o.unit,
        code=Codes(mdc=o.mdc_code, mdc_refid=o.mdc_refid, loinc=o.loinc),
        unit_code=UnitCode(ucum=o.unit, mdc=o.mdc_unit_code, mdc_refid=o.mdc_unit_refid),
        time=o.time,
        device_time=o.device_time,
        receive_time=o.receive_time,
        flags=sorted(o.flags),
        stored=o.stored,
        group=o.group,
        sequence=o.sequence,
        source=source,
        identity=_identity(o.identity),
        context=_context(o, patient),
    )


def _context(o: Observation, patient: PatientRef | None) -> Context:
    a = o.context.association
    return Context(
        location=_place(o.context.location),
        patient=patient,
        associated=o.context.patient is not None,
        association=(
            Association(source=a.source, since=a.since, scope=a.scope.value)
            if a is not None and o.context.patient is not None
            else None
        ),
        unassociated_reason=o.context.unassociated_reason,
    )


def status_state(s: DeviceStatus) -> StatusState:
    """online / offline / error: a device that went offline with a fault is in error."""
    if s.state is DeviceState.ONLINE:
        return "online"
    if s.state is DeviceState.OFFLINE and s.reason:
        return "error"
    return "offline"


def status_payload(s: DeviceStatus, site: str) -> StatusV1:
    return StatusV1(
        site=site,
        device_id=s.device_id,
        driver=s.driver,
        device_kind=s.device_kind,
        state=status_state(s),
        device_state=s.state,
        reason=s.reason,
        since=s.since,
        identity=_identity(s.identity),
        location=_place(s.location),
    )


def event_payload(n: DeviceNotice, site: str) -> EventV1:
    e = n.event
    return EventV1(
        site=site,
        device_id=n.device_id,
        driver=n.driver,
        code=e.code,
        message=e.message,
        severity=e.severity.value,
        conditions=sorted(c.value for c in e.conditions),
        device_code=e.device_code,
        device_time=e.device_time,
        receive_time=n.receive_time,
        identity=_identity(n.identity),
        location=_place(n.location),
    )


def encode(doc: _Doc) -> bytes:
    return doc.model_dump_json().encode()
