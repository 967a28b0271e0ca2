"""The ADT/SIU reader and ACK builder on golden messages, no sockets."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hl7apy.parser import parse_message

from hl7.adt.ack import AckHeader, answer_code, build_ack, header_of
from hl7.adt.demographics import location_of, parse_ts, patient_identity, patient_of
from hl7.adt.er7 import Delimiters, parse_er7
from hl7.adt.errors import MessageNotApplied, MessageRejected
from vitalsd.model import Location, Patient, Sex

# The example ADT^A01 of the HL7 v2.3.1 standard, ch. 2 ("Example message"), as it is
# reproduced e.g. at digitalhealth.folio3.com/blog/hl7-messages-examples (the standard's
# fictitious patient and hospital; line breaks are CR on the wire).
HL7_STANDARD_A01 = (
    "MSH|^~\\&|ADT1|MCM|FINGER|MCM|198808181126|SECURITY|ADT^A01|MSG00001|P|2.3.1\r"
    "EVN|A01|198808181123\r"
    "PID|1||PATID1234^5^M11^ADT1^MR^MCM~123456789^^^USSSA^SS||SMITH^WILLIAM^A^III||19610615|M||C"
    "|1200 N ELM STREET^^JERUSALEM^TN^99999-1020|GL|(999)999-1212|(999)999-3333||S||"
    "PATID12345001^2^M10^ADT1^AN^A|123456789|987654^NC\r"
    "NK1|1|SMITH^OREGANO^K|WI^WIFE||||NK^NEXT OF KIN\r"
    "PV1|1|I|2000^2012^01||||004777^CASTRO^FRANK^J.|||SUR||||ADM|A0\r"
)


def test_standard_example_a01() -> None:
    msg = parse_er7(HL7_STANDARD_A01)
    assert [s.name for s in msg.segments] == ["MSH", "EVN", "PID", "NK1", "PV1"]
    assert msg.get("MSH", 9, 2) == "A01"
    assert msg.get("MSH", 10) == "MSG00001"
    assert patient_of(msg, None) == Patient(
        id="PATID1234",
        assigning_authority="ADT1",
        family_name="SMITH",
        given_name="WILLIAM",
        visit_number="PATID12345001",  # PID-18 (PV1-19 is empty)
        birth_date=date(1961, 6, 15),
        sex=Sex.MALE,
    )
    pl = msg.raw(msg.segment("PV1"), 3)
    assert location_of(msg, pl) == Location(point_of_care="2000", room="2012", bed="01")
    # The second PID-3 repetition, chosen by its assigning authority.
    assert patient_identity(msg, "USSSA") == Patient("123456789", "USSSA")
    with pytest.raises(MessageNotApplied, match="no identifier assigned by 'HOSP'"):
        patient_identity(msg, "HOSP")


def test_fields_agree_with_hl7apy() -> None:
    # An independent parser reads the same values from the same message.
    theirs = parse_message(HL7_STANDARD_A01.replace("\r", "\n").strip().replace("\n", "\r"))
    ours = parse_er7(HL7_STANDARD_A01)
    assert theirs.pid.pid_3[0].cx_1.to_er7() == ours.get("PID", 3, 1)
    assert theirs.pid.pid_5.xpn_1.to_er7() == ours.get("PID", 5, 1)
    assert theirs.pv1.pv1_3.pl_2.to_er7() == ours.get("PV1", 3, 2)


def test_other_delimiters_and_escapes() -> None:
    # MSH-1/MSH-2 decide: '#' fields, '$' components, '*' repetitions, '!' escape, '@' subs.
    text = (
        "MSH#$*!@#EHR#HOSP#VITALSD#CLINIC#20250314103012##ADT$A08#C1#P#2.5.1\r"
        "PID#1##M1$$$HOSP@1.2.3@ISO$MR##O!S!BRIEN$ANN!F!MARIE##19800229#F\r"
        "PV1#1#O#FM$EXAM 3$$HOSP@x@y\n"
    )
    msg = parse_er7(text)
    assert msg.delimiters == Delimiters("#", "$", "*", "!", "@")
    p = patient_of(msg, "HOSP")
    assert (p.id, p.family_name, p.given_name) == ("M1", "O$BRIEN", "ANN#MARIE")
    assert p.birth_date == date(1980, 2, 29)
    assert location_of(msg, msg.raw(msg.segment("PV1"), 3)) == Location(
        facility="HOSP", point_of_care="FM", room="EXAM 3"
    )


def test_standard_delimiter_escapes_and_explicit_null() -> None:
    msg = parse_er7(
        'MSH|^~\\&|A|B|C|D|20250101||ADT^A08|1|P|2.5\rPID|1||X1^^^H||D\\T\\J\\S\\Y^""|||U\r'
    )
    p = patient_of(msg, None)
    assert p.family_name == "D&J^Y"
    assert p.given_name is None  # "" is HL7's explicit null
    assert p.sex is Sex.UNKNOWN


@pytest.mark.parametrize(
    ("pid", "match"),
    [
        ("PID|1||^^^H||DOE", "PID-3 .* is empty"),
        ("PID|1||A1^^^H||DOE||19701399", "not a valid calendar date"),
        ("PID|1||A1^^^H||DOE||1970-01-01", "YYYYMMDD"),
        ("PID|1||A1^^^H||DOE|||Q", "PID-8 'Q' is not an administrative sex"),
    ],
)
def test_bad_patient_fields_are_specific(pid: str, match: str) -> None:
    msg = parse_er7(f"MSH|^~\\&|A|B|C|D|20250101||ADT^A01|1|P|2.5\r{pid}\r")
    with pytest.raises(MessageNotApplied, match=match):
        patient_of(msg, None)


@pytest.mark.parametrize(
    "text",
    ["", "garbage", "PID|1||X\r", "MSH|", "MSH|^~\\&|A\rP D|x\r", "MSHa^~\\&|x"],
)
def test_unusable_messages_are_rejected(text: str) -> None:
    with pytest.raises(MessageRejected):
        parse_er7(text)


def test_partial_birth_date_and_times() -> None:
    msg = parse_er7("MSH|^~\\&|A|B|C|D|20250101||ADT^A01|1|P|2.5\rPID|1||A1||DOE||1970\r")
    assert patient_of(msg, None).birth_date is None
    assert parse_ts("20250314103012+0100") == datetime(
        2025, 3, 14, 10, 30, 12, tzinfo=timezone(timedelta(hours=1))
    )
    assert parse_ts("202503141030") == datetime(2025, 3, 14, 10, 30, tzinfo=UTC)
    assert parse_ts("20250314103012.1234-0500") == datetime(
        2025, 3, 14, 10, 30, 12, tzinfo=timezone(timedelta(hours=-5))
    )
    assert parse_ts("tomorrow") is None


NOW = datetime(2025, 3, 14, 10, 30, 13, tzinfo=UTC)


def test_ack_swaps_header_and_echoes_control_id() -> None:
    header = header_of(parse_er7(HL7_STANDARD_A01))
    ack = build_ack(header, "AA", NOW).decode()
    msh, msa = ack.rstrip("\r").split("\r")
    fields = msh.split("|")
    assert fields[2:6] == ["FINGER", "MCM", "ADT1", "MCM"]
    assert fields[6] == "20250314103013+0000"
    assert fields[8] == "ACK^A01^ACK"
    assert len(fields[9]) <= 20
    assert fields[10:12] == ["P", "2.3.1"]
    assert msa == "MSA|AA|MSG00001"


def test_error_ack_validates_with_hl7apy() -> None:
    msg = parse_er7(
        "MSH|^~\\&|EHR|HOSP|VITALSD|CLINIC|20250314103012||ADT^A01^ADT_A01|C9|P|2.5.1\r"
        "PID|1||A1^^^H||DOE|||Q\rPV1|1|O|FM^EXAM1\r"
    )
    with pytest.raises(MessageNotApplied) as info:
        patient_of(msg, None)
    ack = build_ack(header_of(msg), "AE", NOW, info.value).decode()
    assert "\rERR||PID^1^8|103^Table value not found^HL70357|E||||PID-8 'Q' is not" in ack
    parsed = parse_message(ack, validation_level=1)  # hl7apy STRICT
    parsed.validate()
    assert parsed.msa.msa_1.to_er7() == "AE"
    assert parsed.msa.msa_2.to_er7() == "C9"


def test_ack_modes() -> None:
    d = Delimiters()
    original = AckHeader(d)
    assert [answer_code(original, c) for c in ("AA", "AE", "AR")] == ["AA", "AE", "AR"]
    accept_always = AckHeader(d, accept_ack_type="AL", application_ack_type="NE")
    assert [answer_code(accept_always, c) for c in ("AA", "AE", "AR")] == ["CA", "CE", "CR"]
    errors_only = AckHeader(d, accept_ack_type="ER", application_ack_type="NE")
    assert [answer_code(errors_only, c) for c in ("AA", "AR")] == [None, "CR"]
    app_only = AckHeader(d, accept_ack_type="NE", application_ack_type="AL")
    assert [answer_code(app_only, c) for c in ("AA", "AE")] == ["AA", "AE"]
    never = AckHeader(d, accept_ack_type="NE", application_ack_type="NE")
    assert answer_code(never, "AA") is None


def test_pre_v25_error_ack_uses_err_1_and_validates() -> None:
    msg = parse_er7(HL7_STANDARD_A01.replace("|2.3.1\r", "|2.3\r").replace("|M||C|", "|Q||C|"))
    with pytest.raises(MessageNotApplied) as info:
        patient_of(msg, None)
    ack = build_ack(header_of(msg), "AE", NOW, info.value).decode()
    assert "\rERR|PID^1^8^103&Table value not found&HL70357\r" in ack
    assert "|ACK^A01|" in ack  # MSH-9.3 (message structure) exists from v2.3.1 on
    parsed = parse_message(ack)  # tolerant: hl7apy needs MSH-9.3 to be strict
    assert parsed.err.err_1.to_er7() == "PID^1^8^103&Table value not found&HL70357"


def test_escaping_for_the_ack_uses_the_senders_delimiters() -> None:
    assert Delimiters("#", "$", "*", "!", "@").escape_text("a#b$c!d\re") == "a!F!b!S!c!E!d e"
    assert Delimiters("|", "^", "~", "", "").escape_text("a|b^c") == "a b c"
