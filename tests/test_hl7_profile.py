"""Every message shape vitalsd emits passes hl7apy STRICT validation against the PCD-01 profile.

The profile is the IHE/Gazelle PCD-01 ORU^R01 conformance profile (shared/hl7, from
``oehf/ipf-gazelle``), compiled with hl7apy's own ``hl7apy_profile_parser`` (needs lxml)
into a temporary directory once per session: it takes well under a second, so nothing
compiled is committed. How this was done and what it cannot see: reference §5.2, §6.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# hl7apy and lxml are dev dependencies: a missing one is a failed import, never a skip.
import hl7apy
import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.exceptions import HL7apyException
from hl7apy.parser import parse_message

from hl7.encoder import encode_oru
from hl7.sample import (
    KINDS,
    SAMPLE_PATIENT,
    SAMPLE_SETTINGS,
    observations_for,
    sample_message,
    sample_report,
)
from hl7.settings import Hl7Settings
from vitalsd.model import Context, DeviceIdentity, DeviceKind, Flag, Location, Metric, Patient, Unit

PROFILE_XML = (
    Path(__file__).resolve().parents[2] / "shared" / "hl7" / "IHE_PCD-01_ORU_R01_profile.xml"
)
if not PROFILE_XML.exists():  # the checkout lives at /work/main, the profile at /work/shared
    PROFILE_XML = Path("/work/shared/hl7/IHE_PCD-01_ORU_R01_profile.xml")

Validate = Callable[[str], None]


@pytest.fixture(scope="session")
def pcd01_profile(tmp_path_factory: pytest.TempPathFactory) -> Any:
    assert PROFILE_XML.exists(), (
        f"PCD-01 profile not found at {PROFILE_XML}: the project's shared/ folder must sit "
        "beside the checkout"
    )
    parser = shutil.which("hl7apy_profile_parser", path=str(Path(sys.executable).parent))
    assert parser, "hl7apy_profile_parser is installed with hl7apy"
    out = tmp_path_factory.mktemp("pcd01-profile")
    subprocess.run(
        [sys.executable, "-W", "ignore", parser, "-o", str(out), str(PROFILE_XML)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (compiled,) = out.iterdir()
    return hl7apy.load_message_profile(str(compiled))


@pytest.fixture
def validate(pcd01_profile: Any) -> Validate:
    def run(message: str) -> None:
        parsed = parse_message(
            message, validation_level=VALIDATION_LEVEL.STRICT, message_profile=pcd01_profile
        )
        assert parsed.validate() is True

    return run


@pytest.mark.parametrize("associated", [True, False], ids=["patient", "unassociated"])
@pytest.mark.parametrize("kind", KINDS)
def test_sample_of_every_device_kind_is_conformant(
    validate: Validate, kind: str, associated: bool
) -> None:
    validate(sample_message(kind, associated=associated))


def test_every_device_kind_has_a_sample() -> None:
    kinds = {sample_report(k).observations[0].device_kind for k in KINDS}
    assert kinds == set(DeviceKind)


def _variant(settings: Hl7Settings = SAMPLE_SETTINGS, **changes: Any) -> str:
    report = sample_report("bp")
    obs = tuple(dataclasses.replace(o, **changes) for o in report.observations)
    return encode_oru(obs, settings=settings, control_id="C1", filler_id="F1", now=report.now)


SHAPES: dict[str, Callable[[], str]] = {
    "no-loinc-alternates": lambda: _variant(
        dataclasses.replace(SAMPLE_SETTINGS, loinc_alternates=False)
    ),
    "ucum-first": lambda: _variant(dataclasses.replace(SAMPLE_SETTINGS, ucum_first=True)),
    "gazelle-ack-types": lambda: _variant(
        dataclasses.replace(SAMPLE_SETTINGS, accept_ack_type="NE", application_ack_type="AL")
    ),
    "minimal-settings": lambda: _variant(Hl7Settings()),
    "local-times": lambda: _variant(dataclasses.replace(SAMPLE_SETTINGS, times_in_utc=False)),
    "flags-and-notes": lambda: _variant(
        flags=frozenset({Flag.IMPLAUSIBLE, Flag.ALARM_HIGH, Flag.STORED}), stored=True
    ),
    "local-equipment-id": lambda: _variant(identity=DeviceIdentity()),
    "patient-without-name-with-visit": lambda: _variant(
        context=Context(Location(room="EXAM03"), Patient("MRN1", "HOSP", visit_number="V1"))
    ),
    "no-location": lambda: _variant(context=Context()),
    "escaped-text": lambda: _variant(
        dataclasses.replace(SAMPLE_SETTINGS, sending_facility="A&B^East"),
        context=Context(
            Location(facility="A&B", room="R~1"), Patient("M^1", "H&H", family_name="Doe|Roe")
        ),
    ),
    "pound-scale": lambda: encode_oru(
        observations_for(
            DeviceKind.SCALE,
            "exam03-scale",
            DeviceIdentity(address="00:09:1F:80:12:34"),
            [(Metric.BODY_WEIGHT, "159.6", Unit.LB)],
            received=datetime(2025, 3, 14, 10, 33, 2, tzinfo=UTC),
        ),
        settings=SAMPLE_SETTINGS,
        control_id="C2",
        filler_id="F2",
        now=datetime(2025, 3, 14, 10, 33, 12, tzinfo=UTC),
    ),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_other_message_shapes_are_conformant(validate: Validate, shape: str) -> None:
    validate(SHAPES[shape]())


def test_implausible_value_is_flagged_unaltered_and_conformant(validate: Validate) -> None:
    obs = observations_for(
        DeviceKind.BLOOD_PRESSURE,
        "exam03-cuff",
        DeviceIdentity(eui64="0123456789ABCDEF"),
        [(Metric.BP_SYSTOLIC, "400", Unit.MMHG), (Metric.BP_DIASTOLIC, "82", Unit.MMHG)],
        received=datetime(2025, 3, 14, 10, 29, 58, tzinfo=UTC),
        patient=SAMPLE_PATIENT,
    )
    assert Flag.IMPLAUSIBLE in obs[0].flags and Flag.IMPLAUSIBLE not in obs[1].flags
    message = encode_oru(
        obs, settings=SAMPLE_SETTINGS, control_id="C3", filler_id="F3", now=obs[0].receive_time
    )
    validate(message)
    rows = [s.split("|") for s in message.split("\r") if s.startswith("OBX|") and "|NM|" in s]
    assert [(r[5], r[8], r[11]) for r in rows] == [("400", "QUES", "R"), ("82", "", "R")]


@pytest.mark.parametrize(
    ("cut", "what"),
    [
        ("||IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO", "MSH-21"),
        ("|1.0.0.2|", "OBX-4"),
    ],
)
def test_the_validator_does_catch_what_matters(validate: Validate, cut: str, what: str) -> None:
    # §6: the profile catches a missing MSH-21 or OBX-4; prove the check is live here too
    broken = sample_message("bp").replace(cut, "||" if what == "OBX-4" else "", 1)
    with pytest.raises(HL7apyException):
        validate(broken)
