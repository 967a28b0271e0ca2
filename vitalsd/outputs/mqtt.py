"""``mqtt``: observations, device status and events as JSON on the site's broker.

Every message goes through the durable outbox (destination = this output's name) before
``handle`` returns, and a named sender task publishes it and deletes it on PUBACK, so a
broker outage loses nothing. Device status is retained, and a retained gateway state is
set online on connect and offline by the Last Will when the daemon dies. Topics are in
``vitalsd.mqtt.topics``, payloads in ``vitalsd.mqtt.payload`` (schema in docs/), or
with ``payload_format = "fhir"`` FHIR R4 Observations from ``vitalsd.mqtt.fhir``; the
optional Home Assistant discovery configs are in ``vitalsd.mqtt.discovery``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from vitalsd.errors import OutputUnavailable
from vitalsd.model import BusItem, DeviceIdentity, DeviceNotice, DeviceStatus, Observation
from vitalsd.mqtt.client import BrokerSettings, Connection, TlsFiles
from vitalsd.mqtt.discovery import discovery_messages
from vitalsd.mqtt.fhir import BpPairs, bp_panel_id, fhir_bp_panel, fhir_payload
from vitalsd.mqtt.payload import (
    GatewayV1,
    encode,
    event_payload,
    observation_payload,
    status_payload,
)
from vitalsd.mqtt.sender import Sender, pack
from vitalsd.mqtt.topics import Topics
from vitalsd.outbox import Outbox, OutboxError, OutboxLimits
from vitalsd.output import Output, OutputEnvironment, OutputHealth, OutputOptions

_LOGGER = logging.getLogger(__name__)

KIND_OBSERVATION = "mqtt.observation"
KIND_STATUS = "mqtt.status"
KIND_EVENT = "mqtt.event"
KIND_DISCOVERY = "mqtt.discovery"


class MqttTls(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ca_file: Path | None = Field(default=None, description="CA bundle (default: system CAs)")
    cert_file: Path | None = Field(default=None, description="client certificate (PEM)")
    key_file: Path | None = Field(default=None, description="client key (PEM)")
    verify: bool = Field(default=True, description="verify the broker's certificate and name")


class MqttOptions(OutputOptions):
    host: str = "localhost"
    port: int | None = Field(default=None, description="default 1883, or 8883 with TLS")
    username: str | None = None
    password: str | None = None
    client_id: str | None = Field(
        default=None, description="default vitalsd-<site>-<hostname>: stable per gateway"
    )
    protocol: Literal["auto", "5", "3.1.1"] = "auto"
    qos: Literal[0, 1, 2] = 1
    base_topic: str = Field(default="vitalsd", min_length=1)
    gateway_room: str | None = Field(
        default=None, description="on an exam-room PC: gateway state per room, not per site"
    )
    tls: MqttTls | None = None
    keepalive: int = Field(default=30, ge=5)
    connect_timeout: float = Field(default=10.0, gt=0)
    publish_timeout: float = Field(default=10.0, gt=0)
    retry_initial: float = Field(default=1.0, gt=0)
    retry_max: float = Field(default=30.0, gt=0)
    include_status: bool = True
    include_events: bool = True
    include_patient: bool = Field(
        default=False, description="put patient ids (never names) in observation payloads"
    )
    payload_format: Literal["json", "fhir"] = Field(
        default="json",
        description="observation payloads: vitalsd JSON v1, or a FHIR R4 Observation",
    )
    homeassistant_discovery: bool = Field(
        default=False, description="retained Home Assistant sensor configs per device"
    )
    discovery_prefix: str = Field(default="homeassistant", min_length=1)
    outbox_max_messages: int = Field(default=100_000, ge=1)
    outbox_max_bytes: int = Field(default=256 * 1024 * 1024, ge=1024)

    @model_validator(mode="after")
    def _discovery_reads_json(self) -> MqttOptions:
        if self.homeassistant_discovery and self.payload_format != "json":
            raise ValueError('homeassistant_discovery needs payload_format = "json"')
        if self.homeassistant_discovery and not self.include_status:
            raise ValueError("homeassistant_discovery needs include_status (its availability)")
        return self


def default_client_id(site_id: str) -> str:
    return f"vitalsd-{site_id}-{socket.gethostname()}"


class MqttOutput(Output):
    name: ClassVar[str] = "mqtt"
    summary: ClassVar[str] = "JSON events on an MQTT broker, through the durable outbox"
    options_model: ClassVar[type[OutputOptions]] = MqttOptions

    def __init__(self, options: OutputOptions, env: OutputEnvironment) -> None:
        super().__init__(options, env)
        assert isinstance(options, MqttOptions)
        self._opts = options
        self.topics = Topics(options.base_topic, env.site_id)
        self.connection: Connection | None = None
        self.sender: Sender | None = None
        self.outbox: Outbox | None = None
        self._tasks: list[asyncio.Task[None]] = []
        # Per device, the identity its discovery configs went out with: sent again when a
        # later status knows more (make, model and serial arrive after connecting).
        self._announced: dict[str, DeviceIdentity] = {}
        self._bp_pairs = BpPairs()  # fhir: systolic + diastolic → the BP panel
        # An observation's messages as first built, until the bus hears "taken": building
        # them again for a retried batch would feed BpPairs twice and lose a panel.
        self._built: dict[str, list[tuple[str, str, bytes]]] = {}

    def broker_settings(self) -> BrokerSettings:
        o = self._opts
        client_id = o.client_id or default_client_id(self.env.site_id)
        since = datetime.now(UTC)

        def gateway(state: Literal["online", "offline"]) -> bytes:
            return encode(
                GatewayV1(site=self.env.site_id, client_id=client_id, state=state, since=since)
            )

        tls = None
        if o.tls is not None:
            tls = TlsFiles(o.tls.ca_file, o.tls.cert_file, o.tls.key_file, o.tls.verify)
        return BrokerSettings(
            host=o.host,
            port=o.port or (8883 if o.tls else 1883),
            client_id=client_id,
            gateway_topic=self.topics.gateway(o.gateway_room),
            online_payload=gateway("online"),
            offline_payload=gateway("offline"),
            username=o.username,
            password=o.password,
            protocol=o.protocol,
            tls=tls,
            keepalive=o.keepalive,
            connect_timeout=o.connect_timeout,
            backoff_initial=min(o.retry_initial, o.retry_max),
            backoff_max=o.retry_max,
        )

    async def start(self) -> None:
        o = self._opts
        try:
            self.outbox = await Outbox.aopen(
                self.env.state_dir, limits=OutboxLimits(o.outbox_max_messages, o.outbox_max_bytes)
            )
        except OutboxError as err:
            raise OutputUnavailable(str(err)) from err
        settings = self.broker_settings()
        label = f"mqtt output {self.env.name}"
        self.connection = Connection(settings, label)
        self.sender = Sender(
            self.outbox,
            self.env.name,
            self.connection,
            qos=o.qos,
            publish_timeout=o.publish_timeout,
        )
        self._tasks = [
            asyncio.create_task(self.connection.run(), name=f"vitalsd.mqtt[{self.env.name}].link"),
            asyncio.create_task(self.sender.run(), name=f"vitalsd.mqtt[{self.env.name}].sender"),
        ]
        _LOGGER.info(
            "%s: publishing to %s under %s/", label, settings.peer, self.topics.site_prefix
        )

    def _messages(self, item: BusItem) -> list[tuple[str, str, bytes]]:
        """(kind, control id, outbox payload) of each message an item publishes."""
        site, o = self.env.site_id, self._opts
        if isinstance(item, Observation):
            topic = self.topics.observation(item.context.location.room, item.device_id)
            if o.payload_format == "json":
                payload = encode(observation_payload(item, site, include_patient=o.include_patient))
                return [(KIND_OBSERVATION, item.id, pack(topic, payload, retain=False))]
            payload = fhir_payload(item, site, include_patient=o.include_patient)
            out = [(KIND_OBSERVATION, item.id, pack(topic, payload, retain=False))]
            pair = self._bp_pairs.add(item)
            if pair is not None:
                panel = fhir_bp_panel(*pair, site, include_patient=o.include_patient)
                out.append((KIND_OBSERVATION, bp_panel_id(*pair), pack(topic, panel, retain=False)))
            return out
        if isinstance(item, DeviceStatus):
            if not o.include_status:
                return []
            out = []
            if o.homeassistant_discovery and self._announced.get(item.device_id) != item.identity:
                gateway = self.topics.gateway(o.gateway_room)
                for topic, config in discovery_messages(
                    item, self.topics, o.discovery_prefix, gateway
                ):
                    out.append((KIND_DISCOVERY, topic, pack(topic, config, retain=True)))
            topic = self.topics.status(item.location.room, item.device_id)
            data = pack(topic, encode(status_payload(item, site)), retain=True)
            out.append((KIND_STATUS, f"{item.device_id}@{item.since.isoformat()}", data))
            return out
        assert isinstance(item, DeviceNotice)
        if not o.include_events:
            return []
        topic = self.topics.event(item.location.room, item.device_id)
        data = pack(topic, encode(event_payload(item, site)), retain=False)
        return [(KIND_EVENT, f"{item.device_id}@{item.receive_time.isoformat()}", data)]

    async def handle(self, item: BusItem) -> None:
        await self.handle_many([item])

    async def handle_many(self, items: Sequence[BusItem]) -> None:
        """Every item's messages in one outbox transaction (one fsync for a burst)."""
        messages: list[tuple[str, str, bytes]] = []
        for item in items:
            if isinstance(item, Observation):
                built = self._built.get(item.id)
                if built is None:
                    built = self._built[item.id] = self._messages(item)
                messages.extend(built)
            else:
                messages.extend(self._messages(item))
        if messages:
            assert self.outbox is not None
            assert self.sender is not None
            await self.outbox.aput_many(self.env.name, messages)
            self.sender.wake()
        self._built.clear()
        for item in items:
            if isinstance(item, DeviceStatus):
                self._announced[item.device_id] = item.identity

    def health(self) -> OutputHealth:
        conn, sender = self.connection, self.sender
        return OutputHealth(
            connected=conn.connected if conn else False,
            last_ack=sender.stats.last_ack if sender else None,
            last_error=(conn.last_error if conn else None)
            or (sender.stats.last_error if sender else None),
        )

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.goodbye()
        for task in reversed(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self.outbox is not None:
            left = len(await asyncio.to_thread(self.outbox.pending, self.env.name, limit=100_000))
            if left:
                _LOGGER.info(
                    "mqtt output %s: %d message(s) stay in the outbox for the next start",
                    self.env.name,
                    left,
                )
            await self.outbox.aclose()
            self.outbox = None
