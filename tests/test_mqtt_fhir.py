"""``payload_format = "fhir"``: each payload parses as a FHIR Observation (fhir.resources).

fhir.resources 8 ships R5 with R4B and STU3 sub-packages, not R4 4.0.1 itself; the
Observation resource is unchanged between R4 and R4B, so its R4B model checks structure,
types, cardinalities and unknown elements. It does not check code bindings or the
vital-signs profile's rules, so ``assert_vital_sign`` checks those against the spec.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.observation import Observation as FhirObservation

from tests.mosquitto import Broker, Subscriber
from tests.test_mqtt_output import make_output
from vitalsd.model import (
    Context,
    DeviceIdentity,
    DeviceKind,
    Flag,
    Location,
    Measurement,
    Metric,
    Observation,
    Patient,
    Unit,
)
from vitalsd.mqtt.fhir import BpPairs, bp_panel_id, fhir_bp_panel, fhir_payload
from vitalsd.normalize import DeviceProfile, Normalizer

NOW = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
LOC = Location(facility="Test Clinic", room="exam1")
IDENTITY = DeviceIdentity(make="Welch Allyn", model="SureTemp Plus", serial="S1")


def reading(kind: DeviceKind, metric: Metric, value: str, unit: Unit, **kw: Any) -> Observation:
    profile = DeviceProfile("exam1-dev", "drv", kind, LOC, UTC)
    m = Measurement(metric, Decimal(value), unit, **kw)
    o = Normalizer().normalize(profile, IDENTITY, m, NOW)
    assert o is not None
    return o


def parse(payload: bytes) -> dict[str, Any]:
    FhirObservation.model_validate_json(payload)  # raises on any structural error
    doc: dict[str, Any] = json.loads(payload, parse_float=Decimal)
    return doc


def assert_vital_sign(doc: dict[str, Any], o: Observation) -> None:
    """The R4 vital-signs profile's rules, and what vitalsd promises on top."""
    assert doc["resourceType"] == "Observation"
    assert doc["status"] == "final"
    cat = doc["category"][0]["coding"][0]
    assert cat["system"] == "http://terminology.hl7.org/CodeSystem/observation-category"
    assert cat["code"] == "vital-signs"
    codings = {c["system"]: c["code"] for c in doc["code"]["coding"]}
    assert codings["http://loinc.org"] == o.loinc
    assert codings["urn:iso:std:iso:11073:10101"] == str(o.mdc_code)
    q = doc["valueQuantity"]
    assert q["system"] == "http://unitsofmeasure.org"
    assert q["code"] == o.unit.value
    assert q["value"] == o.value
    assert str(q["value"]) == str(o.value)  # the exact digits, trailing zeros kept
    assert datetime.fromisoformat(doc["effectiveDateTime"]) == o.time
    assert doc["device"]["identifier"]["value"] == o.device_id
    assert doc["id"] == o.id


@pytest.mark.parametrize(
    ("kind", "metric", "value", "unit"),
    [
        (DeviceKind.PULSE_OXIMETER, Metric.SPO2, "97", Unit.PERCENT),
        (DeviceKind.PULSE_OXIMETER, Metric.PULSE_RATE_OXIMETER, "72", Unit.PER_MIN),
        (DeviceKind.THERMOMETER, Metric.TEMP_ORAL, "36.60", Unit.CEL),
        (DeviceKind.THERMOMETER, Metric.TEMP_TYMPANIC, "98.6", Unit.DEGF),
        (DeviceKind.BLOOD_PRESSURE, Metric.BP_SYSTOLIC, "120", Unit.MMHG),
        (DeviceKind.BLOOD_PRESSURE, Metric.BP_DIASTOLIC, "80", Unit.MMHG),
        (DeviceKind.SCALE, Metric.BODY_WEIGHT, "72.35", Unit.KG),
        (DeviceKind.SCALE, Metric.BODY_HEIGHT, "170.2", Unit.CM),
        (DeviceKind.GLUCOSE_METER, Metric.GLUCOSE, "104", Unit.MG_PER_DL),
    ],
)
def test_every_kind_is_a_vital_signs_observation(
    kind: DeviceKind, metric: Metric, value: str, unit: Unit
) -> None:
    o = reading(kind, metric, value, unit)
    payload = fhir_payload(o, "site1", include_patient=False)
    doc = parse(payload)
    assert_vital_sign(doc, o)
    assert "subject" not in doc  # no patient: omitted, and no profile claimed
    assert "meta" not in doc


