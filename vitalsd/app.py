"""The daemon: builds the object graph from a config and runs it until told to stop.

Order matters for "nothing accepted is lost": outputs start before devices, and on
shutdown devices stop first (no new readings), then the bus drains what was accepted
into the outputs, and only then are outputs closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from vitalsd.bus import Bus
from vitalsd.clock import zone
from vitalsd.config import VitalsdConfig
from vitalsd.driver import Driver
from vitalsd.model import DeviceKind
from vitalsd.normalize import DeviceProfile, NormalizationPolicy, Normalizer
from vitalsd.output import Output, OutputEnvironment
from vitalsd.supervisor import DeviceSession, DeviceSpec, LinkOpener

_LOGGER = logging.getLogger(__name__)


def device_kind(driver: type[Driver]) -> DeviceKind:
    """The kind a device counts as: its driver's only kind, or a multi-parameter monitor."""
    return next(iter(driver.kinds)) if len(driver.kinds) == 1 else DeviceKind.MULTI_PARAMETER


@dataclass(slots=True)
class ShutdownReport:
    accepted: int = 0
    undelivered: dict[str, int] = field(default_factory=dict)


class Daemon:
    def __init__(
        self,
        config: VitalsdConfig,
        *,
        drivers: Mapping[str, type[Driver]],
        outputs: Mapping[str, type[Output]],
        open_link: LinkOpener | None = None,
    ) -> None:
        if open_link is None:
            from vitalsd.links.serial import open_serial_link  # only when not injected

            open_link = open_serial_link
        self.config = config
        self.normalizer = Normalizer(
            NormalizationPolicy(max_clock_skew=timedelta(seconds=config.daemon.max_clock_skew))
        )
        state_dir = Path(config.daemon.state_dir)
        self.bus = Bus(
            [
                (
                    o.name,
                    outputs[o.type](
                        o.options,
                        OutputEnvironment(name=o.name, state_dir=state_dir, site_id=config.site.id),
                    ),
                )
                for o in config.outputs
                if o.enabled
            ]
        )
        site_zone = config.site.timezone
        self.sessions: list[DeviceSession] = []
        for d in config.devices:
            if not d.enabled:
                continue
            driver_class = drivers[d.driver]
            spec = DeviceSpec(
                profile=DeviceProfile(
                    device_id=d.id,
                    driver=d.driver,
                    kind=device_kind(driver_class),
                    location=d.location,
                    timezone=zone(d.timezone or site_zone),
                ),
                driver_class=driver_class,
                port=d.port,
                serial=d.serial,
                options=d.options,
            )
            self.sessions.append(
                DeviceSession(
                    spec, normalizer=self.normalizer, publish=self.bus.publish, open_link=open_link
                )
            )
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def accepted(self) -> int:
        return sum(s.accepted for s in self.sessions)

    async def run(self, stop: asyncio.Event) -> ShutdownReport:
        """Run until ``stop`` is set, then shut down without losing accepted readings."""
        self.bus.start()
        self._tasks = [
            asyncio.create_task(s.run(), name=f"vitalsd.device[{s.device_id}]")
            for s in self.sessions
        ]
        _LOGGER.info(
            "vitalsd running: %d devices, outputs: %s",
            len(self.sessions),
            ", ".join(self.bus.outputs) or "none",
        )
        try:
            await stop.wait()
        finally:
            report = await self.shutdown()
        return report

    async def shutdown(self) -> ShutdownReport:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        timeout = self.config.daemon.shutdown_timeout
        undelivered = await self.bus.drain(timeout)
        await self.bus.close()
        report = ShutdownReport(accepted=self.accepted, undelivered=undelivered)
        if undelivered:
            for name, count in undelivered.items():
                _LOGGER.error(
                    "output %s did not take %d accepted items within %.0f s",
                    name,
                    count,
                    timeout,
                )
        _LOGGER.info(
            "vitalsd stopped: %d observations accepted, %s",
            report.accepted,
            "all handed to outputs" if not undelivered else "some not delivered (see above)",
        )
        return report
