"""One driver per SIG health profile (decoding only until the GATT link exists)."""

from __future__ import annotations

from typing import ClassVar

from drivers.ble.base import BleDriver
from vitalsd.model import DeviceKind

_COMMON = frozenset({0x2A08, 0x2A2B, 0x2A52})  # clock, current time, RACP
_NOTE = " — decoding only: BLE link not available yet"


class BleBloodPressureDriver(BleDriver):
    name = "ble_blood_pressure"
    summary = "Bluetooth SIG Blood Pressure Profile (0x1810: A&D UA-651BLE, Omron, Beurer)" + _NOTE
    kinds = frozenset({DeviceKind.BLOOD_PRESSURE})
    characteristics: ClassVar[frozenset[int]] = _COMMON | {0x2A35, 0x2A36}


class BleThermometerDriver(BleDriver):
    name = "ble_thermometer"
    summary = "Bluetooth SIG Health Thermometer Profile (0x1809: Omron MC-6810T2)" + _NOTE
    kinds = frozenset({DeviceKind.THERMOMETER})
    characteristics: ClassVar[frozenset[int]] = _COMMON | {0x2A1C, 0x2A1D, 0x2A1E}


class BleWeightScaleDriver(BleDriver):
    name = "ble_weight_scale"
    summary = "Bluetooth SIG Weight Scale / Body Composition (0x181D/0x181B: A&D UC-352BLE)" + _NOTE
    kinds = frozenset({DeviceKind.SCALE})
    characteristics: ClassVar[frozenset[int]] = _COMMON | {0x2A9D, 0x2A9C}


class BlePulseOximeterDriver(BleDriver):
    name = "ble_pulse_oximeter"
    summary = "Bluetooth SIG Pulse Oximeter Profile (0x1822: PLX spot-check and continuous)" + _NOTE
    kinds = frozenset({DeviceKind.PULSE_OXIMETER})
    characteristics: ClassVar[frozenset[int]] = _COMMON | {0x2A5E, 0x2A5F, 0x2A60}


class BleGlucoseDriver(BleDriver):
    name = "ble_glucose"
    summary = "Bluetooth SIG Glucose Profile (0x1808: glucose meters, RACP)" + _NOTE
    kinds = frozenset({DeviceKind.GLUCOSE_METER})
    characteristics: ClassVar[frozenset[int]] = _COMMON | {0x2A18}
