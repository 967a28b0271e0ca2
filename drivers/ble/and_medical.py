"""A&D Medical UA-651BLE (blood pressure) and UC-352BLE (scale).

Source: ble-health.md §4.1. Standard BPS 0x1810 / WSS 0x181D with a writable Date Time
0x2A08 inside the service, plus the vendor service ``233BF000-5A34-1B6D-975C-000D5690ABE4``:
writing ``02 00 E1`` to ``233BF001-…`` asks for all stored data (obniz UA651BLE, citing
A&D's document p.14). Order per obniz: that write, then the clock, then indications. The
device then indicates every stored record — failed tries as all-NaN records (§3.1 #8),
dropped here — and hangs up by itself.
"""

from __future__ import annotations

import logging

from drivers.ble.profiles import BleBloodPressureDriver, BleWeightScaleDriver
from drivers.ble.session_plan import ClockWrite, RecordSource, SessionPlan
from vitalsd.links.gatt import BleTarget, GattConnection

_LOGGER = logging.getLogger(__name__)

AND_SERVICE = "233bf000-5a34-1b6d-975c-000d5690abe4"
AND_SETTINGS = "233bf001-5a34-1b6d-975c-000d5690abe4"
SEND_ALL_DATA = bytes.fromhex("0200E1")


async def request_all_data(connection: GattConnection) -> None:
    """Ask for every stored record; firmware without the vendor service sends new ones."""
    services = await connection.services()
    if not any(c.uuid == AND_SETTINGS for s in services for c in s.characteristics):
        _LOGGER.debug("no A&D settings characteristic: the device sends new records only")
        return
    await connection.write(AND_SETTINGS, SEND_ALL_DATA, response=True)


class AndUa651Driver(BleBloodPressureDriver):
    name = "and_ua651ble"
    summary = "A&D Medical UA-651BLE blood-pressure monitor (BPS 0x1810, sends all stored)"
    ble_advertised = (BleTarget(name="A&D_UA-651*"),)
    plan = SessionPlan(
        service=0x1810,
        records=(RecordSource(0x2A35),),
        clock=ClockWrite.DATE_TIME,
        reads=(0x2A49,),
        prepare=request_all_data,
        pushes_memory=True,
    )


class AndUc352Driver(BleWeightScaleDriver):
    name = "and_uc352ble"
    summary = "A&D Medical UC-352BLE scale (WSS 0x181D, sends all stored)"
    ble_advertised = (BleTarget(name="A&D_UC-352*"),)
    plan = SessionPlan(
        service=0x181D,
        records=(RecordSource(0x2A9D),),
        clock=ClockWrite.DATE_TIME,
        reads=(0x2A9E,),
        prepare=request_all_data,
        pushes_memory=True,
    )
