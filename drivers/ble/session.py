"""One connection to a SIG health device, from service discovery to the device hanging up.

Steps (ble-health.md §4.2, §2.6): discover; read Device Information; bond first when
the plan says so, or when an operation fails with ATT 0x05/0x0F; vendor setup (A&D);
write the clock; subscribe to the record characteristics; download stored records with
RACP (all the first time, then only what follows the cursor); end when the device hangs
up, or after a quiet spell once the download is complete. Records go through
``RecordIntake`` as they arrive. A link lost mid-transfer raises ``DeviceDisconnected``;
what was delivered stays delivered and the next session carries on after it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

from drivers.ble import racp
from drivers.ble.clock import clock_write
from drivers.ble.device_info import read_identity
from drivers.ble.payload import PayloadError
from drivers.ble.record_intake import RecordIntake
from drivers.ble.session_plan import RacpMode, SessionPlan
from vitalsd.driver import DeviceSink
from vitalsd.errors import (
    BleGattError,
    DeviceDisconnected,
    DeviceError,
    DeviceRejected,
    DeviceTimeout,
)
from vitalsd.links.gatt import GattConnection, GattService, NotificationHandler, uuid16
from vitalsd.model import DeviceEvent

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")

RACP_UUID = uuid16(0x2A52)
NEEDS_PAIRING = frozenset({0x05, 0x0F})  # ATT insufficient authentication / encryption
# RACP answers that mean "this device cannot filter by sequence number": ask for all.
_NO_FILTER = frozenset(
    {
        racp.ResponseCode.OPERATOR_NOT_SUPPORTED,
        racp.ResponseCode.INVALID_OPERAND,
        racp.ResponseCode.OPERAND_NOT_SUPPORTED,
    }
)
Waited = Literal["done", "quiet"]


def is_link_loss(reason: str) -> bool:
    """A disconnection the device did not choose (supervision timeout, HCI 0x08)."""
    text = reason.lower()
    return "timeout" in text or "0x08" in text


def describe(request: racp.RacpRequest) -> str:
    """A request in words: "report all records", "report records from sequence 4"."""
    op, operator, operand = request.op_code, request.operator, request.operand
    if op is racp.OpCode.REPORT_STORED_RECORDS:
        if operator is racp.Operator.ALL:
            return "report all records"
        if operator in (racp.Operator.FIRST, racp.Operator.LAST):
            return f"report the {operator.name.lower()} record"
        if operator is racp.Operator.GREATER_OR_EQUAL and operand[:1] == b"\x01":
            return f"report records from sequence {int.from_bytes(operand[1:3], 'little')}"
    text = f"{op.name.lower()} {operator.name.lower()} {operand.hex(' ')}"
    return text.replace("_", " ").strip()


class BleSession:
    """Runs once over one ``GattConnection``; ``run`` returns when the session is over."""

    def __init__(
        self,
        *,
        name: str,
        plan: SessionPlan,
        connection: GattConnection,
        intake: RecordIntake,
        on_read: Callable[[int, bytes], None],
        step_timeout: float = 10.0,
        pair_timeout: float = 30.0,
        silence_timeout: float = 30.0,
        linger: float = 3.0,
    ) -> None:
        self.name = name
        self.plan = plan
        self.connection = connection
        self.intake = intake
        self.sink: DeviceSink = intake.sink
        self.on_read = on_read
        self.step_timeout = step_timeout
        self.pair_timeout = pair_timeout
        self.silence_timeout = silence_timeout
        self.linger = linger
        self.paired = False
        self._racp_active = False
        self._racp_answer: asyncio.Future[racp.RacpResponse] | None = None
        self._activity: asyncio.Future[None] | None = None
        self._watch: asyncio.Task[str] | None = None

    @property
    def where(self) -> str:
        return self.connection.address

    async def run(self) -> None:
        self._watch = asyncio.get_running_loop().create_task(
            self.connection.wait_disconnected(), name=f"vitalsd[{self.name}].ble-disconnect"
        )
        try:
            await self._run()
        finally:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)

    async def _run(self) -> None:
        plan, conn = self.plan, self.connection
        services = await self._step("service discovery", conn.services)
        chars = {c.uuid: c for s in services for c in s.characteristics}
        if not any(s.uuid == uuid16(plan.service) for s in services):
            raise DeviceError(
                f"{self.where} has no service {plan.service:04X}: not a device this driver serves"
            )
        identity = await self._step("device information", lambda: read_identity(conn, services))
        self.sink.put(identity)
        if plan.pair_first:
            await self._pair()
        for short in plan.reads:
            if uuid16(short) in chars:
                read = functools.partial(conn.read, uuid16(short))
                self.on_read(short, await self._secure(f"read {short:04X}", read))
        if plan.prepare is not None:
            await self._secure("vendor setup", functools.partial(plan.prepare, conn))
        await self._set_clock(services)
        # Live characteristics first: a cuff starts pushing (and may hang up) as soon as
        # its record characteristic is subscribed.
        for source in sorted(plan.records, key=lambda r: not r.live):
            if uuid16(source.uuid) not in chars:
                if source.required:
                    raise DeviceError(f"{self.where} lacks characteristic {source.uuid:04X}")
                continue
            handler = self._record_handler(source.uuid, live=source.live)
            subscribe = functools.partial(conn.subscribe, uuid16(source.uuid), handler)
            await self._secure(f"subscribe {source.uuid:04X}", subscribe)
        download = plan.racp is not RacpMode.NONE and RACP_UUID in chars
        if plan.racp is not RacpMode.NONE and not download:
            # Optional in BPS (newer Omron cuffs add one): the device pushes instead.
            _LOGGER.debug("%s: no Record Access Control Point; taking what it pushes", self.name)
        if download:
            await self._secure(
                "subscribe RACP", functools.partial(conn.subscribe, RACP_UUID, self._on_racp)
            )
            await self._download()
        await self._finish(after_download=download)

    # --- steps ---------------------------------------------------------------------

    async def _step(self, what: str, start: Callable[[], Awaitable[T]], timeout: float = 0) -> T:
        limit = timeout or self.step_timeout
        try:
            async with asyncio.timeout(limit):
                return await start()
        except TimeoutError:
            raise DeviceTimeout(f"{self.where}: {what}: no answer within {limit:g} s") from None

    async def _secure(self, what: str, start: Callable[[], Awaitable[T]]) -> T:
        """One step; bond and retry once when the device asks for a secure link."""
        try:
            return await self._step(what, start)
        except BleGattError as err:
            if err.code not in NEEDS_PAIRING or self.paired:
                raise
            _LOGGER.info(
                "%s: %s needs a bonded link (ATT 0x%02X); pairing", self.name, what, err.code
            )
        await self._pair()
        return await self._step(what, start)

    async def _pair(self) -> None:
        await self._step("pairing", self.connection.pair, self.pair_timeout)
        self.paired = True
        _LOGGER.info("%s: paired with %s", self.name, self.where)

    async def _set_clock(self, services: tuple[GattService, ...]) -> None:
        now = self.intake.now
        found = clock_write(self.plan.clock, services, uuid16(self.plan.service), now)
        if found is None:
            return
        uuid, value = found
        await self._secure("clock write", functools.partial(self.connection.write, uuid, value))
        _LOGGER.info("%s: device clock set to %s (%s)", self.name, now, uuid[4:8].upper())

    # --- arrivals ------------------------------------------------------------------

    def _ping(self) -> None:
        if self._activity is not None and not self._activity.done():
            self._activity.set_result(None)

    def _record_handler(self, uuid: int, *, live: bool) -> NotificationHandler:
        def handler(data: bytes) -> None:
            self._ping()
            self.intake.take(uuid, bytes(data), live=live, from_memory=self._racp_active)

        return handler

    def _on_racp(self, data: bytes) -> None:
        self._ping()
        answer = self._racp_answer
        try:
            response = racp.parse_response(bytes(data))
        except PayloadError as err:
            _LOGGER.warning("%s: RACP answer not understood: %s", self.name, err)
            if answer is not None and not answer.done():
                answer.set_exception(err)
            return
        if answer is not None and not answer.done():
            answer.set_result(response)

    async def _wait(self, target: asyncio.Future[Any] | None, quiet: float) -> Waited:
        """Until ``target`` is done ("done") or ``quiet`` s pass without a value ("quiet").

        Raises ``DeviceDisconnected`` when the link goes first and ``target`` is given.
        """
        assert self._watch is not None
        while True:
            activity: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._activity = activity
            waiting: set[asyncio.Future[Any]] = {self._watch, activity}
            if target is not None:
                waiting.add(target)
            done, _ = await asyncio.wait(
                waiting, timeout=quiet, return_when=asyncio.FIRST_COMPLETED
            )
            activity.cancel()
            if target is not None and target in done:
                return "done"
            if self._watch in done:
                if target is None:
                    return "done"
                raise DeviceDisconnected(
                    f"{self.where} dropped the link during the RACP download "
                    f"({self._reason()}); {self.intake.delivered} new records kept, "
                    "the next session carries on after them"
                )
            if not done:
                return "quiet"

    def _reason(self) -> str:
        assert self._watch is not None
        try:
            return self._watch.result()
        except Exception as err:  # noqa: BLE001 - any failure of the watch is the reason
            return str(err) or type(err).__name__

    # --- RACP ----------------------------------------------------------------------

    def _first_request(self) -> racp.RacpRequest:
        mode, last = self.plan.racp, self.intake.cursor.sequence
        if mode is RacpMode.LAST:
            return racp.report_last()
        if mode is RacpMode.SINCE_SEQUENCE and last is not None and last < 0xFFFF:
            return racp.report_since(last + 1)
        return racp.report_all()

    async def _download(self) -> None:
        request = self._first_request()
        before = self.intake.delivered
        while True:
            code = await self._procedure(request)
            if code in (racp.ResponseCode.SUCCESS, racp.ResponseCode.NO_RECORDS_FOUND):
                break
            if request.operator is racp.Operator.GREATER_OR_EQUAL and code in _NO_FILTER:
                _LOGGER.info("%s: RACP cannot filter (%s); asking for all", self.name, code.name)
                request = racp.report_all()
                continue
            raise DeviceRejected(
                f"{self.where}: RACP {describe(request)} refused: "
                f"{code.name.lower().replace('_', ' ')} (0x{code:02X})",
                f"0x{code:02X}",
            )
        new = self.intake.delivered - before
        _LOGGER.info("%s: RACP %s: %d new records", self.name, describe(request), new)

    async def _procedure(self, request: racp.RacpRequest) -> racp.ResponseCode:
        answer: asyncio.Future[racp.RacpResponse] = asyncio.get_running_loop().create_future()
        self._racp_answer = answer
        self._racp_active = True
        try:
            write = functools.partial(self.connection.write, RACP_UUID, request.encode())
            await self._secure("RACP request", write)
            if await self._wait(answer, self.silence_timeout) == "quiet":
                raise DeviceTimeout(
                    f"{self.where}: RACP {describe(request)}: no record or answer "
                    f"for {self.silence_timeout:g} s"
                )
            response = answer.result()
            if isinstance(response, racp.NumberOfRecords):
                raise DeviceRejected(f"{self.where}: RACP answered a count, not records", "0x05")
            return response.code
        finally:
            self._racp_active = False
            self._racp_answer = None

    # --- the end -------------------------------------------------------------------

    async def _finish(self, *, after_download: bool) -> None:
        """Wait for the device to hang up; hang up ourselves after a quiet spell."""
        quiet = self.linger if after_download else self.silence_timeout
        if await self._wait(None, quiet) == "quiet":
            _LOGGER.info("%s: device quiet for %g s; ending the session", self.name, quiet)
            await self.connection.disconnect()
        else:
            reason = self._reason()
            if not after_download and is_link_loss(reason):
                raise DeviceDisconnected(
                    f"{self.where} link lost mid-transfer ({reason}); "
                    f"{self.intake.delivered} new records kept"
                )
        self.intake.finish()
        summary = self.intake.summary()
        _LOGGER.info("%s: session over: %s", self.name, summary)
        self.sink.put(DeviceEvent("ble_session", summary))


__all__ = ["BleSession", "describe", "is_link_loss"]
