"""Simulated health devices: the five SIG profiles (and a weight scale with Body
Composition 0x181B, §2.3), A&D UA-651BLE / UC-352BLE, Omron.

Sources (ble-health.md): §2.1-2.5 services and feature characteristics; §4.1 A&D: BPS
0x1810 / WSS 0x181D with Date Time 0x2A08 inside the service, vendor service
``233BF000-5A34-1B6D-975C-000D5690ABE4`` whose char ``233BF001-…`` takes ``02 00 E1``
("send all data", obniz UA651BLE citing A&D's document p.14); the cuff then indicates
every stored record (failed tries as all-NaN records, §3.1 #8) and hangs up. Omron
standard path: bonding required, CTS 0x2A2B write, RACP on BPS, "report last record"
``01 06`` (hass-omron ``_read_latest_via_bls_racp``); name ``BLEsmart_…``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime

from bumble.core import UUID
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.link import LocalLink

from simulators.ble.health_peripheral import (
    CURRENT_TIME,
    DATE_TIME,
    DeviceInfo,
    HealthPeripheral,
    Knobs,
    Profile,
    StoredRecord,
)
from simulators.ble.radio import powered_device

AND_SERVICE = "233BF000-5A34-1B6D-975C-000D5690ABE4"
AND_CHARACTERISTIC = "233BF001-5A34-1B6D-975C-000D5690ABE4"
AND_SEND_ALL = bytes.fromhex("0200E1")
KINDS = (
    "blood_pressure",
    "thermometer",
    "weight_scale",
    "body_composition_scale",
    "pulse_oximeter",
    "glucose_meter",
    "and_ua651ble",
    "and_uc352ble",
    "omron_bp",
)


def blood_pressure() -> Profile:
    """BPS: 0x2A35 indicate, 0x2A36 notify, BP Feature 0x2A49 (none optional)."""
    return Profile(0x1810, 0x2A35, live=0x2A36, reads={0x2A49: b"\x00\x00"})


def thermometer() -> Profile:
    """HTS: 0x2A1C indicate, 0x2A1E notify, Temperature Type 0x2A1D = 2 (body)."""
    return Profile(0x1809, 0x2A1C, live=0x2A1E, reads={0x2A1D: b"\x02"})


def weight_scale() -> Profile:
    """WSS: 0x2A9D indicate, WS Feature 0x2A9E = time stamp supported."""
    return Profile(0x181D, 0x2A9D, reads={0x2A9E: (0x01).to_bytes(4, "little")})


def body_composition_scale() -> Profile:
    """WSS 0x181D plus Body Composition 0x181B: 0x2A9C indicate (§2.3), BC Feature 0x2A9B =
    time stamp, impedance, weight (bits 0, 8, 9); records go on 0x2A9C with
    ``StoredRecord(characteristic=0x2A9C)``."""
    return replace(weight_scale(), extra_records=((0x181B, 0x2A9C),))


def pulse_oximeter() -> Profile:
    """PLXS: spot-check 0x2A5E indicate with RACP storage, continuous 0x2A5F notify,
    PLX Features 0x2A60 = spot-check storage + time stamp (bits 2, 3)."""
    return Profile(
        0x1822,
        0x2A5E,
        live=0x2A5F,
        reads={0x2A60: (0x000C).to_bytes(2, "little")},
        clock=CURRENT_TIME,
        racp=True,
    )


def glucose_meter() -> Profile:
    """GLS: 0x2A18 notify, RACP, Glucose Feature 0x2A51 (none); clock through CTS."""
    return Profile(
        0x1808, 0x2A18, notify=True, reads={0x2A51: b"\x00\x00"}, clock=CURRENT_TIME, racp=True
    )


class AndPeripheral(HealthPeripheral):
    """An A&D device: pushes records not yet sent, or all of them after ``02 00 E1``."""

    def __init__(self, device: Device, profile: Profile, **kwargs: object) -> None:
        self.send_all = False
        vendor: Characteristic[bytes] = Characteristic(
            UUID(AND_CHARACTERISTIC),
            Characteristic.Properties.READ | Characteristic.Properties.WRITE,
            Characteristic.Permissions.from_string("READABLE|WRITEABLE"),
            CharacteristicValue[bytes](read=lambda _c: b"\x00", write=self._vendor_write),
        )
        kwargs.setdefault("extra_services", [Service(UUID(AND_SERVICE), [vendor])])
        super().__init__(device, profile, **kwargs)  # type: ignore[arg-type]

    def _vendor_write(self, _connection: Connection, value: bytes) -> None:
        self.recorded.vendor_writes.append(bytes(value))
        if bytes(value) == AND_SEND_ALL:
            self.send_all = True

    def _on_connection(self, connection: Connection) -> None:
        self.send_all = False
        super()._on_connection(connection)

    def records_to_push(self) -> list[StoredRecord]:
        return list(self.stored) if self.send_all else super().records_to_push()


def and_info(model: str) -> DeviceInfo:
    return DeviceInfo(
        manufacturer="A&D Medical",
        model=model,
        serial="5140300123",
        firmware="1.06",
        # System ID (DIS 0x2A23): 40-bit manufacturer id then 24-bit OUI, both LE.
        system_id=bytes.fromhex("C3B2A1FEFF1F0900"),
    )


def omron_info() -> DeviceInfo:
    return DeviceInfo(manufacturer="OMRON HEALTHCARE", model="BP7000", serial="2019110800123")


@contextlib.asynccontextmanager
async def running(
    link: LocalLink | None,
    kind: str,
    *,
    transport: str | None = None,
    address: str = "C0:11:22:33:44:55",
    name: str | None = None,
    stored: list[StoredRecord] | None = None,
    live: list[bytes] | None = None,
    knobs: Knobs | None = None,
    clock_unset: bool = True,
    reads: dict[int, bytes] | None = None,
) -> AsyncIterator[HealthPeripheral]:
    """A device of ``kind`` (one of ``KINDS``) advertising on the virtual ``link`` or on a
    real HCI ``transport`` (``usb:0``); stopped and awaited on exit. ``reads`` replaces
    feature/type values (``{0x2A1D: b"\x03"}``: an ear thermometer)."""
    knobs = knobs or Knobs()
    info = DeviceInfo()
    profile: Profile
    match kind:
        case "and_ua651ble" | "and_uc352ble":
            bp = kind == "and_ua651ble"
            profile = replace(blood_pressure() if bp else weight_scale(), live=None)
            info = and_info("UA-651BLE" if bp else "UC-352BLE")
            name = name or ("A&D_UA-651_4455" if bp else "A&D_UC-352_4455")
        case "omron_bp":
            profile = replace(blood_pressure(), clock=CURRENT_TIME, racp=True, live=None)
            info = omron_info()
            knobs = replace(knobs, require_pairing=True)
            name = name or "BLEsmart_0000011F" + address.replace(":", "")
        case _:
            profile = {
                "blood_pressure": blood_pressure,
                "thermometer": thermometer,
                "weight_scale": weight_scale,
                "body_composition_scale": body_composition_scale,
                "pulse_oximeter": pulse_oximeter,
                "glucose_meter": glucose_meter,
            }[kind]()
    assert profile.clock in (DATE_TIME, CURRENT_TIME)
    if reads:
        profile = replace(profile, reads={**profile.reads, **reads})
    device_name = name or f"SIM-{kind}"
    async with powered_device(device_name, address, link=link, transport=transport) as device:
        cls = AndPeripheral if kind.startswith("and_") else HealthPeripheral
        peripheral = cls(
            device, profile, stored=stored, live=live, knobs=knobs, info=info, clock=None
        )
        if not clock_unset:
            peripheral.clock = datetime(2020, 1, 1)  # noqa: DTZ001 - device-local clock
        await peripheral.start(device_name)
        try:
            yield peripheral
        finally:
            await peripheral.close()