def test_value_keeps_its_digits_in_the_json_text() -> None:
    o = reading(DeviceKind.THERMOMETER, Metric.TEMP_ORAL, "36.60", Unit.CEL)
    assert b'"value":36.60,' in fhir_payload(o, "s", include_patient=False)
    f = reading(DeviceKind.THERMOMETER, Metric.TEMP_ORAL, "98.6", Unit.DEGF)
    assert f.unit is Unit.CEL
    assert f'"value":{f.value},'.encode() in fhir_payload(f, "s", include_patient=False)


def test_device_time_first_then_receive_time() -> None:
    clock = datetime(2024, 5, 1, 9, 29, 50, tzinfo=UTC)
    o = reading(DeviceKind.SCALE, Metric.BODY_WEIGHT, "70.1", Unit.KG, device_time=clock)
    assert o.device_time is not None
    doc = parse(fhir_payload(o, "s", include_patient=False))
    assert datetime.fromisoformat(doc["effectiveDateTime"]) == o.device_time
    bare = reading(DeviceKind.SCALE, Metric.BODY_WEIGHT, "70.1", Unit.KG)
    doc = parse(fhir_payload(bare, "s", include_patient=False))
    assert datetime.fromisoformat(doc["effectiveDateTime"]) == NOW


def test_subject_only_with_a_patient_and_include_patient_never_a_name() -> None:
    o = reading(DeviceKind.PULSE_OXIMETER, Metric.SPO2, "95", Unit.PERCENT)
    o = dataclasses.replace(
        o, context=Context(LOC, Patient("MRN7", "Clinic MRN", family_name="Doe", given_name="J"))
    )
    assert "subject" not in parse(fhir_payload(o, "s", include_patient=False))
    payload = fhir_payload(o, "s", include_patient=True)
    doc = parse(payload)
    assert doc["subject"]["identifier"]["value"] == "MRN7"
    assert doc["subject"]["identifier"]["assigner"]["display"] == "Clinic MRN"
    assert doc["meta"]["profile"] == ["http://hl7.org/fhir/StructureDefinition/vitalsigns"]
    assert b"Doe" not in payload


def test_flags_are_final_with_interpretation_and_note() -> None:
    o = reading(
        DeviceKind.PULSE_OXIMETER, Metric.PULSE_RATE_OXIMETER, "350", Unit.PER_MIN,
        flags=frozenset({Flag.ALARM_HIGH, Flag.MOTION}),
    )  # fmt: skip
    assert Flag.IMPLAUSIBLE in o.flags  # normalization flags it, never alters or drops it
    doc = parse(fhir_payload(o, "s", include_patient=False))
    assert_vital_sign(doc, o)
    assert doc["interpretation"][0]["coding"][0]["code"] == "H"
    assert "implausible" in doc["note"][0]["text"]
    assert "motion" in doc["note"][0]["text"]


def test_metric_without_loinc_has_the_mdc_coding_only() -> None:
    o = reading(DeviceKind.PULSE_OXIMETER, Metric.PERFUSION_INDEX, "3.60", Unit.PERCENT)
    doc = parse(fhir_payload(o, "s", include_patient=False))
    assert [c["system"] for c in doc["code"]["coding"]] == ["urn:iso:std:iso:11073:10101"]


