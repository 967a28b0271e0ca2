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
Acknowledged messages are deleted in small batches (one commit for many); a crash between
an ACK and its commit resends those few, byte-identical — at-least-once, as documented.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from hl7.ack import Ack, Outcome, classify
from hl7.mllp import MllpClient, MllpError
from vitalsd.backoff import Backoff
from vitalsd.latency import LatencyHistogram
from vitalsd.outbox import Outbox, OutboxMessage

_LOGGER = logging.getLogger(__name__)

_ACK_FLUSH_COUNT = 64
_ACK_FLUSH_AGE = 0.25  # seconds an acknowledged message may wait for its delete commit


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    ack_timeout: float = 10.0
    max_rejects: int = 5
    retry_on_content_error: bool = False
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    poll_interval: float = 2.0  # notices `vitalsd outbox retry` run from another process


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
    """Owns the MLLP client; ``run`` forever in a named task, ``wake`` after a put."""

    def __init__(
        self, outbox: Outbox, destination: str, client: MllpClient, policy: DeliveryPolicy
    ) -> None:
        self.outbox = outbox
        self.destination = destination
        self.client = client
        self.policy = policy
        self.stats = DeliveryStats()
        self._wake = asyncio.Event()
        self._acked: list[int] = []
        self._acked_since = 0.0

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        cursor = 0
        loop = asyncio.get_running_loop()
        try:
            while True:
                batch = await self.outbox.apending(self.destination, after=cursor, limit=64)
                if not batch:
                    await self.flush_acks()
                    self._wake.clear()
                    try:
                        async with asyncio.timeout(self.policy.poll_interval):
                            await self._wake.wait()
                    except TimeoutError:
                        pass
                    continue
                for msg in batch:
                    if await self._deliver(msg):
                        if not self._acked:
                            self._acked_since = loop.time()
                        self._acked.append(msg.id)
                    cursor = msg.id
                    if (
                        len(self._acked) >= _ACK_FLUSH_COUNT
                        or loop.time() - self._acked_since > _ACK_FLUSH_AGE
                    ):
                        await self.flush_acks()
        finally:
            await self.client.close()

    async def flush_acks(self) -> None:
        """Commit the deletion of acknowledged messages (also called once after ``run``)."""
        if self._acked:
            ids, self._acked = self._acked, []
            await self.outbox.adelivered(ids)

    async def _deliver(self, msg: OutboxMessage) -> bool:
        """Send until the policy says done; True when delivered, False when dead-lettered."""
        backoff = Backoff(self.policy.backoff_initial, self.policy.backoff_max)
        rejects = 0
        loop = asyncio.get_running_loop()
        while True:
            sent = loop.time()
            try:
                ack = await self.client.exchange(
                    msg.payload, msg.control_id, self.policy.ack_timeout
                )
            except MllpError as err:
                # Unknown outcome: resend the identical bytes after a reconnect.
                await self._note_failure(msg, str(err))
                self.stats.resends += 1
                await asyncio.sleep(backoff.next_delay())
                continue
            outcome = classify(ack)
            self.stats.last_ack = datetime.now(UTC)
            self.stats.last_ack_code = ack.code
            if outcome is Outcome.DELIVERED:
                self.stats.latency.observe(loop.time() - sent)
                self.stats.delivered += 1
                if self.stats.failing:
                    self.stats.failing = False
                    _LOGGER.warning(
                        "%s: %s accepts messages again", self.destination, self.client.peer
                    )
                return True
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
