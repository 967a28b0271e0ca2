"""Xiaomi Mi Scale service data: weight broadcast in advertisements, no connection.

Source: ble-health.md §3.4-3.5 and §4.1 — ``github:Bluetooth-Devices/xiaomi-ble``
(``parser.py`` ``_parse_scale_v1``/``_parse_scale_v2``, vectors in ``tests/test_parser.py``).

- Mi Scale v1 (XMTZC01HM/04HM), service data under 0x181D, 10 bytes: control (bit 0 lb,
  bit 4 jin, bit 5 stabilized, bit 7 weight removed), weight uint16 LE (kg×200, lb×100,
  jin×100), Date Time (7). It looks like a SIG Weight Measurement but is a fixed layout
  with vendor flag bits.
- Mi Body Composition Scale 2 (XMTZC02HM/05HM), under 0x181B, 13 bytes: control byte 0
  (bit 0 lb) and byte 1 (bit 1 impedance stable, bit 5 stabilized, bit 6 jin, bit 7
  removed), Date Time (7), impedance uint16 LE (Ω), weight uint16 LE (as v1).

Only a stabilized weight that is not "removed" is a reading. The scale repeats it in
every advertisement for a while; the time stamp in the payload (the scale's clock,
often never set: 1970) names the weighing, and ``WeighingDebouncer`` reports each once.
A jin (市斤) is exactly 0.5 kg, so jin readings are reported in kg without rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from drivers.ble.datetime_fields import DateTimeField, read_date_time
from drivers.ble.payload import PayloadError, PayloadReader
from vitalsd.links.gatt import uuid16
from vitalsd.model import DeviceEvent, DriverReport, Measurement, Metric, Unit

MI_SCALE_V1 = uuid16(0x181D)
MI_SCALE_V2 = uuid16(0x181B)
V1_LEN, V2_LEN = 10, 13


@dataclass(frozen=True, slots=True)
class MiWeighing:
    model: str
    unit: str  # "kg", "lb" or "jin": as the scale displays it
    raw: int
    stabilized: bool
    removed: bool
    time_stamp: DateTimeField
    impedance_ohm: int | None = None  # v2, when the scale says it is stable

    @property
    def weight(self) -> tuple[Decimal, Unit]:
        """The weight in kg or lb, exactly."""
        if self.unit == "lb":
            return Decimal(self.raw).scaleb(-2), Unit.LB
        # kg×200 and jin×100 are the same number of kilograms: raw / 200.
        return Decimal(self.raw * 5).scaleb(-3), Unit.KG

    @property
    def counts(self) -> bool:
        return self.stabilized and not self.removed

    @property
    def key(self) -> str:
        """Names the weighing: the scale's time stamp (all readings of one share it)."""
        t = self.time_stamp
        return f"{t.year:04}-{t.month:02}-{t.day:02}T{t.hours:02}:{t.minutes:02}:{t.seconds:02}"


def parse_service_data(uuid: str, data: bytes) -> MiWeighing:
    """One service-data payload under ``uuid`` (full 128-bit form)."""
    data = bytes(data)
    if uuid == MI_SCALE_V1:
        name = "Mi Scale v1 service data (0x181D)"
        if len(data) != V1_LEN:
            raise PayloadError(f"{name}: {len(data)} bytes, expected {V1_LEN}")
        reader = PayloadReader(name, data)
        control = reader.uint(1, "control")
        raw = reader.uint(2, "weight")
        stamp = read_date_time(reader)
        unit = "lb" if control & 0x01 else "jin" if control & 0x10 else "kg"
        return MiWeighing(
            "Mi Scale v1", unit, raw, bool(control & 0x20), bool(control & 0x80), stamp
        )
    if uuid == MI_SCALE_V2:
        name = "Mi Body Composition Scale service data (0x181B)"
        if len(data) != V2_LEN:
            raise PayloadError(f"{name}: {len(data)} bytes, expected {V2_LEN}")
        reader = PayloadReader(name, data)
        c0 = reader.uint(1, "control byte 0")
        c1 = reader.uint(1, "control byte 1")
        stamp = read_date_time(reader)
        impedance = reader.uint(2, "impedance")
        raw = reader.uint(2, "weight")
        unit = "lb" if c0 & 0x01 else "jin" if c1 & 0x40 else "kg"
        return MiWeighing(
            "Mi Body Composition Scale 2",
            unit,
            raw,
            stabilized=bool(c1 & 0x20),
            removed=bool(c1 & 0x80),
            time_stamp=stamp,
            impedance_ohm=impedance if c1 & 0x02 else None,
        )
    raise PayloadError(
        f"no Mi scale decoder for service data UUID {uuid}; known: 181d (v1), 181b (v2)"
    )


def weighing_reports(weighing: MiWeighing) -> list[DriverReport]:
    """The weight when it counts; otherwise an event saying why not (no number in it)."""
    if weighing.removed:
        return [DeviceEvent("weighing", "weight removed (person stepped off)")]
    if not weighing.stabilized:
        return [DeviceEvent("weighing", "weighing in progress (not stabilized)")]
    value, unit = weighing.weight
    return [
        Measurement(
            Metric.BODY_WEIGHT,
            value,
            unit,
            weighing.time_stamp.to_datetime(),
            group=f"mi-scale-{weighing.key}",
        )
    ]


def decode_service_data(uuid: str, data: bytes) -> list[DriverReport]:
    return weighing_reports(parse_service_data(uuid, data))


class WeighingDebouncer:
    """One measurement per weighing however often the scale repeats it."""

    def __init__(self, last_key: str | None = None) -> None:
        self.last_key = last_key

    def accept(self, weighing: MiWeighing) -> bool:
        if not weighing.counts or weighing.key == self.last_key:
            return False
        self.last_key = weighing.key
        return True
