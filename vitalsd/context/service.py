"""Everything the daemon runs for "who and where": the store with its lifetime, the held
readings, and one named task per configured context source — restarted with backoff
when it fails, like a device, and stopped on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from vitalsd.backoff import Backoff
from vitalsd.config import ContextConfig, ContextSourceConfig
from vitalsd.context.held import FILE_NAME as HELD_FILE
from vitalsd.context.held import HeldReadings
from vitalsd.context.lifetime import ContextLifetime
from vitalsd.context.source import ContextSource, SourceEnvironment
from vitalsd.context.store import ContextStore
from vitalsd.errors import ContextError, VitalsdError
from vitalsd.model import Location, Observation

_LOGGER = logging.getLogger(__name__)

BACKOFF_INITIAL_S = 1.0
BACKOFF_MAX_S = 60.0
HEALTHY_AFTER_S = 60.0


def _now() -> datetime:
    return datetime.now(UTC)


class SourceRunner:
    """Runs one context source forever; its failures are logged and retried."""

    def __init__(self, config: ContextSourceConfig, source: ContextSource) -> None:
        self.config = config
        self.source = source
        self.state = "starting"
        self.restarts = 0
        self.last_error: str | None = None
        self.since = _now()

    @property
    def name(self) -> str:
        return self.config.name

    async def run(self) -> None:
        backoff = Backoff(BACKOFF_INITIAL_S, BACKOFF_MAX_S)
        loop = asyncio.get_running_loop()
        while True:
            self.state, self.since = "running", _now()
            started = loop.time()
            try:
                await self.source.run()
                reason = "stopped by itself"
            except asyncio.CancelledError:
                self.state = "stopped"
                raise
            except ContextError as err:
                reason = str(err)
            except Exception as err:  # a plugin bug must not end the daemon
                _LOGGER.exception("context source %s failed", self.name)
                reason = f"{type(err).__name__}: {err}"
            if loop.time() - started >= HEALTHY_AFTER_S:
                backoff.reset()
            self.restarts += 1
            self.last_error = reason
            self.state, self.since = "restarting", _now()
            delay = backoff.next_delay()
            _LOGGER.warning(
                "context source %s: %s (restarting in %.1f s)", self.name, reason, delay
            )
            await asyncio.sleep(delay)

    def health_doc(self) -> dict[str, Any]:
        h = self.source.health()
        return {
            "name": self.name,
            "type": self.config.type,
            "state": self.state,
            "since": self.since.isoformat(timespec="seconds"),
            "restarts": self.restarts,
            "listening": h.listening,
            "last_event": h.last_event.isoformat(timespec="seconds") if h.last_event else None,
            "last_event_summary": h.last_event_summary,
            "last_error": h.last_error or self.last_error,
        }


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """The local API's bearer token (None: the write API is closed)."""

    token: str | None
    where: str  # for messages: "api_token_file /etc/..." or "not configured"

    def accepts(self, presented: str | None) -> bool:
        if self.token is None or presented is None:
            return False
        return secrets.compare_digest(self.token.encode(), presented.encode())


def load_token(config: ContextConfig) -> TokenCheck:
    if config.api_token:
        return TokenCheck(config.api_token, "VITALSD_CONTEXT__API_TOKEN")
    path = config.api_token_file
    if path is None:
        return TokenCheck(None, "not configured")
    try:
        mode = path.stat().st_mode
        token = path.read_text(encoding="utf-8").strip()
    except OSError as err:
        _LOGGER.error(
            "context API token file %s: %s; the context API stays closed", path, err.strerror
        )
        return TokenCheck(None, f"api_token_file {path} unreadable")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        _LOGGER.warning(
            "context API token file %s is readable by group or others; chmod 600 it", path
        )
    if not token:
        _LOGGER.error("context API token file %s is empty; the context API stays closed", path)
        return TokenCheck(None, f"api_token_file {path} empty")
    return TokenCheck(token, f"api_token_file {path}")


class ContextService:
    def __init__(
        self,
        config: ContextConfig,
        *,
        state_dir: Path,
        site_id: str,
        rooms: tuple[Location, ...],
        plugins: Mapping[str, type[ContextSource]],
    ) -> None:
        self.config = config
        timeout = timedelta(seconds=config.timeout) if config.timeout else None
        self.store = ContextStore(default_timeout=timeout)
        self.lifetime = ContextLifetime(self.store, state_dir)
        self.lifetime.load()
        self.rooms = rooms
        held_needed = config.stale_records == "hold" or (state_dir / HELD_FILE).exists()
        # Opened when holding, or when readings held earlier are still waiting.
        self.held = HeldReadings(state_dir) if held_needed else None
        self.token = load_token(config)
        self.runners: list[SourceRunner] = []
        for sc in config.sources:
            if not sc.enabled:
                continue
            env = SourceEnvironment(name=sc.name, state_dir=state_dir, site_id=site_id, rooms=rooms)
            try:
                source = plugins[sc.type](sc.options, env, self.store)
            except VitalsdError as err:  # a config mistake (an unknown room): no traceback
                _LOGGER.error("context source %s could not be set up; left out: %s", sc.name, err)
                continue
            except Exception:  # a plugin bug must not keep the devices from running
                _LOGGER.exception("context source %s could not be set up; left out", sc.name)
                continue
            self.runners.append(SourceRunner(sc, source))
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def hold(self) -> Callable[[Observation], None] | None:
        if self.config.stale_records != "hold" or self.held is None:
            return None
        return self.held.hold

    def start(self) -> None:
        self.lifetime.start()
        for r in self.runners:
            self._tasks.append(
                asyncio.create_task(r.run(), name=f"vitalsd.context-source[{r.name}]")
            )

    async def stop_sources(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def close(self) -> None:
        await self.stop_sources()
        await self.lifetime.close()
        if self.held is not None:
            held, self.held = self.held, None  # a late API request then sees none, not a closed db
            held.close()

    def release(self, ids: list[str] | None, publish: Callable[[Observation], None]) -> int:
        """Send held readings (all, or those named) unassociated; returns how many."""
        if self.held is None:
            return 0
        observations = self.held.peek(ids)
        for obs in observations:
            publish(obs)  # handed to the bus first: removed only once accepted there
            self.held.remove([obs.id])
            _LOGGER.info("%s: held %s released unassociated", obs.device_id, obs.metric)
        return len(observations)

    def drop(self, ids: list[str] | None) -> int:
        if self.held is None:
            return 0
        observations = self.held.peek(ids)
        self.held.remove([o.id for o in observations])
        for obs in observations:
            _LOGGER.warning("%s: held %s dropped by request", obs.device_id, obs.metric)
        return len(observations)

    def known_rooms(self) -> list[str]:
        return sorted({r.room for r in self.rooms if r.room})
