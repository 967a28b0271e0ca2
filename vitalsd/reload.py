"""SIGHUP / ``systemctl reload``: re-read the config and change only what changed.

Added devices start, removed ones stop, changed ones restart; every other device keeps
its connection. A config that does not load is refused with its problems logged and the
running one kept. Outputs are left alone (their queues hold accepted readings), so a
change to outputs, ``[daemon]`` or ``[http]`` is reported as needing a restart.
Nothing accepted is lost: a stopped session's readings are already on the bus.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vitalsd.config import VitalsdConfig
from vitalsd.errors import ConfigError, VitalsdError
from vitalsd.http.snapshot import status_line
from vitalsd.sdnotify import Notifier, monotonic_usec

if TYPE_CHECKING:
    from vitalsd.app import Daemon

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReloadPlan:
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]
    needs_restart: tuple[str, ...]  # sections a reload cannot apply

    def describe(self) -> str:
        parts = [
            f"{what} {', '.join(ids)}"
            for what, ids in (
                ("added", self.added),
                ("removed", self.removed),
                ("restarted", self.changed),
            )
            if ids
        ]
        return "; ".join(parts) or "no device changes"


def plan_reload(old: VitalsdConfig, new: VitalsdConfig) -> ReloadPlan:
    before = {d.id: d for d in old.devices if d.enabled}
    after = {d.id: d for d in new.devices if d.enabled}
    restart = tuple(
        name
        for name in ("site", "daemon", "http", "outputs", "context", "ble")
        if getattr(old, name) != getattr(new, name)
    )
    return ReloadPlan(
        added=tuple(i for i in after if i not in before),
        removed=tuple(i for i in before if i not in after),
        changed=tuple(i for i in after if i in before and after[i] != before[i]),
        needs_restart=restart,
    )


async def apply_reload(daemon: Daemon, new: VitalsdConfig) -> ReloadPlan:
    plan = plan_reload(daemon.config, new)
    for device_id in (*plan.removed, *plan.changed):
        await daemon.stop_session(device_id)
    # Only the devices are taken from the new file; see the module docstring.
    daemon.config = daemon.config.model_copy(
        update={"devices": new.devices, "sources": new.sources, "overrides": new.overrides}
    )
    wanted = {d.id: d for d in new.devices if d.enabled}
    for device_id in (*plan.changed, *plan.added):
        daemon.start_session(daemon.build_session(wanted[device_id]))
    return plan


class Reloader:
    """Turns SIGHUPs into reloads, one at a time (a second HUP during one runs after it)."""

    def __init__(
        self, daemon: Daemon, load: Callable[[], VitalsdConfig], notifier: Notifier
    ) -> None:
        self._daemon = daemon
        self._load = load
        self._notifier = notifier
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self.completed = 0  # reload attempts finished, good or refused (for tests)

    def request(self) -> None:
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.create_task(self._run(), name="vitalsd.reload")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            self._again = False
            await self.reload_once()
            if not self._again:
                return

    async def reload_once(self) -> ReloadPlan | None:
        self._notifier.send("RELOADING=1", f"MONOTONIC_USEC={monotonic_usec()}")
        try:
            try:
                new = self._load()
            except ConfigError as err:
                for problem in err.problems:
                    _LOGGER.error("reload: %s", problem)
                _LOGGER.error("reload refused: the config has problems; kept the running one")
                return None
            except VitalsdError as err:
                _LOGGER.error("reload refused: %s; still running the old one", err)
                return None
            plan = await apply_reload(self._daemon, new)
            _LOGGER.info("reloaded: %s", plan.describe())
            if plan.needs_restart:
                _LOGGER.warning(
                    "reload: changes to %s take effect only after a restart",
                    ", ".join(plan.needs_restart),
                )
            return plan
        finally:
            self.completed += 1
            self._notifier.send("READY=1", f"STATUS={status_line(self._daemon)}")
