"""The sender: drains one destination's outbox queue to an MLLP peer, per the ACK policy.

Policy (reference/hl7-pcd01.md §4.3):
- AA / CA: delivered; the message leaves the outbox.
- AE / CE: the receiver cannot process this content; dead letter with the ERR text and an
  error log, no resend loop (``retry_on_content_error`` for engines that use AE for
  transient trouble). Later messages go on.
- AR / CR: the same bytes again with backoff, ``max_rejects`` times, then dead letter; at
  once when ERR says the type/version/processing id is unsupported (200-203).
- Timeout, lost connection, unreadable answer: the outcome is unknown, so the identical
  bytes with the same MSH-10 go again after a reconnect, for as long as it takes.

Order is FIFO per destination: a message is retried before anything behind it is sent.
Pending messages are read in batches (the next batch while this one goes out), and
acknowledged ones are deleted in batches by a commit that runs beside the sending (one
commit for many); a crash between an ACK and its commit resends those few,
byte-identical — at-least-once, as documented.

``window`` > 1 (opt-in, for engines that accept pipelining; default 1) keeps up to that
many messages in flight on the connection, in order. ACKs must come back in order and
are matched on MSA-2: the first that is not AA/CA for the oldest message in flight, an
ACK out of order, a timeout or a lost connection closes the connection and falls back to
one message at a time from the oldest unacknowledged one (its answer, if it had one,
decides it under the policy above); the messages behind it go again, identical bytes, in
order. Nothing leaves the outbox without its own positive ACK either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from hl7.ack import Ack, Outcome, classify
from hl7.mllp import MllpClient, MllpError
from vitalsd.backoff import Backoff
from vitalsd.errors import OutputUnavailable
from vitalsd.latency import LatencyHistogram
from vitalsd.outbox import Outbox, OutboxMessage

_LOGGER = logging.getLogger(__name__)

_FETCH = 256  # pending messages read per query
_ACK_FLUSH_COUNT = 256
_ACK_FLUSH_AGE = 0.25  # seconds an acknowledged message may wait for its delete commit


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    ack_timeout: float = 10.0
    max_rejects: int = 5
    retry_on_content_error: bool = False
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    poll_interval: float = 2.0  # notices `vitalsd outbox retry` run from another process
    window: int = 1  # messages in flight; > 1 only for engines that accept pipelining

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError("window must be at least 1")


@dataclass(slots=True)
class DeliveryStats:
    delivered: int = 0
    dead_letters: int = 0
    resends: int = 0
    last_error: str | None = None
    failing: bool = False
    last_ack: datetime | None = None
    last_ack_code: str | None = None
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)  # send → ACK


class Sender:
    """Owns the MLLP client; ``run`` forever in a named task, ``wake`` after a put.

    ``on_done`` (for benchmarks) hears of every message the sender is finished with:
    True when the receiver acknowledged it, False when it became a dead letter.
    """

    def __init__(
        self,
        outbox: Outbox,
        destination: str,
        client: MllpClient,
        policy: DeliveryPolicy,
        *,
        on_done: Callable[[OutboxMessage, bool], None] | None = None,
    ) -> None:
        self.outbox = outbox
        self.destination = destination
        self.client = client
        self.policy = policy
        self.stats = DeliveryStats()
        self.on_done = on_done
        self._wake = asyncio.Event()
        self._acked: list[int] = []
        self._acked_since = 0.0
        self._deleting: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        cursor = 0
        ahead: asyncio.Task[list[OutboxMessage]] | None = None
        try:
            while True:
                if ahead is None:
                    self._wake.clear()  # before reading: a put after the read wakes us
                    batch = await self.outbox.apending(self.destination, after=cursor, limit=_FETCH)
                else:
                    batch, ahead = await ahead, None
                if not batch:
                    self._flush_soon()
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.policy.poll_interval):
                            await self._wake.wait()
                    continue
                cursor = batch[-1].id
                if len(batch) == _FETCH:  # more are likely waiting: read them meanwhile
                    ahead = asyncio.create_task(
                        self.outbox.apending(self.destination, after=cursor, limit=_FETCH),
                        name=f"vitalsd.hl7[{self.destination}].fetch",
                    )
                await self._send_batch(batch)
        finally:
            if ahead is not None:
                ahead.cancel()
                await asyncio.gather(ahead, return_exceptions=True)
            if self._deleting:
                await asyncio.gather(*self._deleting, return_exceptions=True)
            await self.client.close()

    async def _send_batch(self, batch: Sequence[OutboxMessage]) -> None:
        i = 0
        while i < len(batch):
            first: Ack | MllpError | None = None
            sent = 0.0
            if self.policy.window > 1:
                i, first, sent = await self._pipelined(batch, i)
                if i == len(batch):
                    return
            # One at a time: batch[i] is the oldest unacknowledged message.
            self._finished(batch[i], await self._deliver(batch[i], first, sent))
            i += 1

    async def _pipelined(
        self, batch: Sequence[OutboxMessage], start: int
    ) -> tuple[int, Ack | MllpError | None, float]:
        """Send from ``start`` with up to ``window`` in flight, until done or trouble.

        Returns (index of the oldest unacknowledged message, what came back for it, when
        it was sent); the index is ``len(batch)`` when every message was acknowledged.
        """
        loop = asyncio.get_running_loop()
        inflight: deque[tuple[int, float]] = deque()
        nxt = start
        try:
            while nxt < len(batch) or inflight:
                while nxt < len(batch) and len(inflight) < self.policy.window:
                    sent_at = loop.time()
                    await self.client.send(batch[nxt].payload)
                    inflight.append((nxt, sent_at))
                    nxt += 1
                ack = await self.client.next_ack(self.policy.ack_timeout)
                head, sent = inflight[0]
                if ack.control_id != batch[head].control_id:
                    if any(ack.control_id == batch[j].control_id for j, _ in inflight):
                        _LOGGER.warning(
                            "%s: %s answered out of order; sending one at a time from %s",
                            self.destination,
                            self.client.peer,
                            batch[head].control_id,
                        )
                        await self.client.close()
                        return head, None, sent
                    _LOGGER.warning(
                        "ignored an ACK for %s from %s (a late answer)",
                        ack.control_id,
                        self.client.peer,
                    )
                    continue
                if classify(ack) is not Outcome.DELIVERED:
                    await self.client.close()  # the ones behind it go again, in order
                    return head, ack, sent
                inflight.popleft()
                self._delivered(ack, loop.time() - sent)
                self._finished(batch[head], True)
        except MllpError as err:
            if inflight:
                return inflight[0][0], err, inflight[0][1]
            return nxt, err, 0.0
        return len(batch), None, 0.0

    def _finished(self, msg: OutboxMessage, delivered: bool) -> None:
        if delivered:
            now = asyncio.get_running_loop().time()
            if not self._acked:
                self._acked_since = now
            self._acked.append(msg.id)
            if len(self._acked) >= _ACK_FLUSH_COUNT or now - self._acked_since > _ACK_FLUSH_AGE:
                self._flush_soon()
        if self.on_done is not None:
            self.on_done(msg, delivered)

    def _flush_soon(self) -> None:
        """Commit the deletion of acknowledged messages beside the sending, not before it."""
        if self._acked:
            ids, self._acked = self._acked, []
            task = asyncio.create_task(
                self._delete(ids), name=f"vitalsd.hl7[{self.destination}].acked"
            )
            self._deleting.add(task)
            task.add_done_callback(self._deleting.discard)

    async def _delete(self, ids: list[int]) -> None:
        try:
            await self.outbox.adelivered(ids)
        except OutputUnavailable as err:
            # Still acknowledged: tried again with the next flush (a crash first means
            # they are resent, identical bytes).
            _LOGGER.warning("%s: could not remove %d acknowledged message(s): %s",
                            self.destination, len(ids), err)  # fmt: skip
            self._acked[:0] = ids

    async def flush_acks(self) -> None:
        """Commit the deletion of acknowledged messages (also called once after ``run``)."""
        self._flush_soon()
        while self._deleting:
            await asyncio.gather(*self._deleting, return_exceptions=True)
        if self._acked:  # a delete failed just now: one more try, in the open
            ids, self._acked = self._acked, []
            await self.outbox.adelivered(ids)

    def _delivered(self, ack: Ack, latency: float) -> None:
        self.stats.last_ack = datetime.now(UTC)
        self.stats.last_ack_code = ack.code
        self.stats.latency.observe(latency)
        self.stats.delivered += 1
        if self.stats.failing:
            self.stats.failing = False
            _LOGGER.warning("%s: %s accepts messages again", self.destination, self.client.peer)

    async def _deliver(
        self, msg: OutboxMessage, first: Ack | MllpError | None = None, sent: float = 0.0
    ) -> bool:
        """Send until the policy says done; True when delivered, False when dead-lettered.

        ``first`` is what already came back for this message while pipelining (its ACK,
        or the error that left the outcome unknown), decided before any resend.
        """
        backoff: Backoff | None = None  # made on the first failure: it seeds an RNG
        rejects = 0
        loop = asyncio.get_running_loop()
        while True:
            if first is None:
                sent = loop.time()
                try:
                    ack = await self.client.exchange(
                        msg.payload, msg.control_id, self.policy.ack_timeout
                    )
                except MllpError as err:
                    first = err
            if isinstance(first, MllpError):
                # Unknown outcome: resend the identical bytes after a reconnect.
                await self._note_failure(msg, str(first))
                self.stats.resends += 1
                first = None
                backoff = backoff or Backoff(self.policy.backoff_initial, self.policy.backoff_max)
                await asyncio.sleep(backoff.next_delay())
                continue
            if first is not None:
                ack, first = first, None
            outcome = classify(ack)
            if outcome is Outcome.DELIVERED:
                self._delivered(ack, loop.time() - sent)
                return True
            self.stats.last_ack = datetime.now(UTC)
            self.stats.last_ack_code = ack.code
            if outcome is Outcome.UNSUPPORTED or (
                outcome is Outcome.CONTENT_ERROR and not self.policy.retry_on_content_error
            ):
                await self._dead_letter(msg, ack)
                return False
            rejects += 1
            if rejects >= self.policy.max_rejects:
                await self._dead_letter(msg, ack, tries=rejects)
                return False
            await self._note_failure(msg, f"rejected: {ack.describe()}")
            self.stats.resends += 1
            backoff = backoff or Backoff(self.policy.backoff_initial, self.policy.backoff_max)
            await asyncio.sleep(backoff.next_delay())

    async def _note_failure(self, msg: OutboxMessage, error: str) -> None:
        self.stats.last_error = error
        if not self.stats.failing:
            self.stats.failing = True
            _LOGGER.error(
                "%s: message %s not delivered (%s); it stays queued and is resent with backoff",
                self.destination,
                msg.control_id,
                error,
            )
        else:
            _LOGGER.debug("%s: %s not delivered: %s", self.destination, msg.control_id, error)
        await self.outbox.aattempt_failed(msg.id, error)

    async def _dead_letter(self, msg: OutboxMessage, ack: Ack, *, tries: int = 1) -> None:
        reason = f"{ack.describe()} (after {tries} tr{'y' if tries == 1 else 'ies'})"
        self.stats.dead_letters += 1
        # ERR text may name a patient: codes at ERROR, full text in the outbox and at DEBUG.
        _LOGGER.error(
            "%s: message %s (outbox id %d) answered %s%s: moved to dead letters; see "
            "`vitalsd outbox show %d`",
            self.destination,
            msg.control_id,
            msg.id,
            ack.code,
            "".join(f" ERR {e.code}" for e in ack.errors),
            msg.id,
        )
        _LOGGER.debug("%s: dead letter %s: %s", self.destination, msg.control_id, reason)
        await self.outbox.adead_letter(msg.id, reason)
