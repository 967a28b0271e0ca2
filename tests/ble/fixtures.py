"""Shared BLE fixtures (imported by tests/conftest.py, so every test can ask for them).

- ``ble_radio``: a fresh bumble ``LocalLink`` (virtual radio, in-process, no kernel).
- ``ble_central``: a started ``BumbleCentral`` on ``ble_radio``, closed at teardown.
- ``bleak_central``: a started ``BleakCentral`` (bleak + bleak-retry-connector) on the same
  radio through the bleak backend of ``tests/ble/bleak_backend.py``.

Peripherals join the same radio with ``simulators.ble.radio.powered_device(name, address,
link=ble_radio)``; a driver gets ``BleLink(ble_central, BleTarget(...), cursor)``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from bumble.link import LocalLink

from simulators.ble.radio import virtual_radio
from tests.ble.bleak_backend import VirtualAdapter
from vitalsd.links.ble_bleak import BleakCentral
from vitalsd.links.ble_bumble import BumbleCentral


@pytest.fixture
def ble_radio() -> LocalLink:
    return virtual_radio()


@pytest.fixture
async def ble_central(ble_radio: LocalLink) -> AsyncIterator[BumbleCentral]:
    central = BumbleCentral(link=ble_radio)
    await central.start()
    try:
        yield central
    finally:
        await central.close()


@pytest.fixture
async def bleak_central(ble_radio: LocalLink) -> AsyncIterator[BleakCentral]:
    """The production ``BleakCentral``, its bleak driven through the bumble backend."""
    adapter = VirtualAdapter(ble_radio)
    scanner, client = adapter.backends()
    central = BleakCentral(adapter="hci0", scanner_backend=scanner, client_backend=client)
    await central.start()
    try:
        yield central
    finally:
        await central.close()
        await adapter.close()
