"""When a simulated health device advertises: always, or only in a window after a reading.

ble-health.md §4.2 #1: cuffs, thermometers and scales advertise only for a short window
after a measurement (or a button press), deliver, hang up, and go quiet. A simulator that
advertised again after every session would have a collector reconnect in a loop and
download nothing new, which hides exactly the bugs a clinic sees. ``window=None`` keeps
the simple always-advertising mode (bumble restarts advertising after each disconnection).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bumble.device import Device

_LOGGER = logging.getLogger(__name__)


class Advertiser:
    """Owns the advertising of one ``Device``; ``close()`` stops it and its timer."""

    def __init__(self, device: Device, data: bytes, *, window: float | None, label: str) -> None:
        self.device = device
        self.data = data
        self.window = window
        self.label = label
        self.windows_opened = 0
        self._timer: asyncio.Task[None] | None = None

    async def _advertise(self, *, auto_restart: bool) -> None:
        if self.device.is_advertising:
            await self.device.stop_advertising()
        # Fast advertising, as health devices do in the short window after a measurement.
        await self.device.start_advertising(
            advertising_data=self.data,
            auto_restart=auto_restart,
            advertising_interval_min=20,
            advertising_interval_max=30,
        )

    async def start(self, *, open_window: bool) -> None:
        """Always mode: advertise from now on. Window mode: open one if asked."""
        if self.window is None:
            await self._advertise(auto_restart=True)
        elif open_window:
            await self.open()

    async def open(self) -> None:
        """Advertise for ``window`` seconds (a new reading, a button press); a window
        already open starts over. In always mode there is nothing to open."""
        if self.window is None:
            return
        await self._cancel_timer()
        await self._advertise(auto_restart=False)
        self.windows_opened += 1
        self._timer = asyncio.get_running_loop().create_task(
            self._close_after(self.window), name=f"sim[{self.label}].advertising-window"
        )

    async def _close_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        _LOGGER.debug("%s: advertising window over", self.label)
        # A connection already stopped legacy advertising; only a lonely window ends here.
        if self.device.is_advertising:
            await self.device.stop_advertising()

    async def _cancel_timer(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
            await asyncio.gather(timer, return_exceptions=True)

    async def close(self) -> None:
        await self._cancel_timer()
        with contextlib.suppress(Exception):
            await self.device.stop_advertising()
