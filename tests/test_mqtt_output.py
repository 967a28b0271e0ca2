"""The mqtt output against a real Mosquitto: payloads, retained status, outage, auth, TLS."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest

from tests.mosquitto import Broker, Subscriber, make_tls
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
from vitalsd.output import OutputEnvironment
from vitalsd.outputs.mqtt import MqttOptions, MqttOutput

SCHEMA = json.loads((Path(__file__).parents[1] / "docs/mqtt-payload.schema.json").read_text())
LOC = Location(facility="Test Clinic", room="exam1")


def observation(value: str = "98") -> Observation:
    profile = DeviceProfile("exam1-ox", "masimo_ascii1", DeviceKind.PULSE_OXIMETER, LOC, UTC)
    m = Measurement(Metric.SPO2, Decimal(value), Unit.PERCENT)
    return Normalizer().normalize(profile, DeviceIdentity(make="Masimo"), m, datetime.now(UTC))


def status(state: DeviceState, reason: str | None = None) -> DeviceStatus:
    return DeviceStatus(
        "exam1-ox", "masimo_ascii1", DeviceKind.PULSE_OXIMETER, state, datetime.now(UTC),
        reason, location=LOC,
    )  # fmt: skip


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    b = Broker(tmp_path / "broker", persistent=True)
    b.start()
    yield b
    b.stop()


def make_output(tmp_path: Path, port: int, **opts: object) -> MqttOutput:
    options = MqttOptions.model_validate(
        {"host": "127.0.0.1", "port": port, "retry_initial": 0.1, "retry_max": 0.5, **opts}
    )
    env = OutputEnvironment(name="mqtt", state_dir=tmp_path / "state", site_id="site1")
    return MqttOutput(options, env)


@pytest.fixture
async def output(tmp_path: Path, broker: Broker) -> AsyncIterator[MqttOutput]:
    out = make_output(tmp_path, broker.port)
    await out.start()
    yield out
    await out.close()


def pending(out: MqttOutput) -> int:
    assert out.outbox is not None
    return len(out.outbox.pending("mqtt", limit=10_000))


async def test_observations_arrive_schema_valid_with_retained_status(
    broker: Broker, output: MqttOutput
) -> None:
    async with Subscriber(broker.port, "vitalsd/site1/#") as sub:
        await output.handle(status(DeviceState.ONLINE))
        sent = [observation(str(v)) for v in (97, 98, 99)]
        for o in sent:
            await output.handle(o)
        await sub.wait(lambda: len(sub.docs("/observation")) == 3, "3 observations")
        await sub.wait(lambda: len(sub.docs("/status")) == 1, "status")
    topics = {t for t, _, _ in sub.messages}
    assert "vitalsd/site1/exam1/exam1-ox/observation" in topics
    assert "vitalsd/site1/gateway" in topics
    for _, payload, _ in sub.messages:
        jsonschema.validate(json.loads(payload), SCHEMA)
    docs = sub.docs("/observation")
    assert [d["id"] for d in docs] == [o.id for o in sent]
    assert docs[0]["value"] == 97
    assert docs[0]["unit"] == "%"
    assert docs[0]["code"] == {
        "mdc": 150456,
        "mdc_refid": "MDC_PULS_OXIM_SAT_O2",
        "loinc": "59408-5",
    }
    assert docs[0]["context"]["location"]["room"] == "exam1"
    assert docs[0]["identity"]["make"] == "Masimo"
    assert sub.docs("/gateway")[-1]["state"] == "online"
    await asyncio.sleep(0)
    async with asyncio.timeout(10):
        while pending(output):
            await asyncio.sleep(0.05)

    # Status and gateway state are retained: a late subscriber sees them at once.
    await output.handle(status(DeviceState.OFFLINE, "port vanished"))
    async with asyncio.timeout(10):
        while pending(output):
            await asyncio.sleep(0.05)
    async with Subscriber(broker.port, "vitalsd/site1/#") as late:
        await late.wait(lambda: len(late.messages) >= 2, "retained messages")
    retained = {t: json.loads(p) for t, p, r in late.messages if r}
    st = retained["vitalsd/site1/exam1/exam1-ox/status"]
    assert (st["state"], st["reason"]) == ("error", "port vanished")
    assert retained["vitalsd/site1/gateway"]["state"] == "online"


OUTAGE_S = 60.0


@pytest.mark.timeout(180)
async def test_a_broker_outage_loses_nothing(broker: Broker, output: MqttOutput) -> None:
    # A persistent subscriber session, so the broker queues for it across the restart.
    kw = {"identifier": "test-outage-sub", "clean_session": False}
    async with Subscriber(broker.port, "vitalsd/site1/+/+/observation", **kw) as sub:
        await output.handle(observation("90"))
        await sub.wait(lambda: len(sub.docs("/observation")) == 1, "first observation")
    broker.stop()
    # The outage: the broker is gone for 60 s while readings keep coming.
    sent = [observation(str(v)) for v in range(80, 100)]
    for o in sent:
        await output.handle(o)  # returns: the outbox has it
        await asyncio.sleep(OUTAGE_S / len(sent))
    assert pending(output) == len(sent)
    broker.start()
    async with Subscriber(broker.port, "vitalsd/site1/+/+/observation", **kw) as sub:
        await sub.wait(lambda: len(sub.docs("/observation")) >= len(sent), "all 20 after restart")
        got = [d["id"] for d in sub.docs("/observation")]
    assert set(got) >= {o.id for o in sent}
    assert [i for i in got if i in {o.id for o in sent}][: len(sent)] == [o.id for o in sent]


async def test_wrong_password_is_one_clear_error_line_then_retries(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    b = Broker(tmp_path / "broker", users={"gw": "right"})
    b.start()
    out = make_output(tmp_path, b.port, username="gw", password="wrong", protocol="3.1.1")
    caplog.set_level(logging.DEBUG, logger="vitalsd")
    try:
        await out.start()
        await out.handle(observation())
        async with asyncio.timeout(20):
            while sum("still no connection" in r.getMessage() for r in caplog.records) < 3:
                await asyncio.sleep(0.05)
    finally:
        await out.close()
        b.stop()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert "refused the login" in errors[0].getMessage()
    assert "check username and password" in errors[0].getMessage()
    assert errors[0].exc_info is None


async def test_tls_with_password_and_client_certificate(tmp_path: Path) -> None:
    tls = make_tls(tmp_path / "pki")
    b = Broker(tmp_path / "broker", users={"gw": "s3cret"}, tls=tls, require_client_cert=True)
    b.start()
    out = make_output(
        tmp_path,
        b.port,
        host="localhost",
        username="gw",
        password="s3cret",
        tls={
            "ca_file": str(tls.ca),
            "cert_file": str(tls.client_cert),
            "key_file": str(tls.client_key),
        },
    )
    ctx = __import__("ssl").create_default_context(cafile=str(tls.ca))
    ctx.load_cert_chain(str(tls.client_cert), str(tls.client_key))
    try:
        await out.start()
        async with Subscriber(
            b.port, "vitalsd/#", hostname="localhost", username="gw", password="s3cret",
            tls_context=ctx,
        ) as sub:  # fmt: skip
            o = observation("96")
            await out.handle(o)
            await sub.wait(lambda: len(sub.docs("/observation")) == 1, "observation over TLS")
        assert sub.docs("/observation")[0]["id"] == o.id
        assert out.connection is not None
        assert out.connection.connected
    finally:
        await out.close()
        b.stop()
