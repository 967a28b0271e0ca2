"""``payload_format = "fhir"``: one FHIR R4 Observation per reading (vital-signs profile).

Choices, each against the R4 vital-signs profile (hl7.org/fhir/R4/vitalsigns.html):

- ``status`` is ``final`` for every reading: a device reading is complete when it is
  sent, and FHIR's ``preliminary`` means "more results to come", which is never true here.
  A value that normalization flagged ``implausible`` is not altered or withheld anywhere
  in vitalsd, so it stays ``final`` too; the flag travels in ``note`` (there is no
  ObservationInterpretation code for "implausible"), and device alarms become the
  interpretation codes ``H`` / ``L``.
- ``code`` carries the LOINC coding (the profile's required one) and the IEEE 11073 MDC
  coding (``urn:iso:std:iso:11073:10101``, context-free code). A metric with no LOINC
  code (perfusion index) has the MDC coding only and is outside the profile.
- ``valueQuantity.value`` is a JSON number with exactly the reading's digits (36.60 stays
  36.60, not 36.6): ``dumps`` writes the Decimal's own text, never a float.
- ``subject``: the profile requires one, but a room gateway usually knows no patient, so
  it is present only when a patient is associated *and* the site set
  ``include_patient = true`` (an identifier, never a name); otherwise omitted.
- Blood pressure: every reading is published at once as its own Observation (8480-6
  systolic, 8462-4 diastolic, ...), durable through the outbox like any other. When the
  systolic and diastolic of one cuff measurement (same device and ``group``) have both
  gone out, the BP profile's panel follows: one Observation 85354-9 with the two as
  components. The pairing is in memory (``BpPairs``), so a restart between the two
  halves loses that panel, never a value; singles carry the ``urn:vitalsd:group``
  identifier for consumers that pair them themselves.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import OrderedDict
from decimal import Decimal
from typing import Any

from vitalsd.model import DeviceIdentity, Flag, Metric, Observation

LOINC = "http://loinc.org"
MDC = "urn:iso:std:iso:11073:10101"
UCUM = "http://unitsofmeasure.org"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
VITAL_SIGNS_PROFILE = "http://hl7.org/fhir/StructureDefinition/vitalsigns"
ID_SYSTEM = "urn:vitalsd:observation"
GROUP_SYSTEM = "urn:vitalsd:group"
BP_PANEL_LOINC = "85354-9"
BP_PANEL_MDC = ("150020", "MDC_PRESS_BLD_NONINV")  # SCADA partition, term 18948

_MARK = "\x00"
_MARKED = re.compile(r'"\\u0000(-?[0-9]+(?:\.[0-9]+)?)\\u0000"')


def _exact(value: Decimal) -> str:
    """A placeholder string that ``dumps`` turns back into the bare number."""
    return f"{_MARK}{format(value, 'f')}{_MARK}"


def dumps(doc: dict[str, Any]) -> bytes:
    return _MARKED.sub(r"\1", json.dumps(doc, separators=(",", ":"))).encode()


def device_display(device_id: str, identity: DeviceIdentity) -> str:
    what = " ".join(p for p in (identity.make, identity.model) if p)
    serial = f" SN {identity.serial}" if identity.serial else ""
    return f"{what}{serial} ({device_id})" if what or serial else device_id


def _coding(o: Observation) -> list[dict[str, str]]:
    coding = [{"system": MDC, "code": str(o.mdc_code), "display": o.mdc_refid}]
    if o.loinc is not None:
        coding.insert(0, {"system": LOINC, "code": o.loinc})
    return coding


def _quantity(o: Observation) -> dict[str, Any]:
    return {"value": _exact(o.value), "unit": o.unit.value, "system": UCUM, "code": o.unit.value}


def _resource(
    o: Observation,
    site: str,
    rid: str,
    code: dict[str, Any],
    flags: frozenset[Flag],
    *,
    include_patient: bool,
) -> dict[str, Any]:
    """The parts every vitalsd Observation shares; ``o`` gives device, times and context."""
    identifiers = [{"system": ID_SYSTEM, "value": rid}]
    if o.group is not None:
        identifiers.append({"system": GROUP_SYSTEM, "value": f"{o.device_id}/{o.group}"})
    doc: dict[str, Any] = {
        "resourceType": "Observation",
        "id": rid,
        "identifier": identifiers,
        "status": "final",
        "category": [
            {
                "coding": [{"system": CATEGORY, "code": "vital-signs", "display": "Vital Signs"}],
                "text": "Vital Signs",
            }
        ],
        "code": code,
        "effectiveDateTime": o.time.isoformat(),
        "issued": o.receive_time.isoformat(),
        "device": {
            "identifier": {"system": f"urn:vitalsd:{site}:device", "value": o.device_id},
            "display": device_display(o.device_id, o.identity),
        },
    }
    patient = o.context.patient
    if include_patient and patient is not None:
        # Never a name; the assigning authority is not a URI, so it is the assigner.
        ident: dict[str, Any] = {"value": patient.id}
        if patient.assigning_authority:
            ident["assigner"] = {"display": patient.assigning_authority}
        doc["subject"] = {"identifier": ident}
        if any(c["system"] == LOINC for c in code["coding"]):
            # Claimed only when conformant: the profile requires a subject and a LOINC code.
            doc["meta"] = {"profile": [VITAL_SIGNS_PROFILE]}
    interpretation = [
        {"coding": [{"system": INTERPRETATION, "code": c}]}
        for flag, c in ((Flag.ALARM_HIGH, "H"), (Flag.ALARM_LOW, "L"))
        if flag in flags
    ]
    if interpretation:
        doc["interpretation"] = interpretation
    if flags:
        doc["note"] = [{"text": "vitalsd flags: " + ", ".join(sorted(flags))}]
    return doc


def fhir_observation(o: Observation, site: str, *, include_patient: bool) -> dict[str, Any]:
    code = {"coding": _coding(o), "text": o.metric.value}
    doc = _resource(o, site, o.id, code, o.flags, include_patient=include_patient)
    doc["valueQuantity"] = _quantity(o)
    return doc


def fhir_payload(o: Observation, site: str, *, include_patient: bool) -> bytes:
    return dumps(fhir_observation(o, site, include_patient=include_patient))


def bp_panel_id(systolic: Observation, diastolic: Observation) -> str:
    """Stable for the pair, so a resent panel de-duplicates like any reading."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"urn:vitalsd:bp:{systolic.id}:{diastolic.id}").hex


