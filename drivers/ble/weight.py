"""Weight Measurement (0x2A9D) and Body Composition Measurement (0x2A9C).

Source: ble-health.md §2.3 (gatt-xml weight_measurement.xml, body_composition_*.xml).
The weight LSB is always 0.005 kg or 0.01 lb, whatever resolution the scale advertises
in its feature characteristic (openScale reads it so; Spezi's scaling is a misreading).
0xFFFF in a weight means "measurement unsuccessful" and never becomes a number.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from drivers.ble.datetime_fields import DateTimeField, read_date_time
from drivers.ble.payload import PayloadError, PayloadReader, reject_reserved
from vitalsd.model import DeviceEvent, DriverReport, EventSeverity, Measurement, Metric, Unit

UNSUCCESSFUL = 0xFFFF
USER_UNKNOWN = 0xFF

WS_IMPERIAL, WS_TIME_STAMP, WS_USER_ID, WS_BMI_HEIGHT = 0x01, 0x02, 0x04, 0x08
WS_FLAGS_DEFINED = 0x0F

# Body Composition flags (uint16), bit order = field order after the time stamp.
BC_IMPERIAL, BC_TIME_STAMP, BC_USER_ID = 0x0001, 0x0002, 0x0004
BC_BASAL, BC_MUSCLE_PCT, BC_MUSCLE_MASS, BC_FAT_FREE = 0x0008, 0x0010, 0x0020, 0x0040
BC_SOFT_LEAN, BC_WATER, BC_IMPEDANCE, BC_WEIGHT = 0x0080, 0x0100, 0x0200, 0x0400
BC_HEIGHT, BC_MULTI_PACKET = 0x0800, 0x1000
BC_FLAGS_DEFINED = 0x1FFF
# Optional fields after flags and body fat %, in wire order, with their sizes in bytes.
BC_OPTIONAL = (
    (BC_TIME_STAMP, 7),
    (BC_USER_ID, 1),
    *((bit, 2) for bit in (BC_BASAL, BC_MUSCLE_PCT, BC_MUSCLE_MASS, BC_FAT_FREE)),
    *((bit, 2) for bit in (BC_SOFT_LEAN, BC_WATER, BC_IMPEDANCE, BC_WEIGHT, BC_HEIGHT)),
)


def mass(raw: int, imperial: bool) -> Decimal | None:
    """A mass field: 0.01 lb or 0.005 kg per step; 0xFFFF = unsuccessful → None."""
    if raw == UNSUCCESSFUL:
        return None
    return Decimal(raw).scaleb(-2) if imperial else Decimal(raw * 5).scaleb(-3)


def height(raw: int, imperial: bool) -> Decimal:
    return Decimal(raw).scaleb(-1) if imperial else Decimal(raw).scaleb(-3)


def mass_unit(imperial: bool) -> Unit:
    return Unit.LB if imperial else Unit.KG


@dataclass(frozen=True, slots=True)
class WeightRecord:
    imperial: bool
    weight: Decimal | None  # None: measurement unsuccessful
    time_stamp: DateTimeField | None = None
    user_id: int | None = None
    bmi: Decimal | None = None  # kg/m2
    height: Decimal | None = None  # m or in


def parse_weight(data: bytes) -> WeightRecord:
    name = "Weight Measurement"
    reader = PayloadReader(name, data)
    flags = reader.uint(1, "flags")
    reject_reserved(name, flags, WS_FLAGS_DEFINED)
    imperial = bool(flags & WS_IMPERIAL)
    weight = mass(reader.uint(2, "weight"), imperial)
    stamp = read_date_time(reader) if flags & WS_TIME_STAMP else None
    user = reader.uint(1, "user id") if flags & WS_USER_ID else None
    bmi = tall = None
    if flags & WS_BMI_HEIGHT:
        bmi = Decimal(reader.uint(2, "BMI")).scaleb(-1)
        tall = height(reader.uint(2, "height"), imperial)
    reader.finish()
    return WeightRecord(imperial, weight, stamp, user, bmi, tall)


def weight_reports(record: WeightRecord, group: str | None = None) -> list[DriverReport]:
    device_time = record.time_stamp.to_datetime() if record.time_stamp else None
    if record.weight is None:
        return [_unsuccessful(device_time)]
    group = group or uuid.uuid4().hex
    reports: list[DriverReport] = [
        Measurement(
            Metric.BODY_WEIGHT, record.weight, mass_unit(record.imperial), device_time, group=group
        )
    ]
    if record.height is not None and record.height != 0:
        unit = Unit.INCH if record.imperial else Unit.M
        reports.append(
            Measurement(Metric.BODY_HEIGHT, record.height, unit, device_time, group=group)
        )
    if record.bmi is not None and record.bmi != 0:
        reports.append(
            Measurement(Metric.BMI, record.bmi, Unit.KG_PER_M2, device_time, group=group)
        )
    return reports


def _unsuccessful(device_time: datetime | None) -> DeviceEvent:
    return DeviceEvent(
        "weight_error",
        "scale reported an unsuccessful measurement",
        EventSeverity.WARNING,
        device_time=device_time,
    )


@dataclass(frozen=True, slots=True)
class BodyCompositionRecord:
    """Every field of 0x2A9C; masses in kg or lb, percentages in %, energy in kJ."""

    imperial: bool
    body_fat_percent: Decimal | None
    time_stamp: DateTimeField | None = None
    user_id: int | None = None
    basal_metabolism_kj: int | None = None
    muscle_percent: Decimal | None = None
    muscle_mass: Decimal | None = None
    fat_free_mass: Decimal | None = None
    soft_lean_mass: Decimal | None = None
    body_water_mass: Decimal | None = None
    impedance_ohm: Decimal | None = None
    weight: Decimal | None = None
    height: Decimal | None = None
    multiple_packet: bool = False  # this value is one part of a record split in two


def _percent(raw: int) -> Decimal | None:
    return None if raw == UNSUCCESSFUL else Decimal(raw).scaleb(-1)


def parse_body_composition(data: bytes) -> BodyCompositionRecord:
    name = "Body Composition Measurement"
    reader = PayloadReader(name, data)
    flags = reader.uint(2, "flags")
    reject_reserved(name, flags, BC_FLAGS_DEFINED, width=16)
    imp = bool(flags & BC_IMPERIAL)

    def opt(bit: int, field: str) -> int | None:
        return reader.uint(2, field) if flags & bit else None

    fat = _percent(reader.uint(2, "body fat percentage"))
    stamp = read_date_time(reader) if flags & BC_TIME_STAMP else None
    user = reader.uint(1, "user id") if flags & BC_USER_ID else None
    basal = opt(BC_BASAL, "basal metabolism")
    muscle_pct = opt(BC_MUSCLE_PCT, "muscle percentage")
    masses = [
        opt(bit, f)
        for bit, f in (
            (BC_MUSCLE_MASS, "muscle mass"),
            (BC_FAT_FREE, "fat free mass"),
            (BC_SOFT_LEAN, "soft lean mass"),
            (BC_WATER, "body water mass"),
        )
    ]
    impedance = opt(BC_IMPEDANCE, "impedance")
    weight = opt(BC_WEIGHT, "weight")
    tall = opt(BC_HEIGHT, "height")
    reader.finish()
    m = [None if raw is None else mass(raw, imp) for raw in masses]
    return BodyCompositionRecord(
        imperial=imp,
        body_fat_percent=fat,
        time_stamp=stamp,
        user_id=user,
        basal_metabolism_kj=None if basal in (None, UNSUCCESSFUL) else basal,
        muscle_percent=None if muscle_pct is None else _percent(muscle_pct),
        muscle_mass=m[0],
        fat_free_mass=m[1],
        soft_lean_mass=m[2],
        body_water_mass=m[3],
        impedance_ohm=None if impedance in (None, UNSUCCESSFUL) else Decimal(impedance).scaleb(-1),
        weight=None if weight is None else mass(weight, imp),
        height=None if tall in (None, UNSUCCESSFUL) else height(tall, imp),
        multiple_packet=bool(flags & BC_MULTI_PACKET),
    )


def body_composition_reports(
    record: BodyCompositionRecord, group: str | None = None
) -> list[DriverReport]:
    """Weight and height as measurements; the model has no metrics for the rest yet."""
    device_time = record.time_stamp.to_datetime() if record.time_stamp else None
    group = group or uuid.uuid4().hex
    reports: list[DriverReport] = []
    if record.weight is not None:
        unit = mass_unit(record.imperial)
        reports.append(
            Measurement(Metric.BODY_WEIGHT, record.weight, unit, device_time, group=group)
        )
    if record.height is not None and record.height != 0:
        unit = Unit.INCH if record.imperial else Unit.M
        reports.append(
            Measurement(Metric.BODY_HEIGHT, record.height, unit, device_time, group=group)
        )
    return reports


def decode_weight_measurement(data: bytes) -> list[DriverReport]:
    return weight_reports(parse_weight(data))


def is_split_part(data: bytes) -> bool:
    """A 0x2A9C value that is one of the two packets of a split record (flags bit 12)."""
    return len(data) >= 2 and bool(int.from_bytes(data[:2], "little") & BC_MULTI_PACKET)


def packet_length(data: bytes) -> int:
    """The length of the 0x2A9C packet that starts ``data``, from its flags."""
    if len(data) < 2:
        raise PayloadError("Body Composition Measurement: no flags")
    flags = int.from_bytes(data[:2], "little")
    return 4 + sum(size for bit, size in BC_OPTIONAL if flags & bit)


def join_parts(
    first: BodyCompositionRecord, second: BodyCompositionRecord
) -> BodyCompositionRecord:
    """One record from its two packets: each field from the packet that carries it
    (body fat %, mandatory, is in both; the first packet's is kept)."""
    if first.imperial != second.imperial:
        raise PayloadError("Body Composition Measurement: the two packets disagree on units")
    missing: dict[str, Any] = {
        f.name: getattr(second, f.name)
        for f in fields(BodyCompositionRecord)
        if getattr(first, f.name) is None
    }
    return replace(first, **missing, multiple_packet=False)


def parse_body_composition_record(data: bytes) -> BodyCompositionRecord:
    """One whole record: a single packet, or both packets of a split record back to back.

    ble-health.md §2.3: flags bit 12 means the record is split over two indications
    (ATT MTU 23); each packet has its own flags saying which fields it carries.
    """
    size = packet_length(data)
    first = parse_body_composition(data[:size])
    if not first.multiple_packet:
        return parse_body_composition(data)  # whole; trailing bytes rejected there
    if len(data) == size:
        raise PayloadError("Body Composition Measurement: first of two packets only")
    second = parse_body_composition(data[size:])
    if not second.multiple_packet:
        raise PayloadError("Body Composition Measurement: second packet lacks the split flag")
    return join_parts(first, second)


def decode_body_composition(data: bytes) -> list[DriverReport]:
    return body_composition_reports(parse_body_composition_record(data))
