"""Home Assistant MQTT discovery against a real Mosquitto: retained configs that parse.

The sensors' templates are rendered with Jinja2 (the engine Home Assistant uses) against
the payloads the output really published, with ``value_json`` and ``this`` as HA binds them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jinja2
import pytest

from tests.mosquitto import Broker, Subscriber
from tests.test_mqtt_output import make_output, pending
from vitalsd.model import (
    DeviceIdentity,
    DeviceKind,
    DeviceState,
    DeviceStatus,
    Location,
    Measurement,
    Metric,
    Observation,
    Unit,
)
from vitalsd.normalize import DeviceProfile, Normalizer
from vitalsd.outputs.mqtt import MqttOutput

LOC = Location(facility="Test Clinic", room="exam1")
IDENTITY = DeviceIdentity(make="Welch Allyn", model="Connex", serial="BP1", firmware="2.1")
NODE = "vitalsd_site1_exam1-bp"


def status(state: DeviceState, identity: DeviceIdentity = IDENTITY) -> DeviceStatus:
    return DeviceStatus(
        "exam1-bp", "drv", DeviceKind.BLOOD_PRESSURE, state, datetime.now(UTC), None,
        identity, LOC,
    )  # fmt: skip


def reading(metric: Metric, value: str) -> Observation:
    profile = DeviceProfile("exam1-bp", "drv", DeviceKind.BLOOD_PRESSURE, LOC, UTC)
    m = Measurement(metric, Decimal(value), Unit.MMHG if "bp_" in metric else Unit.PER_MIN)
    o = Normalizer().normalize(profile, IDENTITY, m, datetime.now(UTC))
    assert o is not None
    return o


def render(template: str, payload: bytes, state: str = "unknown") -> str:
    env = jinja2.Environment(autoescape=False)
    value_json = json.loads(payload)
    return env.from_string(template).render(
        value_json=value_json, this=SimpleNamespace(state=state)
    )


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    b = Broker(tmp_path / "broker")
    b.start()
    yield b
    b.stop()


async def drained(out: MqttOutput) -> None:
    async with asyncio.timeout(10):
        while pending(out):
            await asyncio.sleep(0.05)


async def test_retained_sensor_configs_per_metric_on_first_status(
    tmp_path: Path, broker: Broker
) -> None:
    out = make_output(tmp_path, broker.port, homeassistant_discovery=True)
    await out.start()
    try:
        async with Subscriber(broker.port, "vitalsd/site1/#") as live:
            await out.handle(status(DeviceState.ONLINE))
            await out.handle(status(DeviceState.ONLINE))  # same identity: no second round
            await out.handle(reading(Metric.BP_SYSTOLIC, "121"))
            await out.handle(reading(Metric.BP_DIASTOLIC, "79"))
            await live.wait(lambda: len(live.docs("/observation")) == 2, "observations")
            await drained(out)
        async with Subscriber(broker.port, "homeassistant/#") as late:
            await late.wait(lambda: len(late.messages) >= 4, "retained configs")
            await asyncio.sleep(0.3)  # nothing more should come
    finally:
        await out.close()

    assert all(retain for _, _, retain in late.messages)
    configs: dict[str, dict[str, Any]] = {t: json.loads(p) for t, p, _ in late.messages}
    assert len(late.messages) == len(configs) == 4
    assert set(configs) == {
        f"homeassistant/sensor/{NODE}/{obj}/config"
        for obj in ("bp_systolic", "bp_diastolic", "bp_mean", "pulse_rate_nibp")
    }
    sys_cfg = configs[f"homeassistant/sensor/{NODE}/bp_systolic/config"]
    assert sys_cfg["device_class"] == "pressure"
    assert sys_cfg["unit_of_measurement"] == "mmHg"
    assert sys_cfg["state_class"] == "measurement"
    assert sys_cfg["unique_id"] == f"{NODE}_bp_systolic"
    assert sys_cfg["device"] == {
        "identifiers": [NODE],
        "name": "exam1-bp",
        "manufacturer": "Welch Allyn",
        "model": "Connex",
        "serial_number": "BP1",
        "sw_version": "2.1",
        "suggested_area": "exam1",
    }
    pulse_cfg = configs[f"homeassistant/sensor/{NODE}/pulse_rate_nibp/config"]
    assert "device_class" not in pulse_cfg
    assert pulse_cfg["unit_of_measurement"] == "bpm"

    # State: the observation topic, and each sensor takes only its own metric.
    observations = [(t, p) for t, p, _ in live.messages if t.endswith("/observation")]
    assert {t for t, _ in observations} == {sys_cfg["state_topic"]}
    (_, sys_payload), (_, dia_payload) = observations
    assert render(sys_cfg["value_template"], sys_payload) == "121"
    assert render(sys_cfg["value_template"], dia_payload, state="121") == "121"
    dia_cfg = configs[f"homeassistant/sensor/{NODE}/bp_diastolic/config"]
    assert render(dia_cfg["value_template"], dia_payload) == "79"

    # Availability: the device status (JSON) and the gateway state, both required.
    assert sys_cfg["availability_mode"] == "all"
    retained = {t: p for t, p, r in live.messages if r or t.endswith(("/status", "/gateway"))}
    by_topic = {a["topic"]: a["value_template"] for a in sys_cfg["availability"]}
    assert set(by_topic) == {
        "vitalsd/site1/exam1/exam1-bp/status",
        "vitalsd/site1/gateway",
    }
    for topic, template in by_topic.items():
        assert render(template, retained[topic]) == sys_cfg["payload_available"] == "online"
    offline = b'{"type":"status","state":"error"}'
    status_template = by_topic["vitalsd/site1/exam1/exam1-bp/status"]
    assert render(status_template, offline) == sys_cfg["payload_not_available"]


async def test_configs_again_when_the_identity_becomes_known(
    tmp_path: Path, broker: Broker
) -> None:
    out = make_output(tmp_path, broker.port, homeassistant_discovery=True)
    await out.start()
    try:
        async with Subscriber(broker.port, "homeassistant/#") as sub:
            await out.handle(status(DeviceState.CONNECTING, DeviceIdentity()))
            await sub.wait(lambda: len(sub.messages) == 4, "first configs")
            await out.handle(status(DeviceState.ONLINE))
            await sub.wait(lambda: len(sub.messages) == 8, "configs with the identity")
    finally:
        await out.close()
    first, second = json.loads(sub.messages[0][1]), json.loads(sub.messages[4][1])
    assert first["device"]["manufacturer"] == "unknown"
    assert first["device"]["model"] == "blood pressure"
    assert second["device"]["manufacturer"] == "Welch Allyn"


async def test_no_discovery_by_default(tmp_path: Path, broker: Broker) -> None:
    out = make_output(tmp_path, broker.port)
    await out.start()
    try:
        await out.handle(status(DeviceState.ONLINE))
        await drained(out)
    finally:
        await out.close()
    async with Subscriber(broker.port, "#") as sub:
        await sub.wait(lambda: any(t.endswith("/status") for t, _, _ in sub.messages), "status")
        await asyncio.sleep(0.3)
    assert not [t for t, _, _ in sub.messages if t.startswith("homeassistant/")]