def test_blood_pressure_panel_when_a_group_completes() -> None:
    def bp(metric: Metric, value: str, group: str | None, device: str = "exam1-dev") -> Observation:
        o = reading(DeviceKind.BLOOD_PRESSURE, metric, value, Unit.MMHG, group=group)
        return dataclasses.replace(o, device_id=device)

    pairs = BpPairs(limit=2)
    sys1, dia1 = bp(Metric.BP_SYSTOLIC, "118", "g1"), bp(Metric.BP_DIASTOLIC, "76", "g1")
    assert pairs.add(bp(Metric.BP_MEAN, "90", "g1")) is None
    assert pairs.add(dia1) is None
    assert pairs.add(bp(Metric.BP_SYSTOLIC, "130", "g1", device="other")) is None
    assert pairs.add(bp(Metric.BP_SYSTOLIC, "140", None)) is None  # no group: never paired
    assert pairs.add(sys1) == (sys1, dia1)
    assert pairs.add(bp(Metric.BP_DIASTOLIC, "70", "g1")) is None  # the pair is used up
    # Bounded: halves whose partner never comes are forgotten, oldest first.
    for g in ("g2", "g3", "g4"):
        assert pairs.add(bp(Metric.BP_SYSTOLIC, "120", g)) is None
    assert pairs.add(bp(Metric.BP_DIASTOLIC, "80", "g2")) is None

    payload = fhir_bp_panel(sys1, dia1, "site1", include_patient=False)
    doc = parse(payload)
    assert doc["status"] == "final"
    assert doc["id"] == bp_panel_id(sys1, dia1) == bp_panel_id(sys1, dia1)
    assert doc["category"][0]["coding"][0]["code"] == "vital-signs"
    assert {c["system"]: c["code"] for c in doc["code"]["coding"]} == {
        "http://loinc.org": "85354-9",
        "urn:iso:std:iso:11073:10101": "150020",
    }
    assert "valueQuantity" not in doc
    comps = {c["code"]["coding"][0]["code"]: c["valueQuantity"] for c in doc["component"]}
    assert comps["8480-6"]["value"] == 118
    assert comps["8462-4"]["value"] == 76
    assert {q["code"] for q in comps.values()} == {"mm[Hg]"}
    assert datetime.fromisoformat(doc["effectiveDateTime"]) == sys1.time


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    b = Broker(tmp_path / "broker")
    b.start()
    yield b
    b.stop()


async def test_fhir_observations_arrive_through_mosquitto(tmp_path: Path, broker: Broker) -> None:
    out = make_output(tmp_path, broker.port, payload_format="fhir")
    sent = [
        reading(DeviceKind.BLOOD_PRESSURE, Metric.BP_SYSTOLIC, "121", Unit.MMHG, group="g1"),
        reading(DeviceKind.BLOOD_PRESSURE, Metric.BP_DIASTOLIC, "79", Unit.MMHG, group="g1"),
        reading(DeviceKind.THERMOMETER, Metric.TEMP_ORAL, "37.05", Unit.CEL),
    ]
    await out.start()
    try:
        async with Subscriber(broker.port, "vitalsd/site1/+/+/observation") as sub:
            for o in sent:
                await out.handle(o)
            await sub.wait(lambda: len(sub.messages) == 4, "3 readings and the BP panel")
            await asyncio.sleep(0.3)  # and nothing more
    finally:
        await out.close()
    assert {t for t, _, _ in sub.messages} == {"vitalsd/site1/exam1/exam1-dev/observation"}
    docs = [parse(p) for _, p, _ in sub.messages]
    panel = docs.pop(2)  # right after the diastolic that completed it
    for doc, o in zip(docs, sent, strict=True):
        assert_vital_sign(doc, o)
    assert panel["code"]["coding"][0] == {"system": "http://loinc.org", "code": "85354-9"}
    assert [c["valueQuantity"]["value"] for c in panel["component"]] == [121, 79]
    groups = [
        {i["system"]: i["value"] for i in d["identifier"]}.get("urn:vitalsd:group") for d in docs
    ]
    assert groups == ["exam1-dev/g1", "exam1-dev/g1", None]


def test_fhir_with_discovery_is_refused() -> None:
    from pydantic import ValidationError

    from vitalsd.outputs.mqtt import MqttOptions

    with pytest.raises(ValidationError, match="payload_format"):
        MqttOptions.model_validate({"payload_format": "fhir", "homeassistant_discovery": True})
    with pytest.raises(ValidationError):
        MqttOptions.model_validate({"payload_format": "xml"})
