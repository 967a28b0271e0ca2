"""One broker connection kept up for as long as the output runs.

aiomqtt does not reconnect by itself, so ``Connection.run`` does: connect (MQTT 5 first
when ``protocol = "auto"``, 3.1.1 if the broker refuses it), announce the gateway online
(retained; the Last Will turns it offline if this process dies), wait until the link is
lost, back off with jitter, again. A refused login is one ERROR line naming the cause;
the same failure again is logged at DEBUG only, so a wrong password never floods the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from dataclasses import dataclass
from pathlib import Path

import aiomqtt
from aiomqtt import ProtocolVersion

from vitalsd.backoff import Backoff

_LOGGER = logging.getLogger(__name__)

_UNSUPPORTED_PROTOCOL = {1, 132}  # MQTT 3.1.1 CONNACK 1 / MQTT 5 reason code 0x84
_AUTH_FAILURES = {4, 5, 134, 135}  # bad user name or password / not authorized


@dataclass(frozen=True, slots=True)
class TlsFiles:
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    verify: bool = True


@dataclass(frozen=True, slots=True)
class BrokerSettings:
    host: str
    port: int
    client_id: str
    gateway_topic: str
    online_payload: bytes
    offline_payload: bytes
    username: str | None = None
    password: str | None = None
    protocol: str = "auto"  # "auto", "5" or "3.1.1"
    tls: TlsFiles | None = None
    keepalive: int = 30
    connect_timeout: float = 10.0
    backoff_initial: float = 1.0
    backoff_max: float = 30.0

    @property
    def peer(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def client_ssl_context(tls: TlsFiles) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(tls.ca_file) if tls.ca_file else None)
    if tls.cert_file is not None:
        ctx.load_cert_chain(str(tls.cert_file), str(tls.key_file) if tls.key_file else None)
    if not tls.verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _rc(err: aiomqtt.MqttError) -> int | None:
    rc = getattr(err, "rc", None)
    if rc is None:
        return None
    value = getattr(rc, "value", rc)
    return value if isinstance(value, int) else None


def describe(err: BaseException) -> str:
    """One line for a connection failure, without a traceback."""
    if isinstance(err, aiomqtt.MqttError) and _rc(err) in _AUTH_FAILURES:
        return f"the broker refused the login ({err}); check username and password"
    return str(err) or type(err).__name__


class Connection:
    """Owns the client; ``run`` forever in a named task, ``stop`` for a clean goodbye."""

    def __init__(self, settings: BrokerSettings, name: str) -> None:
        self.settings = settings
        self.name = name
        self.client: aiomqtt.Client | None = None
        self.protocol: ProtocolVersion | None = None
        self.last_error: str | None = None
        self._connected = asyncio.Event()
        self._ssl = client_ssl_context(settings.tls) if settings.tls else None
        self._logged_error: str | None = None

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self) -> aiomqtt.Client:
        while True:
            await self._connected.wait()
            if self.client is not None:
                return self.client

    def _make(self, protocol: ProtocolVersion) -> aiomqtt.Client:
        s = self.settings
        return aiomqtt.Client(
            s.host,
            s.port,
            username=s.username,
            password=s.password,
            identifier=s.client_id,
            protocol=protocol,
            will=aiomqtt.Will(s.gateway_topic, s.offline_payload, qos=1, retain=True),
            keepalive=s.keepalive,
            timeout=s.connect_timeout,
            tls_context=self._ssl,
            logger=logging.getLogger("vitalsd.mqtt.paho"),
        )

    async def run(self) -> None:
        s = self.settings
        backoff = Backoff(s.backoff_initial, s.backoff_max)
        protocol = ProtocolVersion.V311 if s.protocol == "3.1.1" else ProtocolVersion.V5
        while True:
            client = self._make(protocol)
            try:
                async with client:
                    await client.publish(s.gateway_topic, s.online_payload, qos=1, retain=True)
                    self._up(client, protocol)
                    backoff.reset()
                    # No subscriptions: the iterator only ends when the link is lost.
                    async for _ in client.messages:
                        pass
            except aiomqtt.MqttError as err:
                if (
                    s.protocol == "auto"
                    and protocol is ProtocolVersion.V5
                    and _rc(err) in _UNSUPPORTED_PROTOCOL
                ):
                    _LOGGER.info("%s: %s has no MQTT 5; using 3.1.1", self.name, s.peer)
                    protocol = ProtocolVersion.V311
                    continue
                self._down(err)
            finally:
                self._connected.clear()
                self.client = None
            await asyncio.sleep(backoff.next_delay())

    def _up(self, client: aiomqtt.Client, protocol: ProtocolVersion) -> None:
        self.client = client
        self.protocol = protocol
        self._connected.set()
        level = logging.WARNING if self._logged_error else logging.INFO
        _LOGGER.log(
            level,
            "%s: connected to %s as %s (MQTT %s)",
            self.name,
            self.settings.peer,
            self.settings.client_id,
            "5" if protocol is ProtocolVersion.V5 else "3.1.1",
        )
        self._logged_error = None
        self.last_error = None

    def _down(self, err: aiomqtt.MqttError) -> None:
        what = describe(err)
        self.last_error = what
        if what != self._logged_error:
            self._logged_error = what
            _LOGGER.error(
                "%s: no connection to %s: %s; retrying with backoff, messages stay queued",
                self.name,
                self.settings.peer,
                what,
            )
        else:
            _LOGGER.debug("%s: still no connection to %s: %s", self.name, self.settings.peer, what)

    async def goodbye(self, timeout: float = 2.0) -> None:
        """On a clean stop: set the gateway offline ourselves (a Last Will is only for deaths)."""
        client = self.client
        if client is None:
            return
        with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
            await client.publish(
                self.settings.gateway_topic,
                self.settings.offline_payload,
                qos=1,
                retain=True,
                timeout=timeout,
            )
