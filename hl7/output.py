"""The ``hl7`` output: ORU^R01 reports through the durable outbox to an MLLP receiver.

``handle_many`` returns once the messages of the reports its observations complete are
committed to the outbox — a burst from the bus in one transaction — and the readings still
held for a report (an oximeter summary, a blood-pressure group) are committed with them in
the outbox's ``held`` table, so kill -9 loses neither. A named sender task drains the
outbox to the receiver under the ACK policy (``hl7.delivery``). Nothing leaves the outbox
without a positive ACK, so a restart just carries on where it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import ClassVar

from hl7.batching import ReportBatcher
from hl7.delivery import DeliveryPolicy, Sender
from hl7.mllp import MllpClient, MllpPeer, client_ssl_context
from hl7.options import Hl7Options
from hl7.reporting import ORU_KIND, Encoded, HeldChanges, ReportingOutput
from vitalsd.outbox import OutboxLimits
from vitalsd.output import OutputEnvironment, OutputHealth, OutputOptions

_LOGGER = logging.getLogger(__name__)


class Hl7Output(ReportingOutput):
    name: ClassVar[str] = "hl7"
    summary: ClassVar[str] = "HL7 v2 ORU^R01 (IHE PCD-01) over MLLP, through a durable outbox"
    options_model: ClassVar[type[OutputOptions]] = Hl7Options
    holds_durably: ClassVar[bool] = True

    def __init__(self, options: OutputOptions, env: OutputEnvironment) -> None:
        assert isinstance(options, Hl7Options)
        super().__init__(
            options,
            env,
            settings=options.message.to_settings(),
            batcher=ReportBatcher(
                summary_interval=options.oximeter_summary_interval,
                group_window=options.group_window,
            ),
            id_prefix=options.control_id_prefix,
        )
        self._opts = options
        self.sender: Sender | None = None
        self._sender_task: asyncio.Task[None] | None = None

    def _peer(self) -> MllpPeer:
        o = self._opts
        ctx = None
        if o.tls is not None:
            ctx = client_ssl_context(
                o.tls.ca_file, o.tls.cert_file, o.tls.key_file, verify=o.tls.verify
            )
        return MllpPeer(
            o.host,
            o.port,
            ssl=ctx,
            server_hostname=o.tls.server_hostname if o.tls else None,
            connect_timeout=o.connect_timeout,
        )

    async def start(self) -> None:
        o = self._opts
        outbox = await self.open_state(OutboxLimits(o.outbox_max_messages, o.outbox_max_bytes))
        self.attach_outbox(outbox)
        policy = DeliveryPolicy(
            ack_timeout=o.ack_timeout,
            max_rejects=o.max_rejects,
            retry_on_content_error=o.retry_on_content_error,
            backoff_initial=min(o.retry_initial, o.retry_max),
            backoff_max=o.retry_max,
            window=o.window,
        )
        self.sender = Sender(outbox, self.env.name, MllpClient(self._peer()), policy)
        self._sender_task = asyncio.create_task(
            self.sender.run(), name=f"vitalsd.hl7[{self.env.name}].sender"
        )
        await self.restore_held(await outbox.aheld(self.env.name))
        self.start_timer()
        waiting = await self._waiting()
        _LOGGER.info(
            "hl7 output %s: sending to %s (%d message(s) waiting in the outbox)",
            self.env.name,
            self.sender.client.peer,
            waiting,
        )

    def health(self) -> OutputHealth:
        sender = self.sender
        if sender is None or self.outbox is None:
            return OutputHealth(connected=False)
        # A small indexed query on a WAL database: readers never wait for the writer.
        mine = [st for st in self.outbox.stats() if st.destination == self.env.name]
        st = sender.stats
        return OutputHealth(
            connected=sender.client.connected,
            queued=sum(s.pending for s in mine),
            dead_letters=sum(s.dead for s in mine),
            last_ack=st.last_ack,
            last_ack_code=st.last_ack_code,
            last_error=st.last_error,
            ack_latency=st.latency.snapshot(),
        )

    async def _waiting(self) -> int:
        assert self.outbox is not None
        stats = await asyncio.to_thread(self.outbox.stats)
        return sum(s.pending for s in stats if s.destination == self.env.name)

    async def store(self, messages: list[Encoded]) -> None:
        await self.store_with_held(messages, HeldChanges([], []))

    async def store_with_held(self, messages: list[Encoded], held: HeldChanges) -> list[int]:
        assert self.outbox is not None
        assert self.sender is not None
        _ids, held_ids = await self.outbox.acommit(
            self.env.name,
            [(ORU_KIND, m.control_id, m.payload) for m in messages],
            hold=held.hold,
            release=held.release,
        )
        if messages:
            self.sender.wake()
        return held_ids

    async def close(self) -> None:
        await self.close_reports()
        if self._sender_task is not None:
            self._sender_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender_task
            self._sender_task = None
        if self.sender is not None:
            await self.sender.flush_acks()
        if self.outbox is not None:
            left = await self._waiting()
            if left:
                _LOGGER.info(
                    "hl7 output %s: %d message(s) stay in the outbox for the next start",
                    self.env.name,
                    left,
                )
            await self.outbox.aclose()
            self.outbox = None
