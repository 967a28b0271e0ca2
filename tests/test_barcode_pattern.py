"""Barcode scans → Patient: the site's pattern, the date format, the option checks."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from vitalsd.context.barcode import BarcodeOptions
from vitalsd.context.barcode_pattern import (
    PatientPattern,
    RoomPattern,
    ScanRejected,
    strip_aim_prefix,
)
from vitalsd.model import Patient, Sex

MRN = r"MRN(?P<id>\d+)"
CARET = (
    r"\^MRN\^(?P<id>[^^]+)\^(?P<family_name>[^^]*)\^(?P<given_name>[^^]*)\^"
    r"(?P<birth_date>\d{8})\^(?P<sex>[MFOUAN])"
)
VISIT = r"V(?P<visit_number>\d{8})"


def test_plain_mrn_label() -> None:
    p = PatientPattern.from_text(MRN, assigning_authority="HOSP")
    assert p.parse("MRN12345") == Patient(id="12345", assigning_authority="HOSP")


def test_caret_wristband_with_name_birth_date_and_sex() -> None:
    p = PatientPattern.from_text(CARET)
    assert p.parse("^MRN^12345^DOE^JANE^19800101^F") == Patient(
        id="12345",
        family_name="DOE",
        given_name="JANE",
        birth_date=date(1980, 1, 1),
        sex=Sex.FEMALE,
    )


def test_visit_label_without_id_uses_the_visit_number() -> None:
    patient = PatientPattern.from_text(VISIT).parse("V00123456")
    assert patient.id == "00123456"
    assert patient.visit_number == "00123456"


def test_the_whole_scan_must_match_not_a_part_of_it() -> None:
    p = PatientPattern.from_text(MRN)
    with pytest.raises(ScanRejected, match="no match"):
        p.parse("XMRN12345")
    with pytest.raises(ScanRejected, match="no match"):
        p.parse("MRN12345 extra")


def test_assigning_authority_and_date_format_from_the_label() -> None:
    p = PatientPattern.from_text(
        r"(?P<assigning_authority>[A-Z]+)-(?P<id>\d+)-(?P<birth_date>[\d/]+)-(?P<sex>\w+)",
        birth_date_format="%m/%d/%Y",
        assigning_authority="DEFAULT",
    )
    patient = p.parse("CLINIC-77-12/31/1999-male")
    assert patient.assigning_authority == "CLINIC"
    assert patient.birth_date == date(1999, 12, 31)
    assert patient.sex is Sex.MALE


def test_a_bad_birth_date_is_rejected_without_quoting_the_scan() -> None:
    p = PatientPattern.from_text(CARET)
    with pytest.raises(ScanRejected) as info:
        p.parse("^MRN^12345^DOE^JANE^19801399^F")
    assert "birth date" in str(info.value)
    assert "DOE" not in str(info.value) and "12345" not in str(info.value)


def test_room_label() -> None:
    rooms = RoomPattern.from_text(r"ROOM:(?P<room>\w+)")
    assert rooms.room("ROOM:EXAM3") == "EXAM3"
    assert rooms.room("MRN12345") is None


def test_aim_symbology_prefix() -> None:
    assert strip_aim_prefix("]C1MRN12345") == "MRN12345"
    assert strip_aim_prefix("MRN12345") == "MRN12345"


def _options(**kw: object) -> BarcodeOptions:
    return BarcodeOptions.model_validate({"port": "/dev/ttyACM0", "room": "exam3", **kw})


def test_options_accept_the_documented_examples() -> None:
    for pattern in (MRN, CARET, VISIT):
        assert _options(pattern=pattern).pattern == pattern
    assert _options(pattern=MRN, confirm="room_label", room=None).confirm == "room_label"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"pattern": "MRN(?P<id>\\d+"}, "not a valid regular expression"),
        ({"pattern": "MRN(?P<mrn>\\d+)"}, "unknown group name(s) mrn (allowed: id,"),
        ({"pattern": "MRN\\d+"}, "needs a named group (?P<id>...) or (?P<visit_number>...)"),
        ({"pattern": MRN, "birth_date_format": "%Q"}, "not a date format"),
        ({"pattern": MRN, "room_pattern": "ROOM:\\w+"}, "needs a named group (?P<room>...)"),
        ({"pattern": MRN, "hid": "/dev/input/event3"}, "either port (serial) or hid (USB)"),
        ({"pattern": MRN, "room": None}, 'confirm = "none" needs room'),
        ({"pattern": MRN, "scope": "device"}, 'scope = "device" needs device'),
        ({"pattern": MRN, "confirm": "always"}, "'none' or 'room_label'"),
        ({"pattern": MRN, "confirm_within": 0}, "greater than 0"),
        ({"pattern": MRN, "patern": "x"}, "Extra inputs are not permitted"),
    ],
)
def test_option_mistakes_get_a_specific_message(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        _options(**changes)
    assert message in str(info.value)
