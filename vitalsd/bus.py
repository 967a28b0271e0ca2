"""The bus: fans every item out to every output, each through its own queue and task.

A slow or failing output only backs up its own queue; devices and other outputs never
wait. An item an output cannot take right now (``OutputUnavailable``, or any bug) stays
at the head of that output's queue and is retried with backoff, so nothing accepted is
lost while the output recovers. On shutdown ``drain()`` gives outputs time to take
everything that was accepted before they are closed.

A lane hands its output whatever has queued up (up to ``BATCH_MAX`` items) in one
``handle_many`` call when the output overrides it, so a durable output pays one commit
per burst, not one per item; a lone item still goes at once. Order is kept, a batch is
retried whole, and a batch the output rejects is handed over again one item at a time
so that only the bad item is counted as rejected.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from vitalsd.backoff import Backoff
from vitalsd.errors import OutputRejected, OutputUnavailable
from vitalsd.model import BusItem
from vitalsd.output import Output, OutputHealth

_LOGGER = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 100_000  # about a day of one oximeter at 1 Hz; memory, not disk
BATCH_MAX = 512  # items per handle_many: big enough to amortise a commit, small enough
# that one batch's encode + commit keeps the event loop responsive


@dataclass(slots=True)
class OutputStats:
    delivered: int = 0
    rejected: int = 0
    overflowed: int = 0
    retries: int = 0
    failing_since: float | None = None
    last_error: str | None = None


class _Lane:
    """One output with its queue, worker task and counters."""

    def __init__(self, name: str, output: Output, queue_size: int, batch_max: int) -> None:
        self.name = name
        self.output = output
        self.queue: asyncio.Queue[BusItem] = asyncio.Queue(maxsize=queue_size)
        self.stats = OutputStats()
        self.task: asyncio.Task[None] | None = None
        self.pending = 0  # accepted and not yet taken by the output
        # Only an output that overrides handle_many makes a batch all-or-none.
        self.batch_max = batch_max if type(output).handle_many is not Output.handle_many else 1
        self._log = logging.LoggerAdapter(_LOGGER, {"output": name})  # journal VITALSD_OUTPUT

    async def run(self) -> None:
        backoff = Backoff(initial=0.5, maximum=30.0)
        await self._call_until_done(self.output.start, backoff, "start")
        while True:
            batch = [await self.queue.get()]
            while len(batch) < self.batch_max and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            accounted = 0  # items already counted off pending (taken or rejected)
            try:
                if len(batch) == 1:
                    await self._one(batch[0], backoff)
                elif not await self._call_until_done(
                    functools.partial(self.output.handle_many, batch), backoff, "handle", len(batch)
                ):
                    # Rejected as a batch: one at a time, so only the bad item is rejected.
                    for item in batch:
                        await self._one(item, backoff)
                        self._done(1)
                        accounted += 1
            finally:
                self._done(len(batch) - accounted)

    async def _one(self, item: BusItem, backoff: Backoff) -> None:
        call = functools.partial(self.output.handle, item)
        if not await self._call_until_done(call, backoff, "handle", 1):
            self.stats.rejected += 1

    def _done(self, n: int) -> None:
        self.pending -= n
        for _ in range(n):
            self.queue.task_done()

    async def _call_until_done(
        self, call: Callable[[], Awaitable[None]], backoff: Backoff, what: str, count: int = 0
    ) -> bool:
        """Call until it succeeds (True) or the output rejects it (False); retry the rest."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                await call()
            except OutputRejected as err:
                if count > 1:
                    self._log.warning(
                        "output %s rejected a batch of %d (%s); handing them over one by one",
                        self.name,
                        count,
                        err,
                    )
                else:
                    self._log.error("output %s rejected an item for good: %s", self.name, err)
                return False
            except OutputUnavailable as err:
                self._failed(loop.time(), str(err), logged_as_bug=False)
            except Exception as err:  # noqa: BLE001 - logged below with its traceback
                # An output bug must not lose the item or kill the lane: keep retrying.
                first = self.stats.failing_since is None
                self._failed(loop.time(), f"{type(err).__name__}: {err}", logged_as_bug=True)
                if first:
                    self._log.exception("output %s failed in %s (will retry)", self.name, what)
            else:
                if self.stats.failing_since is not None:
                    self._log.warning(
                        "output %s recovered after %.1f s",
                        self.name,
                        loop.time() - self.stats.failing_since,
                    )
                    self.stats.failing_since = None
                self.stats.delivered += count  # start() counts 0
                backoff.reset()
                return True
            self.stats.retries += 1
            await asyncio.sleep(backoff.next_delay())

    def _failed(self, now: float, reason: str, *, logged_as_bug: bool) -> None:
        if self.stats.failing_since is None:
            self.stats.failing_since = now
            if not logged_as_bug:
                self._log.error(
                    "output %s cannot deliver: %s (items kept and retried; %d queued)",
                    self.name,
                    reason,
                    self.queue.qsize(),
                )
        self.stats.last_error = reason


