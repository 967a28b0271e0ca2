"""The data model: what a driver saw (`Measurement`), what outputs get (`Observation`).

Values are ``Decimal`` so that a thermometer's 36.6 stays 36.6 all the way into the
chart; a value the device marks as missing never becomes a ``Measurement`` at all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class DeviceKind(StrEnum):
    """What sort of device this is (drives the HL7 device profile code)."""

    BLOOD_PRESSURE = "blood_pressure"
    PULSE_OXIMETER = "pulse_oximeter"
    SCALE = "scale"
    THERMOMETER = "thermometer"
    GLUCOSE_METER = "glucose_meter"
    MULTI_PARAMETER = "multi_parameter"


class Transport(StrEnum):
    """How bytes reach the driver."""

    SERIAL = "serial"
    BLE = "ble"


class Metric(StrEnum):
    """A measured quantity vitalsd knows how to code (see ``vitalsd.normalize.codes``)."""

    BP_SYSTOLIC = "bp_systolic"
    BP_DIASTOLIC = "bp_diastolic"
    BP_MEAN = "bp_mean"
    PULSE_RATE_NIBP = "pulse_rate_nibp"
    PULSE_RATE_OXIMETER = "pulse_rate_oximeter"
    SPO2 = "spo2"
    PERFUSION_INDEX = "perfusion_index"
    TEMP_BODY = "temp_body"
    TEMP_ORAL = "temp_oral"
    TEMP_TYMPANIC = "temp_tympanic"
    TEMP_EAR = "temp_ear"
    TEMP_AXILLARY = "temp_axillary"
    TEMP_RECTAL = "temp_rectal"
    TEMP_TEMPORAL = "temp_temporal"
    BODY_WEIGHT = "body_weight"
    BODY_HEIGHT = "body_height"
    BMI = "bmi"
    RESP_RATE = "resp_rate"
    GLUCOSE = "glucose"


class Unit(StrEnum):
    """Units as UCUM codes; drivers state the unit the device used."""

    PERCENT = "%"
    PER_MIN = "/min"
    MMHG = "mm[Hg]"
    KPA = "kPa"
    CEL = "Cel"
    DEGF = "[degF]"
    KELVIN = "K"
    KG = "kg"
    G = "g"
    LB = "[lb_av]"
    CM = "cm"
    M = "m"
    INCH = "[in_i]"
    KG_PER_M2 = "kg/m2"
    MG_PER_DL = "mg/dL"
    MMOL_PER_L = "mmol/L"


class Flag(StrEnum):
    """Status a device (or normalization) attaches to a reading. Never a number."""

    # set by devices
    ALARM_HIGH = "alarm_high"
    ALARM_LOW = "alarm_low"
    LOW_PERFUSION = "low_perfusion"
    LOW_SIGNAL_QUALITY = "low_signal_quality"
    INTERFERENCE = "interference"
    ARTIFACT = "artifact"
    MOTION = "motion"
    LOW_BATTERY = "low_battery"
    MEASUREMENT_ERROR = "measurement_error"
    # set by normalization
    IMPLAUSIBLE = "implausible"
    CLOCK_UNSET = "clock_unset"
    CLOCK_SKEW = "clock_skew"
    STORED = "stored"  # from device memory, not taken just now


class Condition(StrEnum):
    """A device state that makes readings unavailable or suspect; reported as an event."""

    NO_SENSOR = "no_sensor"
    SENSOR_OFF = "sensor_off"
    SENSOR_FAULT = "sensor_fault"
    SENSOR_UNRECOGNIZED = "sensor_unrecognized"
    CABLE_FAULT = "cable_fault"
    PULSE_SEARCH = "pulse_search"
    CALIBRATING = "calibrating"
    LOW_PERFUSION = "low_perfusion"
    INTERFERENCE = "interference"
    AMBIENT_LIGHT = "ambient_light"
    LOW_SIGNAL_QUALITY = "low_signal_quality"
    LOW_BATTERY = "low_battery"
    ALARM_ACTIVE = "alarm_active"
    ALARM_SILENCED = "alarm_silenced"
    CLOCK_UNSET = "clock_unset"
    DEVICE_ERROR = "device_error"


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """What a device says about itself. Empty fields are unknown, not blank."""

    make: str | None = None
    model: str | None = None
    serial: str | None = None
    firmware: str | None = None
    address: str | None = None  # BLE MAC, or the network serial server's host:port
    eui64: str | None = None


@dataclass(frozen=True, slots=True)
class Measurement:
    """One value as the device reported it, in the device's own unit.

    ``group`` ties readings taken together (a cuff's systolic, diastolic, mean and
    pulse); ``device_time`` is the device clock as sent, naive when the device has no
    zone; ``stored`` marks a record replayed from device memory.
    """

    metric: Metric
    value: Decimal
    unit: Unit
    device_time: datetime | None = None
    flags: frozenset[Flag] = frozenset()
    group: str | None = None
    stored: bool = False
    sequence: int | None = None


class EventSeverity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """Something a device reported that is not a value.

    ``conditions`` is the complete set now in force (an empty set means "all clear"),
    so a consumer never has to replay history to know the device's state.
    """

    code: str  # short machine-readable code: "conditions", "bp_error", ...
    message: str
    severity: EventSeverity = EventSeverity.INFO
    conditions: frozenset[Condition] = frozenset()
    device_code: str | None = None  # the device's own error code, verbatim
    device_time: datetime | None = None


DriverReport = Measurement | DeviceEvent | DeviceIdentity
"""Everything a driver can hand to the core."""


@dataclass(frozen=True, slots=True)
class Location:
    """Where the device is (HL7 PV1-3: point of care ^ room ^ bed ^ facility)."""

    facility: str | None = None
    point_of_care: str | None = None
    room: str | None = None
    bed: str | None = None


class Sex(StrEnum):
    """Administrative sex, HL7 table 0001 (PID-8)."""

    FEMALE = "F"
    MALE = "M"
    OTHER = "O"
    UNKNOWN = "U"
    AMBIGUOUS = "A"
    NOT_APPLICABLE = "N"


@dataclass(frozen=True, slots=True)
class Patient:
    """The patient the room or device is associated with (set by the context store)."""

    id: str
    assigning_authority: str | None = None
    family_name: str | None = None
    given_name: str | None = None
    visit_number: str | None = None
    birth_date: date | None = None  # PID-7; also picks the plausibility age band
    sex: Sex | None = None  # PID-8


class AssociationScope(StrEnum):
    ROOM = "room"  # every device in the room (and bed, when the association names one)
    DEVICE = "device"  # one device only; wins over a room association


@dataclass(frozen=True, slots=True)
class Association:
    """Who a room or device belongs to right now, since when, and who said so."""

    patient: Patient
    scope: AssociationScope
    location: Location  # the room (and bed) for ROOM scope; the device's for DEVICE
    device_id: str | None  # set for DEVICE scope
    source: str  # "api", "barcode", "hl7_adt", ... (the context source's name)
    since: datetime  # aware; readings taken before this never go to this patient
    expires: datetime | None = None
    reference: str | None = None  # what started it: ADT MSH-10, scan id, API request id


@dataclass(frozen=True, slots=True)
class Context:
    """The room, and the patient when one is associated (never guessed).

    ``unassociated_reason`` says why a reading carries no patient although it could have
    (a stored record older than the association, an unset clock, ...); None otherwise.
    """

    location: Location = field(default_factory=Location)
    patient: Patient | None = None
    association: Association | None = None
    unassociated_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Observation:
    """A normalized, coded reading in its canonical unit, ready for any output."""

    id: str
    device_id: str
    driver: str
    device_kind: DeviceKind
    metric: Metric
    mdc_code: int
    mdc_refid: str
    loinc: str | None
    value: Decimal
    unit: Unit
    mdc_unit_code: int
    mdc_unit_refid: str
    receive_time: datetime  # aware, UTC
    device_time: datetime | None  # aware; None when the device sent no clock
    identity: DeviceIdentity
    context: Context
    flags: frozenset[Flag] = frozenset()
    group: str | None = None
    stored: bool = False
    sequence: int | None = None
    source_value: Decimal | None = None  # as the device sent it, when converted
    source_unit: Unit | None = None

    @property
    def time(self) -> datetime:
        """The best time for the reading: the device's clock if it sent one."""
        return self.device_time or self.receive_time


def new_observation_id() -> str:
    """A unique id per observation, used by outputs for idempotency."""
    return uuid.uuid4().hex


class DeviceState(StrEnum):
    STARTING = "starting"
    CONNECTING = "connecting"
    ONLINE = "online"
    OFFLINE = "offline"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """The supervisor's view of a device, published whenever it changes."""

    device_id: str
    driver: str
    device_kind: DeviceKind
    state: DeviceState
    since: datetime
    reason: str | None = None
    identity: DeviceIdentity = field(default_factory=DeviceIdentity)
    location: Location = field(default_factory=Location)


@dataclass(frozen=True, slots=True)
class DeviceNotice:
    """A ``DeviceEvent`` with the device it came from, as the bus carries it."""

    device_id: str
    driver: str
    event: DeviceEvent
    receive_time: datetime
    identity: DeviceIdentity = field(default_factory=DeviceIdentity)
    location: Location = field(default_factory=Location)


BusItem = Observation | DeviceStatus | DeviceNotice
"""What outputs receive."""
