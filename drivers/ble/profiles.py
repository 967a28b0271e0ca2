"""One driver per SIG health profile: what to subscribe, which clock, how stored records come.

Sources: ble-health.md §2.1-2.6 (services, record characteristics, RACP), §1.6 (which
characteristics indicate and which notify), §4.2 (connect on advertisement, the device
hangs up). Device models with extra steps subclass these (and_medical.py, omron.py).
"""

from __future__ import annotations

from typing import ClassVar

from drivers.ble.base import BleDriver
from drivers.ble.session_plan import ClockWrite, RacpMode, RecordSource, SessionPlan
from drivers.ble.thermometer import (
    TemperatureType,
    decode_temperature_type,
    parse_temperature,
    temperature_reports,
)
from vitalsd.links.gatt import BleTarget, uuid16
from vitalsd.model import DeviceKind, DriverReport

_COMMON = frozenset({0x2A08, 0x2A2B, 0x2A52})  # clock, current time, RACP


class BleBloodPressureDriver(BleDriver):
    name = "ble_blood_pressure"
    summary = "Bluetooth SIG Blood Pressure Profile (0x1810: A&D UA-651BLE, Omron, Beurer)"
    kinds = frozenset({DeviceKind.BLOOD_PRESSURE})
    characteristics: ClassVar[frozenset[int]] = _COMMON | {0x2A35, 0x2A36}
    ble_advertised = (BleTarget(service=uuid16(0x1810)),)
    # BPS has no RACP of its own; newer cuffs (Omron) add one, used when present.
    plan = SessionPlan(
        service=0x1810,
        records=(RecordSource(0x2A35), RecordSource(0x2A36, live=True, required=False)),
        racp=RacpMode.ALL,
        reads=(0x2A49,),
    )


class BleThermometerDriver(BleDriver):
    name = "ble_thermometer"
    summary = "Bluetooth SIG Health Thermometer Profile (0x1809: Omron MC-6810T2)"
    kinds = frozenset({DeviceKind.THERMOMETER})
    characteristics: ClassVar[frozenset[int]] = _COMMON | {0x2A1C, 0x2A1D, 0x2A1E}
    ble_advertised = (BleTarget(service=uuid16(0x1809)),)
    plan = SessionPlan(
        service=0x1809,
        records=(RecordSource(0x2A1C), RecordSource(0x2A1E, live=True, required=False)),
        reads=(0x2A1D,),
    )
    site: TemperatureType | None = None  # the fixed site from 0x2A1D, when the device has one

    def on_read(self, uuid: int, data: bytes) -> None:
        if uuid == 0x2A1D:
            self.site = decode_temperature_type(data)

    def decode_record(self, uuid: int, data: bytes) -> list[DriverReport]:
        if uuid in (0x2A1C, 0x2A1E):
            record = parse_temperature(data, intermediate=uuid == 0x2A1E)
            return temperature_reports(record, self.site)
        return super().decode_record(uuid, data)


class BleWeightScaleDriver(BleDriver):
    name = "ble_weight_scale"
    summary = "Bluetooth SIG Weight Scale / Body Composition (0x181D/0x181B: A&D UC-352BLE)"
    kinds = frozenset({DeviceKind.SCALE})
    characteristics: ClassVar[frozenset[int]] = _COMMON | {0x2A9D, 0x2A9C}
    ble_advertised = (BleTarget(service=uuid16(0x181D)),)
    plan = SessionPlan(
        service=0x181D,
        records=(RecordSource(0x2A9D), RecordSource(0x2A9C, required=False)),
        reads=(0x2A9E,),
    )


class BlePulseOximeterDriver(BleDriver):
    name = "ble_pulse_oximeter"
    summary = "Bluetooth SIG Pulse Oximeter Profile (0x1822: PLX spot-check and continuous)"
    kinds = frozenset({DeviceKind.PULSE_OXIMETER})
    characteristics: ClassVar[frozenset[int]] = _COMMON | {0x2A5E, 0x2A5F, 0x2A60}
    ble_advertised = (BleTarget(service=uuid16(0x1822)),)
    # PLX storage has no sequence filter: "report all", de-duplicated by fingerprint.
    plan = SessionPlan(
        service=0x1822,
        records=(
            RecordSource(0x2A5E, required=False),
            RecordSource(0x2A5F, live=True, required=False),
        ),
        racp=RacpMode.ALL,
        reads=(0x2A60,),
    )


class BleGlucoseDriver(BleDriver):
    name = "ble_glucose"
    summary = "Bluetooth SIG Glucose Profile (0x1808: glucose meters, RACP)"
    kinds = frozenset({DeviceKind.GLUCOSE_METER})
    characteristics: ClassVar[frozenset[int]] = _COMMON | {0x2A18}
    ble_advertised = (BleTarget(service=uuid16(0x1808)),)
    plan = SessionPlan(
        service=0x1808,
        records=(RecordSource(0x2A18),),
        clock=ClockWrite.AUTO,
        racp=RacpMode.SINCE_SEQUENCE,
        reads=(0x2A51,),
    )
