"""The simulated health peripherals behave as ble-health.md describes the devices.

Driven through the plain GATT link (no driver), so the simulator's own behaviour is
pinned: RACP refuses a request before its indications are on (0xFD, §1.5), counts
records (§2.6 ``05 00 <uint16>``), A&D pushes only unsent records without "send all
data" and hangs up (§4.1), Omron refuses unencrypted reads (ATT 0x0F, §1.5) until bonded.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from bumble.link import LocalLink

from simulators.ble import health_records as rec
from simulators.ble.health_devices import AND_CHARACTERISTIC, AND_SEND_ALL, running
from simulators.ble.health_peripheral import StoredRecord
from vitalsd.errors import BleGattError
from vitalsd.links.ble_bumble import BumbleCentral
from vitalsd.links.gatt import uuid16

ADDRESS = "C0:11:22:33:44:55"
RACP = uuid16(0x2A52)
WHEN = datetime(2024, 3, 15, 8, 30)


def glucose(sequence: int) -> StoredRecord:
    return StoredRecord(rec.glucose(sequence, WHEN, 100 + sequence), sequence)


async def test_advertises_name_and_service(
    ble_radio: LocalLink, ble_central: BumbleCentral
) -> None:
    stream = ble_central.advertisements()
    async with running(ble_radio, "and_ua651ble"):
        async with asyncio.timeout(10):
            adv = await anext(aiter(stream))
    assert adv.name == "A&D_UA-651_4455"
    assert uuid16(0x1810) in adv.service_uuids


async def test_racp_needs_indications_then_counts(
    ble_radio: LocalLink, ble_central: BumbleCentral
) -> None:
    async with running(ble_radio, "glucose_meter", stored=[glucose(1), glucose(2)]):
        conn = await ble_central.connect(ADDRESS, timeout=10)
        await conn.services()
        with pytest.raises(BleGattError) as err:
            await conn.write(RACP, bytes.fromhex("04 01"))
        assert err.value.code == 0xFD  # client characteristic configuration improperly set
        answers: list[bytes] = []
        got = asyncio.Event()

        def on_racp(value: bytes) -> None:
            answers.append(value)
            got.set()

        await conn.subscribe(uuid16(0x2A18), lambda _v: None)
        await conn.subscribe(RACP, on_racp)
        await conn.write(RACP, bytes.fromhex("04 01"))  # report number of records, all
        async with asyncio.timeout(10):
            await got.wait()
        assert answers == [bytes.fromhex("05 00 02 00")]
        got.clear()
        await conn.write(RACP, bytes.fromhex("01 02 01 01 00"))  # ≤: not offered
        async with asyncio.timeout(10):
            await got.wait()
        assert answers[-1] == bytes.fromhex("06 00 01 04")  # operator not supported
        await conn.disconnect()


@pytest.mark.parametrize("send_all", [False, True])
async def test_and_pushes_unsent_or_all_then_hangs_up(
    ble_radio: LocalLink, ble_central: BumbleCentral, send_all: bool
) -> None:
    first = rec.blood_pressure(125, 80, 102, time=WHEN)
    second = rec.blood_pressure(118, 80, 93, time=WHEN)
    memory = [StoredRecord(first, 1, transferred=True), StoredRecord(second, 2)]
    async with running(ble_radio, "and_ua651ble", stored=memory) as cuff:
        conn = await ble_central.connect(ADDRESS, timeout=10)
        await conn.services()
        if send_all:
            await conn.write(AND_CHARACTERISTIC.lower(), AND_SEND_ALL)
        got: list[bytes] = []
        await conn.subscribe(uuid16(0x2A35), got.append)
        async with asyncio.timeout(10):
            reason = await conn.wait_disconnected()
    assert "REMOTE_USER_TERMINATED" in reason
    assert got == ([first, second] if send_all else [second])
    assert cuff.recorded.sent == got


async def test_omron_wants_a_bond(ble_radio: LocalLink, ble_central: BumbleCentral) -> None:
    async with running(ble_radio, "omron_bp"):
        conn = await ble_central.connect(ADDRESS, timeout=10)
        await conn.services()
        with pytest.raises(BleGattError) as err:
            await conn.read(uuid16(0x2A49))
        assert err.value.code == 0x0F  # insufficient encryption
        await conn.pair()
        assert await conn.read(uuid16(0x2A49)) == b"\x00\x00"
        await conn.disconnect()
