"""PLX Spot-check (0x2A5E), Continuous (0x2A5F) and Features (0x2A60).

Source: ble-health.md §2.4 (gatt-xml plx_*.xml; Spezi PLX*.swift). Measurement status
and device/sensor status become flags and conditions, never numbers. Values a device
calls unavailable, invalid, demo, test or calibration data are not charted, and neither
are values taken while the device reports equipment or sensor failure or a sensor off
the patient: a wrong number in a chart is worse than none.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from drivers.ble.datetime_fields import DateTimeField, read_date_time
from drivers.ble.ieee11073 import SpecialValue, number
from drivers.ble.payload import PayloadReader, reject_reserved
from vitalsd.model import (
    Condition,
    DeviceEvent,
    DriverReport,
    EventSeverity,
    Flag,
    Measurement,
    Metric,
    Unit,
)

MEASUREMENT_STATUS_BITS = {
    5: "measurement ongoing",
    6: "early estimated data",
    7: "validated data",
    8: "fully qualified data",
    9: "data from measurement storage",
    10: "data for demonstration",
    11: "data for testing",
    12: "calibration ongoing",
    13: "measurement unavailable",
    14: "questionable measurement detected",
    15: "invalid measurement detected",
}
DEVICE_STATUS_BITS = {
    0: "extended display update ongoing",
    1: "equipment malfunction detected",
    2: "signal processing irregularity detected",
    3: "inadequate signal detected",
    4: "poor signal detected",
    5: "low perfusion detected",
    6: "erratic signal detected",
    7: "non-pulsatile signal detected",
    8: "questionable pulse detected",
    9: "signal analysis ongoing",
    10: "sensor interference detected",
    11: "sensor unconnected to user",
    12: "unknown sensor connected",
    13: "sensor displaced",
    14: "sensor malfunctioning",
    15: "sensor disconnected",
}
FEATURE_BITS = {
    0: "measurement status",
    1: "device and sensor status",
    2: "spot-check measurement storage",
    3: "spot-check time stamp",
    4: "SpO2PR-Fast",
    5: "SpO2PR-Slow",
    6: "pulse amplitude index",
    7: "multiple bonds",
}
_NOT_CHARTED_MS = frozenset({10, 11, 12, 13, 15})
_NOT_CHARTED_DS = frozenset({1, 11, 12, 13, 14, 15})
_DS_CONDITION = {
    1: Condition.DEVICE_ERROR,
    2: Condition.LOW_SIGNAL_QUALITY,
    3: Condition.LOW_SIGNAL_QUALITY,
    4: Condition.LOW_SIGNAL_QUALITY,
    5: Condition.LOW_PERFUSION,
    6: Condition.LOW_SIGNAL_QUALITY,
    7: Condition.LOW_SIGNAL_QUALITY,
    8: Condition.LOW_SIGNAL_QUALITY,
    9: Condition.PULSE_SEARCH,
    10: Condition.INTERFERENCE,
    11: Condition.SENSOR_OFF,
    12: Condition.SENSOR_UNRECOGNIZED,
    13: Condition.SENSOR_OFF,
    14: Condition.SENSOR_FAULT,
    15: Condition.NO_SENSOR,
}
_DS_FLAG = {
    2: Flag.LOW_SIGNAL_QUALITY,
    3: Flag.LOW_SIGNAL_QUALITY,
    4: Flag.LOW_SIGNAL_QUALITY,
    5: Flag.LOW_PERFUSION,
    6: Flag.LOW_SIGNAL_QUALITY,
    7: Flag.LOW_SIGNAL_QUALITY,
    8: Flag.LOW_SIGNAL_QUALITY,
    10: Flag.INTERFERENCE,
}


def bits(value: int) -> frozenset[int]:
    return frozenset(b for b in range(value.bit_length()) if value >> b & 1)


def describe(value: int, names: dict[int, str]) -> list[str]:
    return [names.get(b, f"reserved bit {b}") for b in sorted(bits(value))]


@dataclass(frozen=True, slots=True)
class PlxRecord:
    """Spot-check or continuous; ``fast``/``slow`` only on continuous values."""

    spo2: Decimal | SpecialValue
    pulse_rate: Decimal | SpecialValue
    continuous: bool = False
    time_stamp: DateTimeField | None = None
    clock_not_set: bool = False
    fast: tuple[Decimal | SpecialValue, Decimal | SpecialValue] | None = None
    slow: tuple[Decimal | SpecialValue, Decimal | SpecialValue] | None = None
    measurement_status: int | None = None
    device_status: int | None = None
    pulse_amplitude_index: Decimal | SpecialValue | None = None


def parse_spot_check(data: bytes) -> PlxRecord:
    name = "PLX Spot-check Measurement"
    reader = PayloadReader(name, data)
    flags = reader.uint(1, "flags")
    reject_reserved(name, flags, 0x1F)
    spo2, pr = reader.sfloat("SpO2"), reader.sfloat("pulse rate")
    stamp = read_date_time(reader) if flags & 0x01 else None
    ms = reader.uint(2, "measurement status") if flags & 0x02 else None
    ds = reader.uint(3, "device and sensor status") if flags & 0x04 else None
    pai = reader.sfloat("pulse amplitude index") if flags & 0x08 else None
    reader.finish()
    return PlxRecord(spo2, pr, False, stamp, bool(flags & 0x10), None, None, ms, ds, pai)


def parse_continuous(data: bytes) -> PlxRecord:
    name = "PLX Continuous Measurement"
    reader = PayloadReader(name, data)
    flags = reader.uint(1, "flags")
    reject_reserved(name, flags, 0x1F)
    spo2, pr = reader.sfloat("SpO2"), reader.sfloat("pulse rate")
    fast = (reader.sfloat("SpO2 fast"), reader.sfloat("PR fast")) if flags & 0x01 else None
    slow = (reader.sfloat("SpO2 slow"), reader.sfloat("PR slow")) if flags & 0x02 else None
    ms = reader.uint(2, "measurement status") if flags & 0x04 else None
    ds = reader.uint(3, "device and sensor status") if flags & 0x08 else None
    pai = reader.sfloat("pulse amplitude index") if flags & 0x10 else None
    reader.finish()
    return PlxRecord(spo2, pr, True, None, False, fast, slow, ms, ds, pai)


def plx_reports(record: PlxRecord, group: str | None = None) -> list[DriverReport]:
    """The normal SpO2/PR (and PAI) as measurements, statuses as flags and events."""
    stamp = record.time_stamp.to_datetime() if record.time_stamp else None
    device_time = None if record.clock_not_set else stamp
    ms = bits(record.measurement_status or 0)
    ds = bits(record.device_status or 0)
    reports: list[DriverReport] = []
    if record.device_status is not None:
        conditions = frozenset(_DS_CONDITION[b] for b in ds if b in _DS_CONDITION)
        text = "; ".join(describe(record.device_status, DEVICE_STATUS_BITS)) or "all clear"
        reports.append(
            DeviceEvent(
                "conditions",
                text,
                EventSeverity.WARNING if conditions else EventSeverity.INFO,
                conditions,
                device_code=f"0x{record.device_status:06x}",
                device_time=device_time,
            )
        )
    withheld = sorted((ms & _NOT_CHARTED_MS) | {b + 16 for b in ds & _NOT_CHARTED_DS})
    if withheld:
        names = [
            MEASUREMENT_STATUS_BITS[b] if b < 16 else DEVICE_STATUS_BITS[b - 16] for b in withheld
        ]
        reports.append(
            DeviceEvent(
                "plx_not_charted",
                "values not charted: " + "; ".join(names),
                EventSeverity.WARNING,
                device_code=f"0x{record.measurement_status or 0:04x}",
                device_time=device_time,
            )
        )
        return reports
    flags = {_DS_FLAG[b] for b in ds if b in _DS_FLAG}
    if 14 in ms:
        flags.add(Flag.ARTIFACT)
    if 6 in ms:
        flags.add(Flag.LOW_SIGNAL_QUALITY)
    if record.clock_not_set:
        flags.add(Flag.CLOCK_UNSET)
    stored = 9 in ms
    group = group or uuid.uuid4().hex
    for metric, value, unit in (
        (Metric.SPO2, record.spo2, Unit.PERCENT),
        (Metric.PULSE_RATE_OXIMETER, record.pulse_rate, Unit.PER_MIN),
        (Metric.PERFUSION_INDEX, record.pulse_amplitude_index, Unit.PERCENT),
    ):
        found = number(value)
        if found is not None:
            reports.append(
                Measurement(metric, found, unit, device_time, frozenset(flags), group, stored)
            )
    return reports


@dataclass(frozen=True, slots=True)
class PlxFeatures:
    supported: int
    measurement_status_support: int | None = None
    device_status_support: int | None = None

    def describe(self) -> str:
        parts = [
            "supports: " + (", ".join(describe(self.supported, FEATURE_BITS)) or "nothing optional")
        ]
        if self.measurement_status_support is not None:
            found = describe(self.measurement_status_support, MEASUREMENT_STATUS_BITS)
            parts.append("can report: " + (", ".join(found) or "no status"))
        if self.device_status_support is not None:
            found = describe(self.device_status_support, DEVICE_STATUS_BITS)
            parts.append("can report: " + (", ".join(found) or "no device status"))
        return "; ".join(parts)


def parse_features(data: bytes) -> PlxFeatures:
    reader = PayloadReader("PLX Features", data)
    supported = reader.uint(2, "supported features")
    ms = reader.uint(2, "measurement status support") if supported & 0x01 else None
    ds = reader.uint(3, "device and sensor status support") if supported & 0x02 else None
    reader.finish()
    return PlxFeatures(supported, ms, ds)


def decode_spot_check(data: bytes) -> list[DriverReport]:
    return plx_reports(parse_spot_check(data))


def decode_continuous(data: bytes) -> list[DriverReport]:
    return plx_reports(parse_continuous(data))


def decode_features(data: bytes) -> list[DriverReport]:
    return [DeviceEvent("plx_features", parse_features(data).describe())]
