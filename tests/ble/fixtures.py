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
from tests.ble.centrals import open_bleak, open_bumble
from vitalsd.links.ble_bleak import BleakCentral
from vitalsd.links.ble_bumble import BumbleCentral


@pytest.fixture
def ble_radio() -> LocalLink:
    return virtual_radio()


@pytest.fixture
async def ble_central(ble_radio: LocalLink) -> AsyncIterator[BumbleCentral]:
    async with open_bumble(ble_radio) as central:
        yield central


@pytest.fixture
async def bleak_central(ble_radio: LocalLink) -> AsyncIterator[BleakCentral]:
    """The production ``BleakCentral``, its bleak driven through the bumble backend."""
    async with open_bleak(ble_radio, adapter="hci0") as central:
        yield central
