"""A radio for simulated peripherals: bumble's in-process virtual link, or a real HCI
transport (``usb:0``, ``tcp-client:host:port``, ...) given as a bumble transport spec.

On the virtual link every device gets its own bumble ``Controller``; the central under
test joins the same ``LocalLink``. Nothing here touches the kernel or BlueZ.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from bumble.controller import Controller
from bumble.device import Device
from bumble.hci import Address
from bumble.link import LocalLink


def virtual_radio() -> LocalLink:
    """A new, empty virtual radio (one per test)."""
    return LocalLink()  # type: ignore[no-untyped-call]


@contextlib.asynccontextmanager
async def powered_device(
    name: str, address: str, *, link: LocalLink | None = None, transport: str | None = None
) -> AsyncIterator[Device]:
    """A powered-on bumble ``Device`` on ``link`` (virtual) or ``transport`` (real HCI).

    Add services and set ``advertising_data`` before starting to advertise.
    """
    if (link is None) == (transport is None):
        raise ValueError("give either a virtual link or a transport spec")
    if link is not None:
        controller = Controller(name, link=link)
        device = Device.with_hci(name, Address(address), controller, controller)
        await device.power_on()
        try:
            yield device
        finally:
            with contextlib.suppress(Exception):
                await device.power_off()
            link.remove_controller(controller)
        return
    from bumble.transport import open_transport

    assert transport is not None
    async with await open_transport(transport) as hci:
        device = Device.with_hci(name, Address(address), hci.source, hci.sink)
        await device.power_on()
        try:
            yield device
        finally:
            with contextlib.suppress(Exception):
                await device.power_off()
