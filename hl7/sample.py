"""Sample device reports for every device kind, shaped like shared/reference/hl7-pcd01.md §2.3.

The observations go through the real normalization (units, codes, flags, clock zones),
so ``vitalsd hl7 sample``, docs/interface-spec.md and the profile tests show exactly
what the daemon would send for these readings. The patient is fictitious (§2.3).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal

from hl7.encoder import encode_oru
from hl7.settings import Hl7Settings
from vitalsd.model import (
    Context,
    DeviceIdentity,
    DeviceKind,
    Location,
    Measurement,
    Metric,
    Observation,
    Patient,
    Sex,
    Unit,
)
from vitalsd.normalize import DeviceProfile, Normalizer

__all__ = ["KINDS", "SAMPLE_SETTINGS", "SampleReport", "sample_message", "sample_report"]

SAMPLE_SETTINGS = Hl7Settings(
    sending_application="VITALSD^0123456789ABCDEF^EUI-64", sending_facility="CLINIC_A"
)
SAMPLE_PATIENT = Patient(
    id="MRN12345",
    assigning_authority="HOSP",
    family_name="DOE",
    given_name="JANE",
    birth_date=date(1970, 1, 1),
    sex=Sex.FEMALE,
)
SAMPLE_LOCATION = Location(facility="HOSP", point_of_care="CLINIC_A", room="EXAM03")
_CUFF_ZONE = timezone(timedelta(hours=-5))  # §2.3 (a): the cuff's clock runs on local time


@dataclass(frozen=True, slots=True)
class SampleReport:
    observations: tuple[Observation, ...]
    control_id: str
    filler_id: str
    now: datetime


@dataclass(frozen=True, slots=True)
class _Spec:
    kind: DeviceKind
    device_id: str
    eui64: str
    readings: tuple[tuple[Metric, str, Unit], ...]
    received: datetime
    device_time: datetime | None  # naive, in ``zone``
    zone: tzinfo
    sent_after: timedelta  # MSH-7 = received + this


def _t(minute: int, second: int) -> datetime:
    return datetime(2025, 3, 14, 10, minute, second, tzinfo=UTC)


def _naive(hour: int, minute: int, second: int) -> datetime:
    return datetime(2025, 3, 14, hour, minute, second)  # noqa: DTZ001 - a device clock


_SPECS: dict[str, _Spec] = {
    "bp": _Spec(  # §2.3 (a)
        DeviceKind.BLOOD_PRESSURE,
        "exam03-cuff",
        "0123456789ABCDEF",
        (
            (Metric.BP_SYSTOLIC, "128", Unit.MMHG),
            (Metric.BP_DIASTOLIC, "82", Unit.MMHG),
            (Metric.BP_MEAN, "97", Unit.MMHG),
            (Metric.PULSE_RATE_NIBP, "72", Unit.PER_MIN),
        ),
        _t(29, 58),
        _naive(5, 29, 55),
        _CUFF_ZONE,
        timedelta(seconds=14),
    ),
    "spo2": _Spec(  # §2.3 (b): an OEM oximeter board without a clock
        DeviceKind.PULSE_OXIMETER,
        "exam03-spo2",
        "0123456789ABCDF0",
        (
            (Metric.SPO2, "97", Unit.PERCENT),
            (Metric.PULSE_RATE_OXIMETER, "71", Unit.PER_MIN),
            (Metric.PERFUSION_INDEX, "3.9", Unit.PERCENT),
        ),
        _t(31, 0),
        None,
        UTC,
        timedelta(seconds=12),
    ),
    "temp": _Spec(  # §2.3 (c)
        DeviceKind.THERMOMETER,
        "exam03-temp",
        "0123456789ABCDF1",
        ((Metric.TEMP_ORAL, "36.8", Unit.CEL),),
        _t(32, 7),
        _naive(10, 32, 5),
        UTC,
        timedelta(seconds=5),
    ),
    "weight": _Spec(  # §2.3 (d)
        DeviceKind.SCALE,
        "exam03-scale",
        "0123456789ABCDF2",
        (
            (Metric.BODY_WEIGHT, "72.4", Unit.KG),
            (Metric.BODY_HEIGHT, "172.0", Unit.CM),
            (Metric.BMI, "24.5", Unit.KG_PER_M2),
        ),
        _t(33, 2),
        _naive(10, 33, 0),
        UTC,
        timedelta(seconds=10),
    ),
    "glucose": _Spec(
        DeviceKind.GLUCOSE_METER,
        "exam03-glucose",
        "0123456789ABCDF3",
        ((Metric.GLUCOSE, "98", Unit.MG_PER_DL),),
        _t(35, 4),
        _naive(10, 35, 1),
        UTC,
        timedelta(seconds=8),
    ),
    "monitor": _Spec(
        DeviceKind.MULTI_PARAMETER,
        "exam03-monitor",
        "0123456789ABCDF4",
        (
            (Metric.SPO2, "98", Unit.PERCENT),
            (Metric.PULSE_RATE_OXIMETER, "64", Unit.PER_MIN),
            (Metric.RESP_RATE, "14", Unit.PER_MIN),
            (Metric.TEMP_BODY, "36.9", Unit.CEL),
        ),
        _t(36, 0),
        None,
        UTC,
        timedelta(seconds=10),
    ),
}
KINDS: tuple[str, ...] = tuple(_SPECS)


def observations_for(
    kind: DeviceKind,
    device_id: str,
    identity: DeviceIdentity,
    readings: Sequence[tuple[Metric, str, Unit]],
    *,
    received: datetime,
    device_time: datetime | None = None,
    zone: tzinfo = UTC,
    patient: Patient | None = None,
    location: Location = SAMPLE_LOCATION,
) -> tuple[Observation, ...]:
    """Readings taken together, through the real normalizer, with the patient attached."""
    profile = DeviceProfile(device_id, "sample", kind, location, zone)
    normalizer = Normalizer()
    out = []
    for metric, value, unit in readings:
        m = Measurement(metric, Decimal(value), unit, device_time=device_time, group="g1")
        obs = normalizer.normalize(profile, identity, m, received)
        assert obs is not None  # a fresh normalizer has seen nothing to repeat
        out.append(dataclasses.replace(obs, context=Context(location, patient)))
    return tuple(out)


def sample_report(kind: str, *, associated: bool = True) -> SampleReport:
    """The sample report for ``kind`` (one of ``KINDS``), with or without a patient."""
    spec = _SPECS[kind]
    now = spec.received + spec.sent_after
    observations = observations_for(
        spec.kind,
        spec.device_id,
        DeviceIdentity(make="Sample", model=kind, eui64=spec.eui64),
        spec.readings,
        received=spec.received,
        device_time=spec.device_time,
        zone=spec.zone,
        patient=SAMPLE_PATIENT if associated else None,
    )
    n = KINDS.index(kind) + 1
    return SampleReport(
        observations,
        control_id=f"VSD{now:%Y%m%d%H%M%S}{n:03d}",
        filler_id=f"V{now:%y%m%d%H%M%S}{n:03d}",
        now=now,
    )


def sample_message(
    kind: str, *, associated: bool = True, settings: Hl7Settings = SAMPLE_SETTINGS
) -> str:
    """The ORU^R01 vitalsd sends for the sample report of ``kind`` (``\\r``-joined)."""
    report = sample_report(kind, associated=associated)
    return encode_oru(
        report.observations,
        settings=settings,
        control_id=report.control_id,
        filler_id=report.filler_id,
        now=report.now,
    )
