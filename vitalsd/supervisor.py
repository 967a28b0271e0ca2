"""One session per configured device: connect, run the driver, and on any fault mark
the device offline, back off with jitter and reconnect, forever, without disturbing any
other device.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from vitalsd.backoff import Backoff
from vitalsd.driver import Driver, DriverOptions
from vitalsd.errors import DeviceError, VitalsdError
from vitalsd.jsondoc import identity_doc
from vitalsd.links.base import ByteLink, SerialSettings
from vitalsd.links.ble_pool import CentralPool
from vitalsd.links.gatt import BleLink, BleTarget, JsonCursorStore
from vitalsd.model import (
    BusItem,
    DeviceEvent,
    DeviceIdentity,
    DeviceNotice,
    DeviceState,
    DeviceStatus,
    DriverReport,
    EventSeverity,
    Flag,
    Measurement,
    Observation,
)
from vitalsd.normalize import DeviceProfile, Normalizer

_LOGGER = logging.getLogger(__name__)

LinkOpener = Callable[[str, SerialSettings], Awaitable[ByteLink]]

HEALTHY_AFTER_S = 60.0  # a connection that lasted this long resets the backoff
WAITING_FOR_ADVERTISEMENT = "waiting for the device to advertise"
QUICK_SESSION_S = 1.0  # BLE sessions ending faster than this, many in a row, mean a fault
QUICK_SESSIONS_MAX = 5
BACKOFF_INITIAL_S = 0.5
BACKOFF_MAX_S = 30.0


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """Everything a session needs, resolved from config and the driver registry."""

    profile: DeviceProfile
    driver_class: type[Driver]
    port: str | None  # None for a BLE device
    serial: SerialSettings
    options: DriverOptions
    ble: BleTarget | None = None  # a BLE device: which one, on which adapter
    cursor: Path | None = None  # a BLE device's CursorStore file

    @property
    def where(self) -> str:
        return self.ble.describe() if self.ble is not None else self.port or "?"


def _now() -> datetime:
    return datetime.now(UTC)


class DeviceSession:
    """Runs one device forever; cancel its task to stop it."""

    def __init__(
        self,
        spec: DeviceSpec,
        *,
        normalizer: Normalizer,
        publish: Callable[[BusItem], None],
        open_link: LinkOpener,
        centrals: CentralPool | None = None,
    ) -> None:
        self.spec = spec
        self._normalizer = normalizer
        self._publish = publish
        self._open_link = open_link
        self._centrals = centrals
        self._quick_sessions = 0
        self.identity = DeviceIdentity()
        self.status = self._status(DeviceState.STARTING, None)
        self.accepted = 0
        self.rejected = 0
        self.reconnects = 0
        self.last_reading: datetime | None = None
        self._driver: Driver | None = None
        self._past_decode_errors = 0  # from connections already closed
        self._last_failure: str | None = None
        self._clock_reported: Flag | None = None  # per connection: one event, not per reading
        # Journal fields VITALSD_DEVICE / VITALSD_DRIVER on every line about this device.
        self._log = logging.LoggerAdapter(
            _LOGGER, {"device_id": spec.profile.device_id, "driver": spec.profile.driver}
        )

    @property
    def decode_errors(self) -> int:
        """Frames rejected as corrupt, over every connection since start."""
        current = self._driver.decode_errors if self._driver is not None else 0
        return self._past_decode_errors + current

    @property
    def device_id(self) -> str:
        return self.spec.profile.device_id

    def _status(self, state: DeviceState, reason: str | None) -> DeviceStatus:
        p = self.spec.profile
        return DeviceStatus(
            device_id=p.device_id,
            driver=p.driver,
            device_kind=p.kind,
            state=state,
            since=_now(),
            reason=reason,
            identity=self.identity,
            location=p.location,
        )

    def _set_state(self, state: DeviceState, reason: str | None = None) -> None:
        if state == self.status.state and reason == self.status.reason:
            return
        self.status = self._status(state, reason)
        self._publish(self.status)

    # --- the sink the driver writes into -------------------------------------------

    def put(self, report: DriverReport) -> None:
        """Accept a report from the driver (``DeviceSink``)."""
        now = _now()
        if self.status.state != DeviceState.ONLINE:
            self._set_state(DeviceState.ONLINE)
            self._log.info("%s: online (%s)", self.device_id, self.spec.where)
        if isinstance(report, Measurement):
            self._accept(report, now)
        elif isinstance(report, DeviceEvent):
            self._publish(
                DeviceNotice(
                    device_id=self.device_id,
                    driver=self.spec.profile.driver,
                    event=report,
                    receive_time=now,
                    identity=self.identity,
                    location=self.spec.profile.location,
                )
            )
            # What the device says about itself is routine (a sensor taken off), not a
            # problem of the daemon's: INFO, whatever the event's own severity.
            self._log.info("%s: %s", self.device_id, report.message)
        elif isinstance(report, DeviceIdentity):
            self._identify(report)

    def _accept(self, m: Measurement, now: datetime) -> None:
        try:
            obs = self._normalizer.normalize(self.spec.profile, self.identity, m, now)
        except VitalsdError as err:
            self.rejected += 1
            self._log.error("%s: reading not used: %s", self.device_id, err)
            return
        if obs is None:
            return
        self.accepted += 1
        self.last_reading = now
        self._publish(obs)
        self._check_clock(obs, now)

    def _check_clock(self, obs: Observation, now: datetime) -> None:
        """A device event when the device clock is unset or drifts, once per connection
        (or when it changes), so biomed sees it without one event per reading."""
        problem = next((f for f in (Flag.CLOCK_UNSET, Flag.CLOCK_SKEW) if f in obs.flags), None)
        if problem is None and obs.device_time is not None and not obs.stored:
            self._clock_reported = None  # set again: a later fault is news
            return
        if problem is None or problem == self._clock_reported:
            return
        self._clock_reported = problem
        message = (
            "device clock is not set; readings are sent by receive time only where allowed"
            if problem is Flag.CLOCK_UNSET
            else "device clock differs from this gateway's beyond the allowed bound"
        )
        self._publish(
            DeviceNotice(
                device_id=self.device_id,
                driver=self.spec.profile.driver,
                event=DeviceEvent(
                    code=problem.value,
                    message=message,
                    severity=EventSeverity.WARNING,
                    device_time=obs.device_time,
                ),
                receive_time=now,
                identity=self.identity,
                location=self.spec.profile.location,
            )
        )
        self._log.warning("%s: %s", self.device_id, message)

    def _identify(self, identity: DeviceIdentity) -> None:
        # A device reports what it knows; keep earlier fields it did not repeat.
        merged = replace(self.identity, **identity_doc(identity))
        if merged != self.identity:
            self.identity = merged
            self._log.info(
                "%s: identified as %s, serial %s",
                self.device_id,
                " ".join(p for p in (merged.make, merged.model) if p) or "unknown make",
                merged.serial or "unknown",
            )
            self.status = replace(self.status, identity=merged)
            self._publish(self.status)

    # --- the connection loop -------------------------------------------------------

    async def run(self) -> None:
        backoff = Backoff(BACKOFF_INITIAL_S, BACKOFF_MAX_S)
        loop = asyncio.get_running_loop()
        try:
            while True:
                if self.spec.ble is not None:
                    await self._ble_cycle(backoff)
                    continue
                self._set_state(DeviceState.CONNECTING, self.status.reason)
                started = loop.time()
                reason = await self._connect_and_run()
                if loop.time() - started >= HEALTHY_AFTER_S:
                    backoff.reset()
                await self._back_off(backoff, reason)
        finally:
            self._set_state(DeviceState.STOPPED)

    async def _ble_cycle(self, backoff: Backoff) -> None:
        """One BLE session. The device ending a complete session is normal (a cuff hangs
        up after sending its readings): wait for its next advertisement at once. A
        failure backs off as for serial."""
        loop = asyncio.get_running_loop()
        self._set_state(DeviceState.OFFLINE, WAITING_FOR_ADVERTISEMENT)
        started = loop.time()
        reason = await self._run_ble()
        quick = loop.time() - started < QUICK_SESSION_S
        if reason is None:
            self._quick_sessions = self._quick_sessions + 1 if quick else 0
            if self._quick_sessions < QUICK_SESSIONS_MAX:
                backoff.reset()
                self._last_failure = None
                self._log.info("%s: session complete", self.device_id)
                await asyncio.sleep(0)  # let shutdown and other devices in
                return
            # A driver that returns at once, again and again, would spin: back off.
            reason = f"{QUICK_SESSIONS_MAX} sessions in a row ended within {QUICK_SESSION_S:g} s"
        self._quick_sessions = 0
        if not quick and loop.time() - started >= HEALTHY_AFTER_S:
            backoff.reset()
        await self._back_off(backoff, reason)

    async def _back_off(self, backoff: Backoff, reason: str) -> None:
        """After a failed session, serial or BLE: offline, then wait before the next."""
        self.reconnects += 1
        self._set_state(DeviceState.OFFLINE, reason)
        delay = backoff.next_delay()
        self._log_failure(reason, delay)
        await asyncio.sleep(delay)

    async def _run_ble(self) -> str | None:
        """Run the driver's ``run_ble`` once; None if it returned normally, else why not."""
        spec = self.spec
        assert spec.ble is not None
        if self._centrals is None or spec.cursor is None:
            return "no Bluetooth LE adapter configured for this daemon"
        try:
            central = await self._centrals.get(spec.ble.adapter)
        except DeviceError as err:
            return str(err)
        link = BleLink(central, spec.ble, JsonCursorStore(spec.cursor))
        return await self._drive(lambda driver: driver.run_ble(link))

    async def _connect_and_run(self) -> str:
        spec = self.spec
        assert spec.port is not None
        try:
            link = await self._open_link(spec.port, spec.serial)
        except DeviceError as err:
            return str(err)
        except OSError as err:  # a link implementation that leaked a raw error
            return f"{spec.port}: {err.strerror or err}"
        self._log.debug("%s: port %s open", self.device_id, link.description)
        try:
            reason = await self._drive(lambda driver: driver.run(link))
        finally:
            await asyncio.shield(link.close())
        # A serial driver runs until the link fails: its returning is itself a failure.
        return "driver stopped" if reason is None else reason

    async def _drive(self, run: Callable[[Driver], Awaitable[None]]) -> str | None:
        """A fresh driver through ``run`` on an open link; None if it returned normally,
        else why not."""
        spec = self.spec
        driver = spec.driver_class(spec.options, self)
        self._driver = driver
        self._clock_reported = None
        try:
            await run(driver)
        except DeviceError as err:
            return str(err)
        except Exception as err:  # noqa: BLE001 - a driver bug is logged with its traceback
            self._log.exception("%s: driver %s failed", self.device_id, spec.profile.driver)
            return f"driver error: {type(err).__name__}: {err}"
        else:
            return None
        finally:
            self._past_decode_errors += driver.decode_errors
            self._driver = None

    def _log_failure(self, reason: str, delay: float) -> None:
        # The same failure every few seconds for hours (device switched off) is logged
        # once at WARNING, then at DEBUG until something changes.
        if reason != self._last_failure:
            self._log.warning("%s: offline: %s (retrying)", self.device_id, reason)
            self._last_failure = reason
        else:
            self._log.debug(
                "%s: still offline: %s (retry in %.1f s)", self.device_id, reason, delay
            )
