"""What both ``GattCentral`` adapters must do alike, run against each: bumble's own central
and the production bleak one (through the bumble-backed bleak backend), on one virtual
radio with the same test peripheral. Each adapter's own ways are in test_ble_link_<name>."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from bumble.link import LocalLink

from tests.ble.centrals import BLEAK, BUMBLE, Adapter, connected, first, seen
from tests.ble.peripherals import (
    ADDRESS,
    BOTH,
    COMPANY,
    CONTROL,
    HTS,
    INTERMEDIATE,
    NAME,
    SECRET,
    TEMP_MEASUREMENT,
    TEMP_TYPE,
    thermometer_peripheral,
)
from vitalsd.errors import BleGattError, BlePairingError, DeviceDisconnected, DeviceUnavailable
from vitalsd.links.gatt import GattCentral

SECOND = "C0:00:00:00:00:02"


@pytest.fixture(params=[BUMBLE, BLEAK], ids=["bumble", "bleak"])
def adapter(request: pytest.FixtureRequest) -> Adapter:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
async def central(adapter: Adapter, ble_radio: LocalLink) -> AsyncIterator[GattCentral]:
    async with adapter.open(ble_radio) as started:
        yield started


async def test_scan_fans_out_to_every_subscriber(
    ble_radio: LocalLink, adapter: Adapter, central: GattCentral
) -> None:
    one, two = central.advertisements(), central.advertisements()
    async with thermometer_peripheral(ble_radio):
        a, b = await asyncio.gather(first(one), first(two))
    assert a == b
    assert a.address == ADDRESS  # upper case, no "/P"
    assert a.name == NAME
    assert a.service_uuids == (HTS,)
    assert a.manufacturer_data == {COMPANY: b"\x08"}
    assert a.connectable
    assert adapter.described_as in central.description


async def test_gatt_session(ble_radio: LocalLink, adapter: Adapter, central: GattCentral) -> None:
    async with thermometer_peripheral(ble_radio) as thermo:
        await seen(central)
        conn = await central.connect(ADDRESS, timeout=10)
        assert conn.is_connected
        hts = next(s for s in await conn.services() if s.uuid == HTS)
        props = {c.uuid: c.properties for c in hts.characteristics}
        assert props[TEMP_MEASUREMENT] == {"indicate"}
        assert props[BOTH] == {"write", "notify", "indicate"}
        assert props[CONTROL] == {"write", "write-without-response"}
        assert await conn.read("2A1D") == b"\x02"
        assert await conn.read(TEMP_TYPE) == b"\x02"

        await conn.write(CONTROL, b"\x02\x00\xe1")
        await conn.write(CONTROL, b"\x01", response=False)

        got: list[tuple[str, bytes]] = []
        await conn.subscribe(TEMP_MEASUREMENT, lambda v: got.append(("temp", v)))
        await conn.subscribe(INTERMEDIATE, lambda v: got.append(("inter", v)))
        await conn.subscribe(BOTH, lambda v: got.append(("both", v)))
        # Sent the way the adapter subscribed: a peripheral sends only what was enabled.
        server = thermo.device
        send_both = (
            server.indicate_subscribers
            if adapter.prefers_indications
            else server.notify_subscribers
        )
        await thermo.indicate(b"\x06\x6e\x01\x00\xff")
        await send_both(thermo.both, b"\x06\x00\x01\x01")
        await thermo.notify(b"\x00\x60\x01\x00\xff")
        await conn.read(TEMP_TYPE)  # a round trip: the notifications sent before it are in
        assert got == [
            ("temp", b"\x06\x6e\x01\x00\xff"),
            ("both", b"\x06\x00\x01\x01"),
            ("inter", b"\x00\x60\x01\x00\xff"),
        ]
        await conn.unsubscribe(BOTH)
        await send_both(thermo.both, b"\xff")
        await conn.read(TEMP_TYPE)
        assert ("both", b"\xff") not in got

        await conn.write(BOTH, b"\x01\x01")
        await conn.disconnect()
        await conn.disconnect()  # twice is fine
        assert await conn.wait_disconnected() == "disconnected by vitalsd"
        assert not connected(conn)
    # The write without response is delivered too, in order.
    assert thermo.writes == [
        ("control", b"\x02\x00\xe1"),
        ("control", b"\x01"),
        ("both", b"\x01\x01"),
    ]
    with pytest.raises(DeviceDisconnected):
        await conn.read(TEMP_TYPE)


async def test_device_hangs_up(
    ble_radio: LocalLink, adapter: Adapter, central: GattCentral
) -> None:
    async with thermometer_peripheral(ble_radio) as thermo:
        await seen(central)
        conn = await central.connect(ADDRESS)
        await conn.services()
        await thermo.hang_up()
        assert adapter.hang_up_reason in await conn.wait_disconnected()
        assert not connected(conn)
        with pytest.raises(DeviceDisconnected, match="disconnected"):
            await conn.read(TEMP_TYPE)
        await conn.disconnect()
        # The slot came back: the next connect needs none to be freed by hand.
        await thermo.device.start_advertising()
        again = await central.connect(ADDRESS)
        await again.disconnect()


async def test_gatt_errors_are_clear(ble_radio: LocalLink, central: GattCentral) -> None:
    async with thermometer_peripheral(ble_radio):
        await seen(central)
        conn = await central.connect(ADDRESS)
        with pytest.raises(BleGattError, match="no characteristic 2a35"):
            await conn.read("2a35")
        with pytest.raises(BleGattError, match="does not offer indications"):
            await conn.subscribe(INTERMEDIATE, lambda v: None, indicate=True)
        with pytest.raises(BleGattError, match="paired first") as err:
            await conn.read(SECRET)
        assert err.value.code in (0x05, 0x0F)
        await conn.disconnect()


async def test_pair_then_encrypted_read(ble_radio: LocalLink, central: GattCentral) -> None:
    async with thermometer_peripheral(ble_radio):
        await seen(central)
        conn = await central.connect(ADDRESS)
        await conn.pair()
        assert await conn.read(SECRET) == b"\x21\x00"
        await conn.disconnect()


async def test_pairing_refused(
    ble_radio: LocalLink, adapter: Adapter, central: GattCentral
) -> None:
    async with thermometer_peripheral(ble_radio, pairable=False):
        await seen(central)
        conn = await central.connect(ADDRESS)
        with pytest.raises(BlePairingError, match=adapter.refused_pairing):
            await conn.pair()
        await conn.disconnect()


async def test_connection_slots_are_capped(ble_radio: LocalLink, adapter: Adapter) -> None:
    async with (
        adapter.open(ble_radio, max_connections=1) as central,
        thermometer_peripheral(ble_radio),
        thermometer_peripheral(ble_radio, address=SECOND),
    ):
        await seen(central)
        await seen(central, SECOND)
        conn = await central.connect(ADDRESS)
        with pytest.raises(DeviceUnavailable, match="connection slots busy"):
            await central.connect(SECOND, timeout=0.2)
        await conn.disconnect()
        second = await central.connect(SECOND)
        assert second.is_connected
        await second.disconnect()


async def test_close_ends_every_stream(ble_radio: LocalLink, adapter: Adapter) -> None:
    async with adapter.open(ble_radio) as central:
        stream = central.advertisements()
        async with thermometer_peripheral(ble_radio):
            await seen(central)
            conn = await central.connect(ADDRESS)
            await central.close()
            assert not conn.is_connected
    with pytest.raises(DeviceUnavailable, match="closed"):
        async for _ in stream:
            pass
    with pytest.raises(DeviceUnavailable, match="not running"):
        await central.connect(ADDRESS)
    with pytest.raises(DeviceUnavailable, match="closed"):
        await first(central.advertisements())  # one asked for after closing ends at once
