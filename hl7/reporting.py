"""What the ``hl7`` and ``hl7_file`` outputs share: observations → reports → ORU^R01 bytes.

``handle_many`` hands each observation to the batcher and stores every report they
complete, in one go, before returning; a named task stores the reports whose window
closes (summaries, groups whose last reading never came). Each report gets its MSH-10 and
OBR-3 once and is encoded once, so whatever retries later sends the same bytes. If storing
fails (outbox full, disk full), the reports wait in memory and ``handle_many`` raises
``OutputUnavailable``: the bus then keeps the observations and calls again with them —
an observation already taken is not counted twice.

An output whose store is the outbox (``holds_durably``) also keeps the readings the
batcher holds in the outbox's ``held`` table: each store commits the new messages, the
readings newly held and the release of the ones now in a message in ONE transaction, so
a reading is always either held on disk or inside a committed message, and ``start``
rebuilds the batcher from what is held.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

from hl7.batching import Report, ReportBatcher
from hl7.encode_error import Hl7EncodeError
from hl7.encoder import encode_oru
from hl7.held import HeldDecodeError, decode_observation, encode_observation
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


@dataclass(frozen=True, slots=True)
class HeldChanges:
    """What one store does to the held readings besides committing messages."""

    hold: list[bytes]  # readings newly held, encoded (``hl7.held``)
    release: list[int]  # held row ids whose readings are now in a message (or dropped)


class ReportingOutput(Output):
    """Base of the HL7 outputs: subclasses say how a batch of messages is stored."""

    holds_durably: ClassVar[bool] = False
    """True when ``store_with_held`` commits held readings with the messages."""

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
        # Observations taken since the bus last heard "done": a batch the bus retries
        # after OutputUnavailable is not fed to the batcher twice.
        self._taken: set[str] = set()
        self._held_rows: dict[str, int] = {}  # observation id → its held row
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

    async def store_with_held(self, messages: list[Encoded], held: HeldChanges) -> list[int]:
        """Store messages and apply ``held`` in one transaction; return the new held ids.

        Only called with held changes when ``holds_durably``; the default stores the
        messages alone.
        """
        assert not held.hold, "holds_durably needs store_with_held"
        assert not held.release, "holds_durably needs store_with_held"
        if messages:
            await self.store(messages)
        return []

    async def restore_held(self, rows: Sequence[tuple[int, bytes]]) -> None:
        """Rebuild the batcher from held rows (at start), storing any report they close."""
        loop = asyncio.get_running_loop()
        async with self._lock:
            for row_id, payload in rows:
                try:
                    obs = decode_observation(payload)
                except HeldDecodeError as err:
                    # Kept on disk for an operator; never silently dropped.
                    _LOGGER.error("%s: held row %d left in place: %s", self.env.name, row_id, err)
                    continue
                self._held_rows[obs.id] = row_id
                self._unsaved.extend(_Pending(r) for r in self.batcher.add(obs, loop.time()))
            if rows:
                _LOGGER.info(
                    "%s: %d held reading(s) restored from the outbox", self.env.name, len(rows)
                )
            with contextlib.suppress(OutputUnavailable):  # logged; the timer tries again
                await self._save()

    async def handle(self, item: BusItem) -> None:
        await self.handle_many([item])

    async def handle_many(self, items: Sequence[BusItem]) -> None:
        # Device status and events are not charted (for now).
        observations = [i for i in items if isinstance(i, Observation)]
        if not observations:
            return
        loop = asyncio.get_running_loop()
        async with self._lock:
            now = loop.time()
            for obs in observations:
                if obs.id not in self._taken:
                    self._unsaved.extend(_Pending(r) for r in self.batcher.add(obs, now))
                    self._taken.add(obs.id)
            self._wake.set()
            await self._save()
            self._taken.clear()  # the bus has them all now: it never hands them again

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

    def _held_changes(self) -> tuple[HeldChanges, list[Observation]]:
        """New readings to hold and rows to release, from the batcher against the disk."""
        if not self.holds_durably:
            return HeldChanges([], []), []
        held = {obs.id: obs for obs in self.batcher.held()}
        new = [obs for oid, obs in held.items() if oid not in self._held_rows]
        gone = [row for oid, row in self._held_rows.items() if oid not in held]
        return HeldChanges([encode_observation(o) for o in new], gone), new

    async def _save(self) -> None:
        assert self._ids is not None, "start() first"
        ready: list[_Pending] = []
        for pending in self._unsaved:
            if pending.encoded is None:
                pending.encoded = await self._encode(pending.report)
            if pending.encoded is not None:
                ready.append(pending)
        self._unsaved = ready
        changes, new = self._held_changes()
        if not ready and not changes.hold and not changes.release:
            return
        ids = await self.store_with_held(
            [p.encoded for p in ready if p.encoded is not None], changes
        )
        self._unsaved = []
        released = set(changes.release)
        self._held_rows = {o: r for o, r in self._held_rows.items() if r not in released}
        self._held_rows.update((obs.id, row) for obs, row in zip(new, ids, strict=True))

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
