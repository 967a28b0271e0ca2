"""One ``GattCentral`` per adapter for the whole daemon, started when a device first needs
it and closed at shutdown: BlueZ allows one discovery per adapter, and two owners of one
adapter fight (``org.bluez.Error.InProgress``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from vitalsd.errors import DeviceUnavailable
from vitalsd.links.gatt import GattCentral

if TYPE_CHECKING:
    from vitalsd.config.ble import BleConfig

_LOGGER = logging.getLogger(__name__)

CentralFactory = Callable[[str], GattCentral]
"""Adapter name ("hci0") → a new, not yet started central for it."""


class CentralPool:
    def __init__(self, factory: CentralFactory, default_adapter: str = "hci0") -> None:
        self.factory = factory
        self.default_adapter = default_adapter
        self._centrals: dict[str, GattCentral] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, adapter: str | None = None) -> GattCentral:
        """The started central of ``adapter``; raises ``DeviceError`` if it cannot start
        (the next call tries again, so an adapter plugged in later is picked up)."""
        name = adapter or self.default_adapter
        async with self._locks.setdefault(name, asyncio.Lock()):
            central = self._centrals.get(name)
            if central is None:
                central = self.factory(name)
                try:
                    await central.start()
                except BaseException:
                    with contextlib.suppress(Exception):
                        await central.close()
                    raise
                self._centrals[name] = central
                _LOGGER.info("BLE adapter %s ready: %s", name, central.description)
            return central

    @property
    def centrals(self) -> dict[str, GattCentral]:
        return dict(self._centrals)

    async def close(self) -> None:
        centrals, self._centrals = self._centrals, {}
        for name, central in centrals.items():
            try:
                await central.close()
            except Exception:  # one adapter's failure must not keep the others open
                _LOGGER.exception("closing BLE adapter %s failed", name)


def central_factory(config: BleConfig, state_dir: Path) -> CentralFactory:
    """The factory the ``[ble]`` section asks for: bleak/BlueZ, or bumble on a dongle."""

    def make(adapter: str) -> GattCentral:
        if config.backend == "bumble":
            if adapter != config.adapter:
                raise DeviceUnavailable(
                    f"the bumble backend drives one adapter ([ble] transport "
                    f"'{config.transport}', named {config.adapter}); a device asks for {adapter}"
                )
            from vitalsd.links.ble_bumble import BumbleCentral

            return BumbleCentral(
                transport=config.transport,
                keystore=state_dir / "ble" / "bumble-keys.json",
                max_connections=config.max_connections,
            )
        from vitalsd.links.ble_bleak import BleakCentral

        return BleakCentral(adapter=adapter, max_connections=config.max_connections)

    return make
