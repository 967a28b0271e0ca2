"""What the ``hl7`` and ``hl7_file`` outputs share: observations → reports → ORU^R01 bytes.

``handle`` hands each observation to the batcher and stores every report it completes
before returning; a named task stores the reports whose window closes (summaries, groups
whose last reading never came). Each report gets its MSH-10 and OBR-3 once and is encoded
once, so whatever retries later sends the same bytes. If storing fails (outbox full, disk
full), the reports wait in memory and ``handle`` raises ``OutputUnavailable``: the bus
then keeps the observation and calls again — the same observation is not counted twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime

from hl7.batching import Report, ReportBatcher
from hl7.encode_error import Hl7EncodeError
from hl7.encoder import encode_oru
from hl7.settings import Hl7Settings
from vitalsd.errors import OutputUnavailable
from vitalsd.model import BusItem, Observation
from vitalsd.outbox import IdAllocator, Outbox, OutboxError, OutboxLimits
from vitalsd.output import Output, OutputEnvironment, OutputOptions

_LOGGER = logging.getLogger(__name__)

ORU_KIND = "hl7.oru_r01"
ID_COUNTER = "hl7"  # one counter for every HL7 output: MSH-10 unique per MSH-3
_CODECS = {"ASCII": "ascii", "8859/1": "latin-1", "8859/15": "iso8859-15"}


@dataclass(frozen=True, slots=True)
class Encoded:
    control_id: str
    payload: bytes


@dataclass(slots=True)
class _Pending:
    report: Report
    encoded: Encoded | None = None


class ReportingOutput(Output):
    """Base of the HL7 outputs: subclasses say how a batch of messages is stored."""

    def __init__(
        self,
        options: OutputOptions,
        env: OutputEnvironment,
        *,
        settings: Hl7Settings,
        batcher: ReportBatcher,
        id_prefix: str,
    ) -> None:
        super().__init__(options, env)
        self.settings = settings
        self.batcher = batcher
        self._id_prefix = id_prefix
        self._codec = _CODECS.get(settings.character_set, "utf-8")
        self._unsaved: list[_Pending] = []
        self._last_taken: str | None = None
        self._lock = asyncio.Lock()
        # Set when a reading arrives, so a window shorter than the idle tick is honoured.
        self._wake = asyncio.Event()
        self._timer: asyncio.Task[None] | None = None
        self._ids: IdAllocator | None = None
        self.outbox: Outbox | None = None
        self.rejected = 0

    def attach_outbox(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self._ids = IdAllocator(outbox, ID_COUNTER, prefix=self._id_prefix)

    async def open_state(self, limits: OutboxLimits | None = None) -> Outbox:
        try:
            return await Outbox.aopen(self.env.state_dir, limits=limits)
        except OutboxError as err:
            raise OutputUnavailable(str(err)) from err

    def start_timer(self) -> None:
        self._timer = asyncio.create_task(
            self._windows(), name=f"vitalsd.{self.name}[{self.env.name}].reports"
        )

    @abstractmethod
    async def store(self, messages: list[Encoded]) -> None:
        """Make these messages durable (outbox rows, files), in order; all or none."""

    async def handle(self, item: BusItem) -> None:
        if not isinstance(item, Observation):
            return  # device status and events are not charted (for now)
        loop = asyncio.get_running_loop()
        async with self._lock:
            if item.id != self._last_taken:  # a retry by the bus is not a new reading
                self._unsaved.extend(_Pending(r) for r in self.batcher.add(item, loop.time()))
                self._last_taken = item.id
                self._wake.set()
            await self._save()

    async def _windows(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = self.batcher.next_due()
            delay = 1.0 if due is None or self._unsaved else due - loop.time()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, min(delay, 1.0))):
                    await self._wake.wait()
            self._wake.clear()
            async with self._lock:
                self._unsaved.extend(_Pending(r) for r in self.batcher.due(loop.time()))
                with contextlib.suppress(OutputUnavailable):  # logged; tried again in 1 s
                    await self._save()

    async def _save(self) -> None:
        if not self._unsaved:
            return
        assert self._ids is not None, "start() first"
        ready: list[_Pending] = []
        for pending in self._unsaved:
            if pending.encoded is None:
                pending.encoded = await self._encode(pending.report)
            if pending.encoded is not None:
                ready.append(pending)
        self._unsaved = ready
        if not ready:
            return
        await self.store([p.encoded for p in ready if p.encoded is not None])
        self._unsaved = []

    async def _encode(self, report: Report) -> Encoded | None:
        assert self._ids is not None
        now = datetime.now(UTC)
        control_id, filler_id = await self._ids.control_id(now)
        try:
            text = encode_oru(
                report, settings=self.settings, control_id=control_id, filler_id=filler_id, now=now
            )
            return Encoded(control_id, text.encode(self._codec))
        except (Hl7EncodeError, UnicodeEncodeError) as err:
            # This content can never become a message: say which device, drop the report.
            self.rejected += 1
            _LOGGER.error(
                "%s: a report of %d reading(s) from %s cannot be encoded, not sent: %s",
                self.env.name,
                len(report),
                report[0].device_id,
                err,
            )
            return None

    async def close_reports(self) -> None:
        """Stop the window task and store everything held (nothing accepted is lost)."""
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
            self._timer = None
        async with self._lock:
            self._unsaved.extend(_Pending(r) for r in self.batcher.drain())
            try:
                await self._save()
            except OutputUnavailable as err:
                _LOGGER.error(
                    "%s: %d report(s) could not be stored on shutdown: %s",
                    self.env.name,
                    len(self._unsaved),
                    err,
                )
