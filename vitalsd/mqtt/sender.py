"""The sender: drains the output's outbox queue to the broker, deleting on PUBACK.

An outbox row holds one MQTT message: ``pack`` puts topic and retain flag in front of
the payload. Rows go out in FIFO batches published together (QoS 1 keeps them in order
on one connection); a batch leaves the outbox only when every message in it was
acknowledged. A lost connection mid-batch resends the whole batch after reconnecting —
at-least-once, so consumers de-duplicate on the payload's ``id``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import aiomqtt

from vitalsd.backoff import Backoff
from vitalsd.mqtt.client import Connection, describe
from vitalsd.outbox import Outbox, OutboxMessage

_LOGGER = logging.getLogger(__name__)


def pack(topic: str, payload: bytes, *, retain: bool) -> bytes:
    return (b"R" if retain else b"-") + topic.encode() + b"\n" + payload


def unpack(data: bytes) -> tuple[str, bytes, bool]:
    """(topic, payload, retain) from an outbox row written by ``pack``."""
    head, _, payload = data.partition(b"\n")
    return head[1:].decode(), payload, head[:1] == b"R"


@dataclass(slots=True)
class SenderStats:
    published: int = 0
    resent_batches: int = 0
    last_ack: datetime | None = None
    last_error: str | None = None


class Sender:
    def __init__(
        self,
        outbox: Outbox,
        destination: str,
        connection: Connection,
        *,
        qos: int,
        publish_timeout: float,
        batch: int = 10,  # aiomqtt warns on more than 10 publishes awaiting PUBACK
        poll_interval: float = 2.0,
    ) -> None:
        self.outbox = outbox
        self.destination = destination
        self.connection = connection
        self.qos = qos
        self.publish_timeout = publish_timeout
        self.batch = batch
        self.poll_interval = poll_interval
        self.stats = SenderStats()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        backoff = Backoff(0.2, 5.0)
        while True:
            self._wake.clear()
            rows = await self.outbox.apending(self.destination, limit=self.batch)
            if not rows:
                try:
                    async with asyncio.timeout(self.poll_interval):
                        await self._wake.wait()
                except TimeoutError:
                    pass
                continue
            client = await self.connection.wait_connected()
            error = await self._publish(client, rows)
            if error is None:
                await self.outbox.adelivered([m.id for m in rows])
                self.stats.published += len(rows)
                self.stats.last_ack = datetime.now(UTC)
                backoff.reset()
                continue
            self.stats.resent_batches += 1
            self.stats.last_error = error
            _LOGGER.debug(
                "%s: batch of %d not acknowledged: %s", self.destination, len(rows), error
            )
            # The connection task notices the loss and reconnects; give it a moment.
            await asyncio.sleep(backoff.next_delay())

    async def _publish(self, client: aiomqtt.Client, rows: list[OutboxMessage]) -> str | None:
        """None when the broker acknowledged every row, else what went wrong."""
        failure: str | None = None
        try:
            async with asyncio.TaskGroup() as tg:
                for row in rows:
                    topic, payload, retain = unpack(row.payload)
                    tg.create_task(
                        client.publish(
                            topic,
                            payload,
                            qos=self.qos,
                            retain=retain,
                            timeout=self.publish_timeout,
                        ),
                        name=f"vitalsd.mqtt[{self.destination}].publish",
                    )
        except* aiomqtt.MqttError as group:
            failure = describe(group.exceptions[0])
        return failure
