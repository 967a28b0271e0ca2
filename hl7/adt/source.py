"""The ``hl7_adt`` context source: an MLLP listener for ADT and SIU from the EHR.

Admit/register, transfer, discharge, update, cancels and merges (ADT), and appointments
placed in rooms (SIU), become associations in the context store; each message gets its
HL7 acknowledgement. The semantics are in docs/interface-spec.md ("ADT/SIU in").
"""

from __future__ import annotations

import asyncio
import ssl
from typing import ClassVar

from hl7.adt.options import AdtOptions
from hl7.adt.receiver import AdtReceiver
from hl7.mllp_server import MllpListen, MllpServer, server_ssl_context
from vitalsd.context.source import (
    ContextSource,
    SourceEnvironment,
    SourceHealth,
    SourceOptions,
)
from vitalsd.context.store import ContextStore
from vitalsd.errors import ContextSourceError

__all__ = ["AdtSource"]


class AdtSource(ContextSource):
    name = "hl7_adt"
    summary = "HL7 v2 ADT/SIU listener (MLLP): admits, transfers, discharges, appointments"
    options_model: ClassVar[type[SourceOptions]] = AdtOptions

    def __init__(self, options: SourceOptions, env: SourceEnvironment, store: ContextStore) -> None:
        super().__init__(options, env, store)
        assert isinstance(options, AdtOptions)
        self.adt_options = options
        self.receiver = AdtReceiver(options, store, env.rooms, source=env.name)
        self._server: MllpServer | None = None
        self.listening = asyncio.Event()

    @property
    def address(self) -> tuple[str, int] | None:
        """Where it listens, once it does (the real port when the options say 0)."""
        if self._server is None or not self.listening.is_set():
            return None
        return self._server.address

    def _ssl(self) -> ssl.SSLContext | None:
        o = self.adt_options
        if o.tls_cert is None:
            return None
        try:
            return server_ssl_context(o.tls_cert, o.tls_key, o.tls_client_ca)
        except (OSError, ssl.SSLError) as err:
            raise ContextSourceError(f"{self.env.name}: cannot load TLS files: {err}") from err

    async def run(self) -> None:
        o = self.adt_options
        listen = MllpListen(
            host=o.bind,
            port=o.port,
            name=f"{self.env.name}.mllp",
            ssl=self._ssl(),
            max_connections=o.max_connections,
        )
        server = MllpServer(listen, self.receiver.handle)
        try:
            await server.start()
        except OSError as err:
            raise ContextSourceError(
                f"{self.env.name}: cannot listen on {o.bind}:{o.port}: {err.strerror or err}"
            ) from err
        self._server = server
        self.listening.set()
        try:
            await asyncio.Event().wait()  # until cancelled
        finally:
            self.listening.clear()
            await server.close()

    def health(self) -> SourceHealth:
        r = self.receiver
        return SourceHealth(
            listening=self.listening.is_set(),
            last_event=r.last_applied_time,
            last_event_summary=r.last_applied.summary if r.last_applied else None,
            last_error=r.last_error,
        )
