"""Glucose Measurement (0x2A18).

Source: ble-health.md §2.5 (gatt-xml glucose_measurement.xml; Nordic glucose tests).
Concentration is an SFLOAT in kg/L or mol/L; charted as mg/dL (kg/L × 10⁵) or mmol/L
(mol/L × 10³), exact in Decimal. Control-solution results and results the meter itself
flags (strip errors, out of range, sample too small…) are not charted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from drivers.ble.datetime_fields import DateTimeField, read_date_time
from drivers.ble.ieee11073 import SpecialValue, number
from drivers.ble.payload import PayloadReader, reject_reserved
from vitalsd.model import DeviceEvent, DriverReport, EventSeverity, Flag, Measurement, Metric, Unit

F_TIME_OFFSET, F_CONCENTRATION, F_MOL_PER_L, F_STATUS, F_CONTEXT = 0x01, 0x02, 0x04, 0x08, 0x10
FLAGS_DEFINED = 0x1F
TYPE_CONTROL_SOLUTION = 10
LOCATION_CONTROL_SOLUTION = 4

SENSOR_STATUS_BITS = {
    0: "device battery low",
    1: "sensor malfunction",
    2: "sample size insufficient",
    3: "strip insertion error",
    4: "strip type incorrect",
    5: "result above device range",
    6: "result below device range",
    7: "sensor temperature too high",
    8: "sensor temperature too low",
    9: "sensor read interrupted",
    10: "general device fault",
    11: "time fault",
}
_HARMLESS = 0x0001 | 0x0800  # battery low, time fault: the value itself is fine


@dataclass(frozen=True, slots=True)
class GlucoseRecord:
    sequence: int
    base_time: DateTimeField
    time_offset_min: int | None = None
    concentration: Decimal | SpecialValue | None = None
    mol_per_l: bool = False  # False: kg/L
    sample_type: int | None = None  # low nibble
    sample_location: int | None = None  # high nibble
    sensor_status: int | None = None
    context_follows: bool = False


def parse_glucose(data: bytes) -> GlucoseRecord:
    name = "Glucose Measurement"
    reader = PayloadReader(name, data)
    flags = reader.uint(1, "flags")
    reject_reserved(name, flags, FLAGS_DEFINED)
    seq = reader.uint(2, "sequence number")
    base = read_date_time(reader, "base time")
    offset = reader.sint16("time offset") if flags & F_TIME_OFFSET else None
    conc = kind = where = None
    if flags & F_CONCENTRATION:
        conc = reader.sfloat("concentration")
        type_location = reader.uint(1, "type-sample location")
        kind, where = type_location & 0x0F, type_location >> 4
    status = reader.uint(2, "sensor status annunciation") if flags & F_STATUS else None
    reader.finish()
    return GlucoseRecord(
        seq,
        base,
        offset,
        conc,
        bool(flags & F_MOL_PER_L),
        kind,
        where,
        status,
        bool(flags & F_CONTEXT),
    )


def glucose_reports(record: GlucoseRecord) -> list[DriverReport]:
    status = record.sensor_status or 0
    time_fault = bool(status & 0x0800)
    device_time = None
    base = record.base_time.to_datetime()
    if base is not None and not time_fault:
        device_time = base + timedelta(minutes=record.time_offset_min or 0)
    value = number(record.concentration)
    if record.concentration is None:
        return []
    problems = [
        SENSOR_STATUS_BITS.get(b, f"reserved bit {b}")
        for b in range(16)
        if status >> b & 1 and not _HARMLESS >> b & 1
    ]
    if record.sample_type == TYPE_CONTROL_SOLUTION or (
        record.sample_location == LOCATION_CONTROL_SOLUTION
    ):
        problems.append("control solution test")
    if value is None:
        problems.append(f"no value ({record.concentration})")
    if problems:
        return [
            DeviceEvent(
                "glucose_not_charted",
                f"record {record.sequence} not charted: " + "; ".join(problems),
                EventSeverity.WARNING,
                device_code=f"0x{status:04x}",
                device_time=device_time,
            )
        ]
    assert value is not None
    flags: set[Flag] = set()
    if status & 0x0001:
        flags.add(Flag.LOW_BATTERY)
    if time_fault:
        flags.add(Flag.CLOCK_UNSET)
    if record.mol_per_l:
        shown, unit = value.scaleb(3), Unit.MMOL_PER_L
    else:
        shown, unit = value.scaleb(5), Unit.MG_PER_DL
    return [
        Measurement(
            Metric.GLUCOSE, shown, unit, device_time, frozenset(flags), sequence=record.sequence
        )
    ]


def decode_glucose_measurement(data: bytes) -> list[DriverReport]:
    return glucose_reports(parse_glucose(data))
