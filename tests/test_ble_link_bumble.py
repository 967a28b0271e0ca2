"""BumbleCentral/BumbleConnection against a bumble peripheral on the virtual radio:
real advertising, ATT, GATT and SMP bytes, in one process."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from bumble.controller import Controller
from bumble.link import LocalLink
from bumble.transport.tcp_server import open_tcp_server_transport_with_socket

from tests.ble.peripherals import (
    ADDRESS,
    BOTH,
    COMPANY,
    CONTROL,
    HANG_UP,
    HTS,
    INTERMEDIATE,
    NAME,
    SECRET,
    TEMP_MEASUREMENT,
    TEMP_TYPE,
    thermometer_peripheral,
)
from vitalsd.config.ble import BleConfig
from vitalsd.errors import (
    BleGattError,
    BlePairingError,
    DeviceDisconnected,
    DeviceTimeout,
    DeviceUnavailable,
)
from vitalsd.links.ble_bumble import BumbleCentral
from vitalsd.links.ble_pool import CentralPool, central_factory
from vitalsd.links.gatt import (
    Advertisement,
    BleLink,
    BleTarget,
    GattConnection,
    JsonCursorStore,
    uuid16,
)


def connected(conn: GattConnection) -> bool:
    return conn.is_connected  # a call, so mypy does not keep an earlier narrowing


async def first(stream: object, address: str = ADDRESS) -> Advertisement:
    async for adv in stream:  # type: ignore[attr-defined]
        if adv.address == address and adv.manufacturer_data:
            return adv  # type: ignore[no-any-return]
    raise AssertionError("stream ended")


async def test_scan_fans_out_to_every_subscriber(
    ble_radio: LocalLink, ble_central: BumbleCentral
) -> None:
    one, two = ble_central.advertisements(), ble_central.advertisements()
    async with thermometer_peripheral(ble_radio):
        a, b = await asyncio.gather(first(one), first(two))
    assert a == b
    assert a.address == ADDRESS  # upper case, no "/P"
    assert a.name == NAME
    assert a.service_uuids == (HTS,)
    assert a.manufacturer_data == {COMPANY: b"\x08"}
    assert a.connectable


async def test_ble_link_waits_for_its_own_device(
    ble_radio: LocalLink, ble_central: BumbleCentral, tmp_path: Path
) -> None:
    link = BleLink(
        ble_central,
        BleTarget(name="TEST-*", service=uuid16(0x1809)),
        JsonCursorStore(tmp_path / "c.json"),
    )
    async with (
        thermometer_peripheral(ble_radio, address="C0:00:00:00:00:01", name="OTHER"),
        thermometer_peripheral(ble_radio),
    ):
        adv = await link.next_advertisement()
    assert adv.address == ADDRESS
    assert "bumble virtual radio" in link.description


async def test_gatt_session(ble_radio: LocalLink, ble_central: BumbleCentral) -> None:
    async with thermometer_peripheral(ble_radio) as thermo:
        conn = await ble_central.connect(ADDRESS, timeout=10)
        assert conn.is_connected
        services = await conn.services()
        hts = next(s for s in services if s.uuid == HTS)
        props = {c.uuid: c.properties for c in hts.characteristics}
        assert props[TEMP_MEASUREMENT] == {"indicate"}
        assert props[CONTROL] == {"write", "write-without-response"}
        assert await conn.read("2A1D") == b"\x02"
        assert await conn.read(TEMP_TYPE) == b"\x02"

        await conn.write(CONTROL, b"\x02\x00\xe1")
        await conn.write(CONTROL, b"\x01", response=False)

        got: list[tuple[str, bytes]] = []
        await conn.subscribe(TEMP_MEASUREMENT, lambda v: got.append(("temp", v)))
        await conn.subscribe(INTERMEDIATE, lambda v: got.append(("inter", v)))
        await conn.subscribe(BOTH, lambda v: got.append(("both", v)))  # prefers indicate
        await thermo.notify(b"\x00\x60\x01\x00\xff")
        await thermo.indicate(b"\x06\x6e\x01\x00\xff")
        await thermo.device.indicate_subscribers(thermo.both, b"\x06\x00\x01\x01")
        # Indications are confirmed, so both have arrived once the awaits return.
        assert ("temp", b"\x06\x6e\x01\x00\xff") in got
        assert ("both", b"\x06\x00\x01\x01") in got
        await conn.unsubscribe(BOTH)
        await thermo.device.indicate_subscribers(thermo.both, b"\xff")
        assert ("both", b"\xff") not in got

        await conn.write(BOTH, b"\x01\x01")
        await conn.disconnect()
        await conn.disconnect()  # twice is fine
        assert await conn.wait_disconnected() == "disconnected by vitalsd"
        assert not connected(conn)
    assert thermo.writes[0] == ("control", b"\x02\x00\xe1")
    assert ("both", b"\x01\x01") in thermo.writes
    # The write without response is delivered too, in order.
    assert thermo.writes[:2] == [("control", b"\x02\x00\xe1"), ("control", b"\x01")]
    with pytest.raises(DeviceDisconnected):
        await conn.read(TEMP_TYPE)


async def test_device_hangs_up(ble_radio: LocalLink, ble_central: BumbleCentral) -> None:
    async with thermometer_peripheral(ble_radio) as thermo:
        conn = await ble_central.connect(ADDRESS)
        await conn.services()
        await thermo.hang_up()
        reason = await conn.wait_disconnected()
        assert "REMOTE_USER_TERMINATED" in reason
        assert not conn.is_connected
        with pytest.raises(DeviceDisconnected, match="disconnected"):
            await conn.read(TEMP_TYPE)
        await conn.disconnect()


async def test_gatt_errors_are_clear(ble_radio: LocalLink, ble_central: BumbleCentral) -> None:
    async with thermometer_peripheral(ble_radio):
        conn = await ble_central.connect(ADDRESS)
        with pytest.raises(BleGattError, match="no characteristic 2a35"):
            await conn.read("2a35")
        with pytest.raises(BleGattError, match="does not offer indications"):
            await conn.subscribe(INTERMEDIATE, lambda v: None, indicate=True)
        with pytest.raises(BleGattError, match="paired first") as err:
            await conn.read(SECRET)
        assert err.value.code in (0x05, 0x0F)
        await conn.disconnect()


async def test_pair_then_encrypted_read(ble_radio: LocalLink, ble_central: BumbleCentral) -> None:
    async with thermometer_peripheral(ble_radio):
        conn = await ble_central.connect(ADDRESS)
        await conn.pair()
        assert await conn.read(SECRET) == b"\x21\x00"
        await conn.disconnect()


async def test_pairing_refused(ble_radio: LocalLink, ble_central: BumbleCentral) -> None:
    async with thermometer_peripheral(ble_radio, pairable=False):
        conn = await ble_central.connect(ADDRESS)
        with pytest.raises(BlePairingError, match="pairing mode"):
            await conn.pair()
        await conn.disconnect()


async def test_connect_to_absent_device_times_out(
    ble_radio: LocalLink, ble_central: BumbleCentral
) -> None:
    with pytest.raises(DeviceTimeout, match="did not accept a connection"):
        await ble_central.connect("C0:99:99:99:99:99", timeout=0.5)
    async with thermometer_peripheral(ble_radio):  # the adapter is usable again afterwards
        conn = await ble_central.connect(ADDRESS)
        await conn.disconnect()


async def test_connection_slots_are_capped(ble_radio: LocalLink) -> None:
    central = BumbleCentral(link=ble_radio, max_connections=1)
    await central.start()
    try:
        async with (
            thermometer_peripheral(ble_radio),
            thermometer_peripheral(ble_radio, address="C0:00:00:00:00:02"),
        ):
            conn = await central.connect(ADDRESS)
            with pytest.raises(DeviceUnavailable, match="connection slots busy"):
                await central.connect("C0:00:00:00:00:02", timeout=0.2)
            await conn.disconnect()
            second = await central.connect("C0:00:00:00:00:02")
            assert second.is_connected
            await second.disconnect()
    finally:
        await central.close()


async def test_close_ends_every_stream(ble_radio: LocalLink) -> None:
    central = BumbleCentral(link=ble_radio)
    await central.start()
    stream = central.advertisements()
    async with thermometer_peripheral(ble_radio):
        conn = await central.connect(ADDRESS)
        await central.close()
        assert not conn.is_connected
    with pytest.raises(DeviceUnavailable, match="closed"):
        async for _ in stream:
            pass
    with pytest.raises(DeviceUnavailable, match="not running"):
        await central.connect(ADDRESS)


async def test_missing_transport_is_a_clear_error() -> None:
    central = BumbleCentral(transport="usb:7")
    with pytest.raises(DeviceUnavailable, match="cannot open the Bluetooth adapter 'usb:7'"):
        await central.start()
    await central.close()


async def test_device_hangs_up_mid_request(
    ble_radio: LocalLink, ble_central: BumbleCentral
) -> None:
    async with thermometer_peripheral(ble_radio):
        conn = await ble_central.connect(ADDRESS)
        with pytest.raises(DeviceDisconnected, match="ended the connection"):
            await conn.read(HANG_UP)
        with pytest.raises(DeviceDisconnected):
            await conn.read(TEMP_TYPE)


async def test_device_hangs_up_while_pairing(
    ble_radio: LocalLink, ble_central: BumbleCentral
) -> None:
    async with thermometer_peripheral(ble_radio, pairable="hang-up"):
        conn = await ble_central.connect(ADDRESS)
        with pytest.raises(BlePairingError, match="disconnected during pairing"):
            await conn.pair()


async def test_bonds_are_kept_in_the_keystore_file(ble_radio: LocalLink, tmp_path: Path) -> None:
    keys = tmp_path / "ble" / "bumble-keys.json"
    central = BumbleCentral(link=ble_radio, keystore=keys)
    await central.start()
    try:
        async with thermometer_peripheral(ble_radio):
            conn = await central.connect(ADDRESS)
            await conn.pair()
            await conn.disconnect()
    finally:
        await central.close()
    assert ADDRESS in keys.read_text()


async def test_central_factory_and_pool(tmp_path: Path) -> None:
    factory = central_factory(BleConfig(backend="bumble", transport="usb:9"), tmp_path)
    central = factory("hci0")
    assert isinstance(central, BumbleCentral)
    assert central.keystore == tmp_path / "ble" / "bumble-keys.json"
    with pytest.raises(DeviceUnavailable, match="drives one adapter"):
        factory("hci1")
    pool = CentralPool(factory)
    with pytest.raises(DeviceUnavailable, match="usb:9"):
        await pool.get()  # no such dongle: reported, and tried again next time
    assert pool.centrals == {}
    await pool.close()


async def test_over_a_real_hci_transport(ble_radio: LocalLink) -> None:
    """The transport= path a USB dongle takes, here HCI over TCP to a bumble controller:
    the central speaks HCI packets through bumble's transport layer, not in-process."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = await open_tcp_server_transport_with_socket(sock)
    dongle = Controller("dongle", host_source=server.source, host_sink=server.sink, link=ble_radio)
    central = BumbleCentral(transport=f"tcp-client:127.0.0.1:{port}")
    try:
        await central.start()
        assert central.description == f"bumble tcp-client:127.0.0.1:{port}"
        async with thermometer_peripheral(ble_radio):
            conn = await central.connect(ADDRESS)
            assert await conn.read(TEMP_TYPE) == b"\x02"
            await conn.disconnect()
    finally:
        await central.close()
        await server.close()
        sock.close()  # bumble's server transport leaves its listening socket open
        ble_radio.remove_controller(dongle)
