"""The table of GATT characteristics vitalsd decodes: 16-bit UUID → decoder.

Used by ``vitalsd decode --characteristic`` through the BLE driver classes, and by the
profile drivers once the GATT link exists. ``tolerant`` decoders apply quirks.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from drivers.ble import blood_pressure, glucose, plx, quirks, racp, thermometer, weight
from drivers.ble.datetime_fields import decode_current_time, decode_date_time
from drivers.ble.payload import PayloadError
from vitalsd.model import DeviceEvent, DriverReport

Decode = Callable[[bytes], list[DriverReport]]


@dataclass(frozen=True, slots=True)
class Characteristic:
    uuid: int
    name: str
    decode: Decode
    tolerant: Decode | None = None  # the quirk-tolerant variant, where one exists


def _date_time(data: bytes) -> list[DriverReport]:
    value = decode_date_time(data)
    return [DeviceEvent("device_clock", f"device clock {_show(value.to_datetime(), value)}")]


def _current_time(data: bytes) -> list[DriverReport]:
    value = decode_current_time(data)
    text = f"device clock {_show(value.date_time.to_datetime(), value.date_time)}"
    if value.adjust_reasons:
        text += f" ({', '.join(value.adjust_reasons)})"
    return [DeviceEvent("device_clock", text)]


def _show(when: object, raw: object) -> str:
    return str(when) if when is not None else f"with unknown date ({raw})"


CHARACTERISTICS: dict[int, Characteristic] = {
    c.uuid: c
    for c in (
        Characteristic(
            0x2A35,
            "Blood Pressure Measurement",
            blood_pressure.decode_blood_pressure_measurement,
            quirks.decode_blood_pressure_tolerant,
        ),
        Characteristic(
            0x2A36,
            "Intermediate Cuff Pressure",
            blood_pressure.decode_intermediate_cuff_pressure,
            quirks.decode_intermediate_cuff_pressure_tolerant,
        ),
        Characteristic(
            0x2A1C, "Temperature Measurement", thermometer.decode_temperature_measurement
        ),
        Characteristic(0x2A1D, "Temperature Type", thermometer.decode_temperature_type_event),
        Characteristic(
            0x2A1E, "Intermediate Temperature", thermometer.decode_intermediate_temperature
        ),
        Characteristic(0x2A9D, "Weight Measurement", weight.decode_weight_measurement),
        Characteristic(0x2A9C, "Body Composition Measurement", weight.decode_body_composition),
        Characteristic(0x2A5E, "PLX Spot-check Measurement", plx.decode_spot_check),
        Characteristic(0x2A5F, "PLX Continuous Measurement", plx.decode_continuous),
        Characteristic(0x2A60, "PLX Features", plx.decode_features),
        Characteristic(0x2A18, "Glucose Measurement", glucose.decode_glucose_measurement),
        Characteristic(0x2A52, "Record Access Control Point", racp.decode_racp),
        Characteristic(0x2A08, "Date Time", _date_time),
        Characteristic(0x2A2B, "Current Time", _current_time),
    )
}


class UnknownCharacteristic(PayloadError):
    """No decoder for this UUID (in this profile)."""


def decode(
    uuid: int, data: bytes, *, tolerant: bool = False, allowed: frozenset[int] | None = None
) -> list[DriverReport]:
    """Decode one characteristic value; ``allowed`` limits it to one profile's UUIDs."""
    entry = CHARACTERISTICS.get(uuid)
    if entry is None or (allowed is not None and uuid not in allowed):
        known = sorted(CHARACTERISTICS if allowed is None else allowed)
        raise UnknownCharacteristic(
            f"no decoder for characteristic 0x{uuid:04x} here; known: "
            + ", ".join(f"{u:04x} ({CHARACTERISTICS[u].name})" for u in known)
        )
    fn = entry.tolerant if tolerant and entry.tolerant else entry.decode
    return fn(bytes(data))