def fhir_bp_panel(
    systolic: Observation, diastolic: Observation, site: str, *, include_patient: bool
) -> bytes:
    """The BP profile's form: 85354-9 with systolic and diastolic components, no value."""
    mdc_code, mdc_refid = BP_PANEL_MDC
    code = {
        "coding": [
            {"system": LOINC, "code": BP_PANEL_LOINC},
            {"system": MDC, "code": mdc_code, "display": mdc_refid},
        ],
        "text": "blood_pressure",
    }
    rid = bp_panel_id(systolic, diastolic)
    flags = systolic.flags | diastolic.flags
    doc = _resource(systolic, site, rid, code, flags, include_patient=include_patient)
    doc["component"] = [
        {"code": {"coding": _coding(o), "text": o.metric.value}, "valueQuantity": _quantity(o)}
        for o in (systolic, diastolic)
    ]
    return dumps(doc)


class BpPairs:
    """Systolic and diastolic of one cuff measurement (same device and group), in memory.

    Bounded: a group whose other half never comes is forgotten after ``limit`` newer ones.
    """

    def __init__(self, limit: int = 256) -> None:
        self.limit = limit
        self._halves: OrderedDict[tuple[str, str], Observation] = OrderedDict()

    def add(self, o: Observation) -> tuple[Observation, Observation] | None:
        """(systolic, diastolic) when ``o`` completes a pair, else None."""
        if o.group is None or o.metric not in (Metric.BP_SYSTOLIC, Metric.BP_DIASTOLIC):
            return None
        key = (o.device_id, o.group)
        other = self._halves.get(key)
        if other is None or other.metric is o.metric:
            self._halves[key] = o
            self._halves.move_to_end(key)
            while len(self._halves) > self.limit:
                self._halves.popitem(last=False)
            return None
        del self._halves[key]
        return (o, other) if o.metric is Metric.BP_SYSTOLIC else (other, o)
