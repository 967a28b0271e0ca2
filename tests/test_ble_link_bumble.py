"""BumbleCentral/BumbleConnection's own ways against a bumble peripheral on the virtual
radio: real advertising, ATT, GATT and SMP bytes, in one process. What it shares with the
bleak adapter is in test_ble_link_adapters."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from bumble.controller import Controller
from bumble.link import LocalLink
from bumble.transport.tcp_server import open_tcp_server_transport_with_socket

from tests.ble.centrals import open_bumble
from tests.ble.peripherals import (
    ADDRESS,
    HANG_UP,
    TEMP_TYPE,
    thermometer_peripheral,
)
from vitalsd.config.ble import BleConfig
from vitalsd.errors import (
    BlePairingError,
    DeviceDisconnected,
    DeviceTimeout,
    DeviceUnavailable,
)
from vitalsd.links.ble_bumble import BumbleCentral
from vitalsd.links.ble_pool import CentralPool, central_factory
from vitalsd.links.gatt import (
    BleLink,
    BleTarget,
    JsonCursorStore,
    uuid16,
)


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


async def test_connect_to_absent_device_times_out(
    ble_radio: LocalLink, ble_central: BumbleCentral
) -> None:
    with pytest.raises(DeviceTimeout, match="did not accept a connection"):
        await ble_central.connect("C0:99:99:99:99:99", timeout=0.5)
    async with thermometer_peripheral(ble_radio):  # the adapter is usable again afterwards
        conn = await ble_central.connect(ADDRESS)
        await conn.disconnect()


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
    async with open_bumble(ble_radio, keystore=keys) as central, thermometer_peripheral(ble_radio):
        conn = await central.connect(ADDRESS)
        await conn.pair()
        await conn.disconnect()
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
