"""The daemon: builds the object graph from a config and runs it until told to stop.

Order matters for "nothing accepted is lost": outputs start before devices, and on
shutdown devices stop first (no new readings), then the bus drains what was accepted
into the outputs, and only then are outputs closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from vitalsd.bus import Bus
from vitalsd.clock import zone
from vitalsd.config import DeviceConfig, VitalsdConfig
from vitalsd.context.service import ContextService
from vitalsd.context.source import ContextSource
from vitalsd.driver import Driver
from vitalsd.links.ble_pool import CentralFactory, CentralPool, central_factory
from vitalsd.model import BusItem, DeviceKind
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
        context_sources: Mapping[str, type[ContextSource]] | None = None,
        ble_central_factory: CentralFactory | None = None,
    ) -> None:
        if open_link is None:
            from vitalsd.links.serial import open_serial_link  # only when not injected

            open_link = open_serial_link
        self.config = config
        self._drivers = drivers
        self._open_link = open_link
        state_dir = Path(config.daemon.state_dir)
        # One central per adapter, started when a BLE device first needs it.
        self.centrals = CentralPool(
            ble_central_factory or central_factory(config.ble, state_dir),
            default_adapter=config.ble.adapter,
        )
        if context_sources is None:
            from vitalsd.registry import load_context_sources

            context_sources = load_context_sources().plugins
        # Who and where: built before devices so restored associations apply at once.
        self.context = ContextService(
            config.context,
            state_dir=state_dir,
            site_id=config.site.id,
            rooms=tuple(d.location for d in config.devices if d.enabled),
            plugins=context_sources,
        )
        self.normalizer = Normalizer(
            NormalizationPolicy(
                max_clock_skew=timedelta(seconds=config.daemon.max_clock_skew),
                hold_stale=config.context.stale_records == "hold",
                allow_receive_time=config.context.allow_receive_time,
            ),
            context=self.context.store.current,
            hold=self.context.hold,
        )
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
        self.sessions: list[DeviceSession] = [
            self.build_session(d) for d in config.devices if d.enabled
        ]
        self._tasks: dict[str, asyncio.Task[None]] = {}
        # Hooks for the service side (metrics, notify, reload); see vitalsd/reload.py.
        self.watchers: list[Callable[[BusItem], None]] = []
        self.started = asyncio.Event()
        self._retired_accepted = 0  # readings of sessions a reload stopped

    def build_session(self, d: DeviceConfig) -> DeviceSession:
        driver_class = self._drivers[d.driver]
        spec = DeviceSpec(
            profile=DeviceProfile(
                device_id=d.id,
                driver=d.driver,
                kind=device_kind(driver_class),
                location=d.location,
                timezone=zone(d.timezone or self.config.site.timezone),
            ),
            driver_class=driver_class,
            port=d.port,
            serial=d.serial,
            options=d.options,
            ble=d.ble.target(self.config.ble.adapter) if d.ble is not None else None,
            cursor=Path(self.config.daemon.state_dir) / "ble" / f"{d.id}.json",
        )
        return DeviceSession(
            spec,
            normalizer=self.normalizer,
            publish=self.publish,
            open_link=self._open_link,
            centrals=self.centrals,
        )

    def publish(self, item: BusItem) -> None:
        self.bus.publish(item)
        for watch in self.watchers:
            try:
                watch(item)
            except Exception:  # a metrics bug must never cost a reading
                _LOGGER.exception("watcher failed on a bus item")

    def start_session(self, session: DeviceSession) -> None:
        """Run ``session`` (at start, or added by a reload)."""
        if session not in self.sessions:
            self.sessions.append(session)
        self._tasks[session.device_id] = asyncio.create_task(
            session.run(), name=f"vitalsd.device[{session.device_id}]"
        )

    async def stop_session(self, device_id: str) -> None:
        """Stop one device; what it already published stays on the bus."""
        task = self._tasks.pop(device_id, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for s in [s for s in self.sessions if s.device_id == device_id]:
            self._retired_accepted += s.accepted
            self.sessions.remove(s)

    @property
    def accepted(self) -> int:
        return self._retired_accepted + sum(s.accepted for s in self.sessions)

    async def run(self, stop: asyncio.Event) -> ShutdownReport:
        """Run until ``stop`` is set, then shut down without losing accepted readings."""
        self.bus.start()
        self.context.start()
        for s in self.sessions:
            self.start_session(s)
        self.started.set()
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
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = {}
        await self.centrals.close()  # after the devices: no driver holds a connection now
        await self.context.close()
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
