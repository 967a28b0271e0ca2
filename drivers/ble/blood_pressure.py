"""Blood Pressure Measurement (0x2A35) and Intermediate Cuff Pressure (0x2A36).

Source: ble-health.md §2.1 (gatt-xml blood_pressure_measurement.xml, Nordic BPS tests).
Both share one layout: flags, systolic (ICP: current cuff pressure), diastolic, MAP as
SFLOAT, then optional time stamp, pulse rate, user id and measurement status.
Status bits become flags and an event, never numbers. A pressure of exactly 0 is a
device saying "not computed" (Beurer sends MAP 0; Nordic's ICP tests 0 for unused
fields) and is left out rather than charted.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum

from drivers.ble.datetime_fields import DateTimeField, read_date_time
from drivers.ble.ieee11073 import SpecialValue, decode_sfloat, number
from drivers.ble.payload import PayloadError, PayloadReader, reject_reserved
from vitalsd.model import (
    DeviceEvent,
    DriverReport,
    EventSeverity,
    Flag,
    Measurement,
    Metric,
    Unit,
)

_LOGGER = logging.getLogger(__name__)

FLAG_KPA = 0x01
FLAG_TIME_STAMP = 0x02
FLAG_PULSE_RATE = 0x04
FLAG_USER_ID = 0x08
FLAG_STATUS = 0x10
FLAGS_DEFINED = 0x1F
USER_UNKNOWN = 0xFF


class PulseRateRange(IntEnum):
    WITHIN = 0
    ABOVE_UPPER = 1
    BELOW_LOWER = 2
    RESERVED = 3


@dataclass(frozen=True, slots=True)
class BpStatus:
    """Measurement Status (uint16): bits 0-5 defined, 6-15 reserved."""

    raw: int

    @property
    def body_movement(self) -> bool:
        return bool(self.raw & 0x01)

    @property
    def cuff_too_loose(self) -> bool:
        return bool(self.raw & 0x02)

    @property
    def irregular_pulse(self) -> bool:
        return bool(self.raw & 0x04)

    @property
    def pulse_rate_range(self) -> PulseRateRange:
        return PulseRateRange(self.raw >> 3 & 0x03)

    @property
    def improper_position(self) -> bool:
        return bool(self.raw & 0x20)

    def describe(self) -> list[str]:
        parts = []
        if self.body_movement:
            parts.append("body movement detected")
        if self.cuff_too_loose:
            parts.append("cuff fit too loose")
        if self.irregular_pulse:
            parts.append("irregular pulse detected")
        if self.pulse_rate_range is PulseRateRange.ABOVE_UPPER:
            parts.append("pulse rate above upper limit")
        elif self.pulse_rate_range is PulseRateRange.BELOW_LOWER:
            parts.append("pulse rate below lower limit")
        elif self.pulse_rate_range is PulseRateRange.RESERVED:
            parts.append("pulse rate range reserved value")
        if self.improper_position:
            parts.append("improper measurement position")
        return parts


@dataclass(frozen=True, slots=True)
class BloodPressureRecord:
    """Every field of a 0x2A35/0x2A36 value, as sent (special values kept as such)."""

    unit: Unit  # MMHG or KPA
    systolic: Decimal | SpecialValue  # for ICP: the current cuff pressure
    diastolic: Decimal | SpecialValue
    mean_arterial: Decimal | SpecialValue
    time_stamp: DateTimeField | None = None
    pulse_rate: Decimal | SpecialValue | None = None
    user_id: int | None = None  # 0xFF = unknown user
    status: BpStatus | None = None
    intermediate: bool = False


def parse_blood_pressure(
    data: bytes, *, intermediate: bool = False, big_endian_tail: bool = False
) -> BloodPressureRecord:
    """Parse one value strictly. ``big_endian_tail`` exists for the Beurer quirk only."""
    name = "Intermediate Cuff Pressure" if intermediate else "Blood Pressure Measurement"
    reader = PayloadReader(name, data)
    flags = reader.uint(1, "flags")
    if not big_endian_tail:
        reject_reserved(name, flags, FLAGS_DEFINED)
    unit = Unit.KPA if flags & FLAG_KPA else Unit.MMHG
    systolic = reader.sfloat("cuff pressure" if intermediate else "systolic")
    diastolic = reader.sfloat("diastolic")
    mean = reader.sfloat("mean arterial pressure")
    stamp = read_date_time(reader) if flags & FLAG_TIME_STAMP else None
    pulse = status = user = None
    if flags & FLAG_PULSE_RATE:
        if big_endian_tail:
            pulse = _sfloat_be(reader.raw(2, "pulse rate"))
        else:
            pulse = reader.sfloat("pulse rate")
    if flags & FLAG_USER_ID or big_endian_tail:
        user = reader.uint(1, "user id")
    if flags & FLAG_STATUS:
        raw = reader.raw(2, "measurement status")
        status = BpStatus(int.from_bytes(raw, "big" if big_endian_tail else "little"))
    reader.finish()
    return BloodPressureRecord(
        unit, systolic, diastolic, mean, stamp, pulse, user, status, intermediate
    )


def _sfloat_be(raw: bytes) -> Decimal | SpecialValue:
    return decode_sfloat(int.from_bytes(raw, "big"))


def _value(name: str, value: Decimal | SpecialValue | None) -> Decimal | None:
    found = number(value)
    if found is not None and found == 0:
        _LOGGER.debug("%s is 0: the device did not compute it; left out", name)
        return None
    return found


def blood_pressure_reports(
    record: BloodPressureRecord, group: str | None = None
) -> list[DriverReport]:
    """Measurements (one shared group) and a status event; never a number for a special."""
    device_time = record.time_stamp.to_datetime() if record.time_stamp else None
    reports: list[DriverReport] = []
    status = record.status
    if record.intermediate:
        cuff = number(record.systolic)
        text = (
            f"cuff pressure {cuff} {record.unit}" if cuff is not None else "cuff pressure unknown"
        )
        reports.append(DeviceEvent("cuff_pressure", text, device_time=device_time))
    else:
        group = group or uuid.uuid4().hex
        flags: set[Flag] = set()
        if status and status.body_movement:
            flags.add(Flag.MOTION)
        if status and (status.cuff_too_loose or status.improper_position):
            flags.add(Flag.ARTIFACT)
        common = frozenset(flags)
        for metric, value in (
            (Metric.BP_SYSTOLIC, record.systolic),
            (Metric.BP_DIASTOLIC, record.diastolic),
            (Metric.BP_MEAN, record.mean_arterial),
        ):
            found = _value(metric, value)
            if found is not None:
                reports.append(Measurement(metric, found, record.unit, device_time, common, group))
        pulse = _value("pulse rate", record.pulse_rate)
        if pulse is not None:
            pulse_flags = set(flags)
            if status and status.pulse_rate_range is PulseRateRange.ABOVE_UPPER:
                pulse_flags.add(Flag.ALARM_HIGH)
            elif status and status.pulse_rate_range is PulseRateRange.BELOW_LOWER:
                pulse_flags.add(Flag.ALARM_LOW)
            reports.append(
                Measurement(
                    Metric.PULSE_RATE_NIBP,
                    pulse,
                    Unit.PER_MIN,
                    device_time,
                    frozenset(pulse_flags),
                    group,
                )
            )
        if not reports:
            reports.append(
                DeviceEvent(
                    "bp_failed",
                    "blood-pressure record without values (failed or aborted measurement)",
                    EventSeverity.WARNING,
                    device_time=device_time,
                )
            )
    if status and status.raw:
        reports.append(
            DeviceEvent(
                "bp_status",
                "; ".join(status.describe()) or f"reserved status bits 0x{status.raw:04x}",
                EventSeverity.WARNING,
                device_code=f"0x{status.raw:04x}",
                device_time=device_time,
            )
        )
    return reports


def is_empty(record: BloodPressureRecord) -> bool:
    """True for a record with no usable pressure or pulse (A&D stores failed tries so)."""
    values = (record.systolic, record.diastolic, record.mean_arterial, record.pulse_rate)
    return all(number(v) is None for v in values)


def decode_blood_pressure_measurement(data: bytes) -> list[DriverReport]:
    return blood_pressure_reports(parse_blood_pressure(data))


def decode_intermediate_cuff_pressure(data: bytes) -> list[DriverReport]:
    return blood_pressure_reports(parse_blood_pressure(data, intermediate=True))


__all__ = [
    "BloodPressureRecord",
    "BpStatus",
    "PayloadError",
    "PulseRateRange",
    "blood_pressure_reports",
    "decode_blood_pressure_measurement",
    "decode_intermediate_cuff_pressure",
    "is_empty",
    "parse_blood_pressure",
]
