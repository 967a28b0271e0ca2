"""The payload models, the topic layout, and the published JSON Schema that must not drift."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import jsonschema

from vitalsd.model import (
    Context,
    DeviceEvent,
    DeviceIdentity,
    DeviceKind,
    DeviceNotice,
    DeviceState,
    DeviceStatus,
    Flag,
    Location,
    Measurement,
    Metric,
    Patient,
    Unit,
)
from vitalsd.mqtt.payload import (
    GatewayV1,
    encode,
    event_payload,
    observation_payload,
    status_payload,
)
from vitalsd.mqtt.schema import schema_text
from vitalsd.mqtt.sender import pack, unpack
from vitalsd.mqtt.topics import Topics
from vitalsd.normalize import DeviceProfile, Normalizer

SCHEMA_FILE = Path(__file__).parents[1] / "docs/mqtt-payload.schema.json"
NOW = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


def test_published_schema_matches_the_models() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), (
        "docs/mqtt-payload.schema.json is stale: run "
        "`python -m vitalsd.mqtt.schema docs/mqtt-payload.schema.json`"
    )


def test_temperature_in_fahrenheit_keeps_source_and_validates() -> None:
    profile = DeviceProfile("exam2-temp", "suretemp_module", DeviceKind.THERMOMETER,
                            Location(room="exam2"), UTC)  # fmt: skip
    m = Measurement(Metric.TEMP_ORAL, Decimal("98.6"), Unit.DEGF, flags=frozenset({Flag.STORED}))
    o = Normalizer().normalize(profile, DeviceIdentity(serial="S1"), m, NOW)
    doc = json.loads(encode(observation_payload(o, "site1", include_patient=False)))
    jsonschema.validate(doc, json.loads(SCHEMA_FILE.read_text()))
    assert doc["unit"] == "Cel"
    assert doc["source"] == {"value": 98.6, "unit": "[degF]"}
    assert doc["v"] == 1
    assert doc["type"] == "observation"


def test_patient_ids_only_when_asked_and_never_names() -> None:
    profile = DeviceProfile("d", "masimo_ascii1", DeviceKind.PULSE_OXIMETER, Location(), UTC)
    o = Normalizer().normalize(
        profile, DeviceIdentity(), Measurement(Metric.SPO2, Decimal(97), Unit.PERCENT), NOW
    )
    ctx = Context(Location(room="r1"), Patient("MRN1", family_name="Doe", given_name="Jane"))
    o = dataclasses.replace(o, context=ctx)
    assert (
        json.loads(encode(observation_payload(o, "s", include_patient=False)))["context"]["patient"]
        is None
    )
    with_patient = encode(observation_payload(o, "s", include_patient=True))
    assert json.loads(with_patient)["context"]["patient"]["id"] == "MRN1"
    assert b"Doe" not in with_patient
    assert b"Jane" not in with_patient


def test_status_event_and_gateway_documents_validate() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    for state, reason, want in (
        (DeviceState.ONLINE, None, "online"),
        (DeviceState.OFFLINE, "unplugged", "error"),
        (DeviceState.STOPPED, None, "offline"),
        (DeviceState.CONNECTING, None, "offline"),
    ):
        s = DeviceStatus("d", "drv", DeviceKind.SCALE, state, NOW, reason)
        doc = json.loads(encode(status_payload(s, "site1")))
        jsonschema.validate(doc, schema)
        assert doc["state"] == want
    n = DeviceNotice("d", "drv", DeviceEvent("conditions", "probe off"), NOW)
    jsonschema.validate(json.loads(encode(event_payload(n, "site1"))), schema)
    g = GatewayV1(site="site1", client_id="gw", state="offline", since=NOW)
    jsonschema.validate(json.loads(encode(g)), schema)


def test_topics_never_carry_wildcards_or_separators() -> None:
    t = Topics("vitalsd", "north/+clinic")
    assert t.observation("exam#1", "ox/1") == "vitalsd/north__clinic/exam_1/ox_1/observation"
    assert t.status(None, "ox") == "vitalsd/north__clinic/_/ox/status"
    assert t.gateway(None) == "vitalsd/north__clinic/gateway"
    assert t.gateway("exam1") == "vitalsd/north__clinic/exam1/gateway"
    assert t.observations_filter() == "vitalsd/north__clinic/+/+/observation"
    assert t.observations_filter("exam1") == "vitalsd/north__clinic/exam1/+/observation"


def test_outbox_envelope_round_trips() -> None:
    for retain in (True, False):
        assert unpack(pack("a/b/c", b'{"x":\n1}', retain=retain)) == ("a/b/c", b'{"x":\n1}', retain)
