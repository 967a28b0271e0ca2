"""Both ``GattCentral`` adapters on one virtual radio, made the same way, and what the
scenarios run against both of them expect where the adapters rightly differ.

``open_bumble``/``open_bleak`` start a central (extra keyword arguments go to its
constructor) and close it, and for bleak its ``VirtualAdapter``, on the way out.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, TypeVar

from bumble.link import LocalLink

from tests.ble.bleak_backend import VirtualAdapter
from tests.ble.peripherals import ADDRESS
from vitalsd.links.ble_bleak import BleakCentral
from vitalsd.links.ble_bumble import BumbleCentral
from vitalsd.links.gatt import Advertisement, GattCentral, GattConnection

CentralT = TypeVar("CentralT", bound=GattCentral)


@contextlib.asynccontextmanager
async def started(central: CentralT) -> AsyncIterator[CentralT]:
    await central.start()
    try:
        yield central
    finally:
        await central.close()


def open_bumble(radio: LocalLink, **kwargs: Any) -> AbstractAsyncContextManager[BumbleCentral]:
    return started(BumbleCentral(link=radio, **kwargs))


@contextlib.asynccontextmanager
async def open_bleak(radio: LocalLink, **kwargs: Any) -> AsyncIterator[BleakCentral]:
    """The production ``BleakCentral``, its bleak driven through the bumble backend."""
    adapter = VirtualAdapter(radio)
    scanner, client = adapter.backends()
    kwargs.setdefault("client_backend", client)  # a test's own client class may stand in
    try:
        async with started(BleakCentral(scanner_backend=scanner, **kwargs)) as central:
            yield central
    finally:
        await adapter.close()


@dataclass(frozen=True)
class Adapter:
    """One adapter under test, and its own answers where the two differ by design."""

    open: Callable[..., AbstractAsyncContextManager[GattCentral]]
    described_as: str  # in ``GattCentral.description``
    # A characteristic offering both: bumble asks for indications, bleak (as BlueZ does)
    # for notifications.
    prefers_indications: bool
    hang_up_reason: str  # in wait_disconnected() after the device hangs up
    refused_pairing: str  # in the BlePairingError of a device not in pairing mode


BUMBLE = Adapter(
    open=open_bumble,
    described_as="bumble virtual radio",
    prefers_indications=True,
    hang_up_reason="REMOTE_USER_TERMINATED",
    refused_pairing="pairing mode",
)
BLEAK = Adapter(
    open=open_bleak,
    described_as="(bleak/",
    prefers_indications=False,
    hang_up_reason="ended the connection",
    refused_pairing="bonded to a phone or another gateway",
)


def connected(conn: GattConnection) -> bool:
    return conn.is_connected  # a call, so mypy does not keep an earlier narrowing


async def first(stream: AsyncIterator[Advertisement], address: str = ADDRESS) -> Advertisement:
    """The first full advertisement of ``address`` on ``stream``."""
    async for adv in stream:
        if adv.address == address and adv.manufacturer_data:
            return adv
    raise AssertionError("stream ended")


async def seen(central: GattCentral, address: str = ADDRESS) -> Advertisement:
    """Wait until ``central`` has seen ``address`` advertise: bleak connects only then."""
    return await first(central.advertisements(), address)