class Bus:
    def __init__(
        self,
        outputs: Sequence[tuple[str, Output]],
        *,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        batch_max: int = BATCH_MAX,
    ) -> None:
        if batch_max < 1:
            raise ValueError("batch_max must be at least 1")
        self._lanes = [_Lane(name, out, queue_size, batch_max) for name, out in outputs]
        self.published = 0

    @property
    def outputs(self) -> dict[str, OutputStats]:
        return {lane.name: lane.stats for lane in self._lanes}

    def health(self) -> dict[str, OutputHealth]:
        """Each output's own view of its delivery (outbox depth, last ACK, ...)."""
        out: dict[str, OutputHealth] = {}
        for lane in self._lanes:
            try:
                out[lane.name] = lane.output.health()
            except Exception:  # a status page must not fail on one output's bug
                _LOGGER.exception("output %s failed to report its health", lane.name)
                out[lane.name] = OutputHealth(last_error="health report failed")
        return out

    def pending(self) -> dict[str, int]:
        """Items accepted but not yet taken, per output."""
        return {lane.name: lane.pending for lane in self._lanes}

    def start(self) -> None:
        for lane in self._lanes:
            lane.task = asyncio.create_task(lane.run(), name=f"vitalsd.output[{lane.name}]")

    def publish(self, item: BusItem) -> None:
        """Hand ``item`` to every output. Never blocks and never raises."""
        self.published += 1
        for lane in self._lanes:
            try:
                lane.queue.put_nowait(item)
                lane.pending += 1
            except asyncio.QueueFull:
                # Memory is bounded on purpose; this only happens after an output has
                # been down for a long time, and is shouted about, not silent.
                lane.stats.overflowed += 1
                if lane.stats.overflowed == 1 or lane.stats.overflowed % 1000 == 0:
                    _LOGGER.error(
                        "output %s queue full (%d items): %d items not handed to it",
                        lane.name,
                        lane.queue.maxsize,
                        lane.stats.overflowed,
                        extra={"output": lane.name},
                    )

    async def drain(self, timeout: float) -> dict[str, int]:
        """Wait until every output took everything accepted; return what is left over."""
        waits = [
            asyncio.create_task(lane.queue.join(), name=f"vitalsd.drain[{lane.name}]")
            for lane in self._lanes
        ]
        if waits:
            _done, still = await asyncio.wait(waits, timeout=timeout)
            for task in still:
                task.cancel()
            await asyncio.gather(*still, return_exceptions=True)
        return {lane.name: lane.pending for lane in self._lanes if lane.pending}

    async def close(self) -> None:
        """Stop the lanes and close every output (after ``drain``)."""
        for lane in self._lanes:
            if lane.task is not None:
                lane.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await lane.task
                lane.task = None
        for lane in self._lanes:
            try:
                await lane.output.close()
            except Exception:
                _LOGGER.exception(
                    "output %s failed to close cleanly", lane.name, extra={"output": lane.name}
                )
