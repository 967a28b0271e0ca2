"""Temperature Measurement (0x2A1C), Temperature Type (0x2A1D), Intermediate (0x2A1E).

Source: ble-health.md §2.2 (gatt-xml temperature_measurement.xml, temperature_type.xml).
Value is an IEEE 11073 FLOAT in °C or °F; the optional type says the body site.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum

from drivers.ble.datetime_fields import DateTimeField, read_date_time
from drivers.ble.ieee11073 import SpecialValue, number
from drivers.ble.payload import PayloadError, PayloadReader, reject_reserved
from vitalsd.model import DeviceEvent, DriverReport, EventSeverity, Measurement, Metric, Unit

FLAG_FAHRENHEIT = 0x01
FLAG_TIME_STAMP = 0x02
FLAG_TYPE = 0x04
FLAGS_DEFINED = 0x07


class TemperatureType(IntEnum):
    ARMPIT = 1
    BODY = 2
    EAR = 3  # usually the ear lobe
    FINGER = 4
    GASTRO_INTESTINAL = 5
    MOUTH = 6
    RECTUM = 7
    TOE = 8
    TYMPANUM = 9


# Sites with no metric of their own are charted as body temperature.
_SITE_METRIC = {
    TemperatureType.ARMPIT: Metric.TEMP_AXILLARY,
    TemperatureType.BODY: Metric.TEMP_BODY,
    TemperatureType.EAR: Metric.TEMP_EAR,
    TemperatureType.FINGER: Metric.TEMP_BODY,
    TemperatureType.GASTRO_INTESTINAL: Metric.TEMP_BODY,
    TemperatureType.MOUTH: Metric.TEMP_ORAL,
    TemperatureType.RECTUM: Metric.TEMP_RECTAL,
    TemperatureType.TOE: Metric.TEMP_BODY,
    TemperatureType.TYMPANUM: Metric.TEMP_TYMPANIC,
}


@dataclass(frozen=True, slots=True)
class TemperatureRecord:
    unit: Unit  # CEL or DEGF
    value: Decimal | SpecialValue
    time_stamp: DateTimeField | None = None
    site: TemperatureType | None = None
    intermediate: bool = False


def _site(code: int, where: str) -> TemperatureType:
    try:
        return TemperatureType(code)
    except ValueError:
        raise PayloadError(f"{where}: reserved temperature type {code}") from None


def parse_temperature(data: bytes, *, intermediate: bool = False) -> TemperatureRecord:
    name = "Intermediate Temperature" if intermediate else "Temperature Measurement"
    reader = PayloadReader(name, data)
    flags = reader.uint(1, "flags")
    reject_reserved(name, flags, FLAGS_DEFINED)
    value = reader.float32("temperature")
    stamp = read_date_time(reader) if flags & FLAG_TIME_STAMP else None
    site = _site(reader.uint(1, "temperature type"), name) if flags & FLAG_TYPE else None
    reader.finish()
    unit = Unit.DEGF if flags & FLAG_FAHRENHEIT else Unit.CEL
    return TemperatureRecord(unit, value, stamp, site, intermediate)


def decode_temperature_type(data: bytes) -> TemperatureType:
    reader = PayloadReader("Temperature Type", data)
    site = _site(reader.uint(1, "temperature type"), "Temperature Type")
    reader.finish()
    return site


def temperature_reports(
    record: TemperatureRecord, site: TemperatureType | None = None
) -> list[DriverReport]:
    """``site`` is the fixed site read from 0x2A1D, used when the record names none."""
    device_time = record.time_stamp.to_datetime() if record.time_stamp else None
    value = number(record.value)
    if record.intermediate:
        text = f"measuring: {value} {record.unit}" if value is not None else "measuring"
        return [DeviceEvent("temperature_progress", text, device_time=device_time)]
    if value is None:
        return [
            DeviceEvent(
                "temperature_error",
                f"thermometer sent no value ({record.value})",
                EventSeverity.WARNING,
                device_time=device_time,
            )
        ]
    where = record.site or site
    metric = _SITE_METRIC[where] if where else Metric.TEMP_BODY
    return [Measurement(metric, value, record.unit, device_time)]


def decode_temperature_measurement(data: bytes) -> list[DriverReport]:
    return temperature_reports(parse_temperature(data))


def decode_intermediate_temperature(data: bytes) -> list[DriverReport]:
    return temperature_reports(parse_temperature(data, intermediate=True))


def decode_temperature_type_event(data: bytes) -> list[DriverReport]:
    site = decode_temperature_type(data)
    return [DeviceEvent("temperature_type", f"measurement site: {site.name.lower()}")]
