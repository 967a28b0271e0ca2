"""The PCD-01 ORU^R01 encoder: golden comparisons against shared/reference/hl7-pcd01.md §2.3
(layout of IHE PCD TF-2 Rev 8.0 §E.1.2 and App B), and the rules around them."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from hl7.encoder import Hl7EncodeError, encode_oru
from hl7.equipment import equipment_id
from hl7.sample import SAMPLE_SETTINGS, observations_for, sample_message, sample_report
from hl7.settings import Hl7Settings
from hl7.timestamps import format_dtm
from vitalsd.model import (
    Context,
    DeviceIdentity,
    DeviceKind,
    Flag,
    Location,
    Metric,
    Observation,
    Patient,
    Sex,
    Unit,
)

_HEADER = (
    "MSH|^~\\&|VITALSD^0123456789ABCDEF^EUI-64|CLINIC_A|||{now}+0000||ORU^R01^ORU_R01|{ctl}|P|2.6"
    "|||AL|NE||UNICODE UTF-8|en^English^ISO639||IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO"
)
_PID = "PID|||MRN12345^^^HOSP^MR||DOE^JANE^^^^^L||19700101|F"
_PV1 = "PV1||O|CLINIC_A^EXAM03^^HOSP"
_OBR = (
    "OBR|1|{f}^VITALSD^0123456789ABCDEF^EUI-64|{f}^VITALSD^0123456789ABCDEF^EUI-64"
    "|182777000^monitoring of patient^SCT|||{t}+0000"
)
_SYNC = "OBX|1|CWE|68220^MDC_TIME_SYNC_PROTOCOL^MDC|0.0.0.1|532226^MDC_TIME_SYNC_NTPV4^MDC||||||R"


def _msg(now: str, ctl: str, f: str, t: str, *rows: str, pid: str = _PID) -> str:
    head = [_HEADER.format(now=now, ctl=ctl), pid, _PV1, _OBR.format(f=f, t=t), _SYNC]
    return "\r".join([*head, *rows])


GOLDEN = {
    "bp": _msg(  # §2.3 (a)
        "20250314103012",
        "VSD20250314103012001",
        "V250314103012001",
        "20250314103000",
        "OBX|2||528391^MDC_DEV_SPEC_PROFILE_BP^MDC|1.0.0.0|||||||X|||||||0123456789ABCDEF^^0123456789ABCDEF^EUI-64",
        "OBX|3|DTM|67975^MDC_ATTR_TIME_ABS^MDC|1.0.0.1|20250314052958||||||R|||20250314102958+0000",
        "OBX|4|NM|150021^MDC_PRESS_BLD_NONINV_SYS^MDC^8480-6^Systolic blood pressure^LN|1.0.0.2|128|266016^MDC_DIM_MMHG^MDC^mm[Hg]^mm[Hg]^UCUM|||||R|||20250314102955+0000|||MMEAS^manual-measurement^MDC",
        "OBX|5|NM|150022^MDC_PRESS_BLD_NONINV_DIA^MDC^8462-4^Diastolic blood pressure^LN|1.0.0.3|82|266016^MDC_DIM_MMHG^MDC^mm[Hg]^mm[Hg]^UCUM|||||R|||20250314102955+0000|||MMEAS^manual-measurement^MDC",
        "OBX|6|NM|150023^MDC_PRESS_BLD_NONINV_MEAN^MDC^8478-0^Mean blood pressure^LN|1.0.0.4|97|266016^MDC_DIM_MMHG^MDC^mm[Hg]^mm[Hg]^UCUM|||||R|||20250314102955+0000|||MMEAS^manual-measurement^MDC",
        "OBX|7|NM|149546^MDC_PULS_RATE_NON_INV^MDC^8867-4^Heart rate^LN|1.0.0.5|72|264864^MDC_DIM_BEAT_PER_MIN^MDC^/min^/min^UCUM|||||R|||20250314102955+0000|||MMEAS^manual-measurement^MDC",
    ),
    "spo2": _msg(  # §2.3 (b)
        "20250314103112",
        "VSD20250314103112002",
        "V250314103112002",
        "20250314103100",
        "OBX|2||528388^MDC_DEV_SPEC_PROFILE_PULS_OXIM^MDC|1.0.0.0|||||||X|||||||0123456789ABCDF0^^0123456789ABCDF0^EUI-64",
        "OBX|3|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC^59408-5^Oxygen saturation in Arterial blood by Pulse oximetry^LN|1.0.0.1|97|262688^MDC_DIM_PERCENT^MDC^%^%^UCUM|||||R|||20250314103100+0000",
        "OBX|4|NM|149530^MDC_PULS_OXIM_PULS_RATE^MDC^8867-4^Heart rate^LN|1.0.0.2|71|264864^MDC_DIM_BEAT_PER_MIN^MDC^/min^/min^UCUM|||||R|||20250314103100+0000",
        "OBX|5|NM|150448^MDC_PULS_OXIM_PERF_REL^MDC|1.0.0.3|3.9|262688^MDC_DIM_PERCENT^MDC^%^%^UCUM|||||R|||20250314103100+0000",
    ),
    "temp": _msg(  # §2.3 (c)
        "20250314103212",
        "VSD20250314103212003",
        "V250314103212003",
        "20250314103205",
        "OBX|2||528392^MDC_DEV_SPEC_PROFILE_TEMP^MDC|1.0.0.0|||||||X|||||||0123456789ABCDF1^^0123456789ABCDF1^EUI-64",
        "OBX|3|DTM|67975^MDC_ATTR_TIME_ABS^MDC|1.0.0.1|20250314103207||||||R|||20250314103207+0000",
        "OBX|4|NM|188424^MDC_TEMP_ORAL^MDC^8331-1^Oral temperature^LN|1.0.0.2|36.8|268192^MDC_DIM_DEGC^MDC^Cel^Cel^UCUM|||||R|||20250314103205+0000",
    ),
    "weight": _msg(  # §2.3 (d)
        "20250314103312",
        "VSD20250314103312004",
        "V250314103312004",
        "20250314103300",
        "OBX|2||528399^MDC_DEV_SPEC_PROFILE_SCALE^MDC|1.0.0.0|||||||X|||||||0123456789ABCDF2^^0123456789ABCDF2^EUI-64",
        "OBX|3|DTM|67975^MDC_ATTR_TIME_ABS^MDC|1.0.0.1|20250314103302||||||R|||20250314103302+0000",
        "OBX|4|NM|188736^MDC_MASS_BODY_ACTUAL^MDC^29463-7^Body weight^LN|1.0.0.2|72.4|263875^MDC_DIM_KILO_G^MDC^kg^kg^UCUM|||||R|||20250314103300+0000",
        "OBX|5|NM|188740^MDC_LEN_BODY_ACTUAL^MDC^8302-2^Body height^LN|1.0.0.3|172.0|263441^MDC_DIM_CENTI_M^MDC^cm^cm^UCUM|||||R|||20250314103300+0000",
        "OBX|6|NM|188752^MDC_RATIO_MASS_BODY_LEN_SQ^MDC^39156-5^Body mass index (BMI) [Ratio]^LN|1.0.0.4|24.5|264096^MDC_DIM_KG_PER_M_SQ^MDC^kg/m2^kg/m2^UCUM|||||R|||20250314103300+0000|||ACALC^auto-calculation^MDC",
    ),
    "unassociated": _msg(  # §2.3 (e)
        "20250314103412",
        "VSD20250314103412005",
        "V250314103412005",
        "20250314103400",
        "OBX|2||528388^MDC_DEV_SPEC_PROFILE_PULS_OXIM^MDC|1.0.0.0|||||||X|||||||0123456789ABCDF0^^0123456789ABCDF0^EUI-64",
        "OBX|3|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.0.0.1|96|262688^MDC_DIM_PERCENT^MDC|||||R|||20250314103400+0000",
        pid="PID|||UNASSOCIATED^^^VITALSD^U||^^^^^^U||||||||||||||||||||||||||Y",
    ),
}


def segments(message: str) -> list[list[str]]:
    """Segments split into fields; MSH shifted so that ``seg[n]`` is always field n."""
    out = []
    for line in message.split("\r"):
        fields = line.split("|")
        if fields[0] == "MSH":
            fields.insert(1, "|")
        out.append(fields)
    return out


def field(message: str, segment: str, n: int, occurrence: int = 0) -> str:
    """Field ``n`` of the ``occurrence``-th segment named ``segment`` ('' when absent)."""
    found = [s for s in segments(message) if s[0] == segment][occurrence]
    return found[n] if n < len(found) else ""


# --- golden comparisons ----------------------------------------------------------------

# §2.3 shows the device clock as read at the moment of receipt; vitalsd only knows the
# device clock through the stamps on its readings, so the TIME_ABS row pairs the reading's
# stamp with the time vitalsd received it (see docs/interface-spec.md, "Time").
_TIME_ABS = ("OBX", 2, 5)
DEVIATIONS: dict[str, set[tuple[str, int, int]]] = {
    # §2.3 (a) puts 10:30:00 in OBR-7 though every reading is from 10:29:55; vitalsd
    # states the earliest reading's time there.
    "bp": {_TIME_ABS, ("OBR", 0, 7)},
    "spo2": set(),
    "temp": {_TIME_ABS},
    "weight": {_TIME_ABS},
    "unassociated": set(),
}


def _by_name(message: str) -> list[tuple[str, int, list[str]]]:
    seen: dict[str, int] = {}
    out = []
    for seg in segments(message):
        n = seen.get(seg[0], 0)
        seen[seg[0]] = n + 1
        out.append((seg[0], n, seg))
    return out


def _unassociated_report() -> tuple[tuple[Observation, ...], str, str, datetime]:
    obs = observations_for(  # §2.3 (e)
        DeviceKind.PULSE_OXIMETER,
        "exam03-spo2",
        DeviceIdentity(eui64="0123456789ABCDF0"),
        [(Metric.SPO2, "96", Unit.PERCENT)],
        received=datetime(2025, 3, 14, 10, 34, 0, tzinfo=UTC),
    )
    return (
        obs,
        "VSD20250314103412005",
        "V250314103412005",
        datetime(2025, 3, 14, 10, 34, 12, tzinfo=UTC),
    )


def _encode_golden_case(name: str) -> str:
    if name == "unassociated":
        obs, ctl, filler, now = _unassociated_report()
        settings = dataclasses.replace(SAMPLE_SETTINGS, loinc_alternates=False)
        return encode_oru(obs, settings=settings, control_id=ctl, filler_id=filler, now=now)
    return sample_message(name)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_reference_messages_field_by_field(name: str) -> None:
    ours, ref = _by_name(_encode_golden_case(name)), _by_name(GOLDEN[name])
    assert [(s, n) for s, n, _ in ours] == [(s, n) for s, n, _ in ref]
    differences = set()
    for (seg, n, mine), (_, _, theirs) in zip(ours, ref, strict=True):
        for i in range(max(len(mine), len(theirs))):
            a = mine[i] if i < len(mine) else ""
            b = theirs[i] if i < len(theirs) else ""
            if a != b:
                differences.add((seg, n, i))
    assert differences == DEVIATIONS[name]


def test_unassociated_reference_message_byte_for_byte() -> None:
    assert _encode_golden_case("unassociated") == GOLDEN["unassociated"]


def test_oximeter_reference_message_byte_for_byte() -> None:
    assert sample_message("spo2") == GOLDEN["spo2"]


@pytest.mark.parametrize(
    ("birth_date", "sex", "pid"),
    [
        (date(1970, 1, 1), Sex.FEMALE, "PID|||MRN9^^^HOSP^MR||^^^^^^U||19700101|F"),
        (None, Sex.UNKNOWN, "PID|||MRN9^^^HOSP^MR||^^^^^^U|||U"),
        (date(2024, 12, 31), None, "PID|||MRN9^^^HOSP^MR||^^^^^^U||20241231"),
        (None, None, "PID|||MRN9^^^HOSP^MR||^^^^^^U"),
    ],
)
def test_birth_date_and_sex_go_in_pid_7_and_8_when_known(
    birth_date: date | None, sex: Sex | None, pid: str
) -> None:
    patient = Patient("MRN9", "HOSP", birth_date=birth_date, sex=sex)
    msg = _encode(_obs(BP, patient=patient))
    assert msg.split("\r")[1] == pid


def test_device_clock_row_pairs_the_device_stamp_with_receipt() -> None:
    msg = sample_message("bp")
    row = [s for s in segments(msg) if s[0] == "OBX"][2]
    assert row[3] == "67975^MDC_ATTR_TIME_ABS^MDC"
    assert row[5] == "20250314052955"  # the cuff's own clock, local time without a zone
    assert row[14] == "20250314102958+0000"  # when vitalsd read it


# --- shapes and rules -------------------------------------------------------------------

T0 = datetime(2025, 6, 1, 14, 0, 0, tzinfo=UTC)
LOC = Location(facility="HOSP", point_of_care="CLINIC_A", room="EXAM03")


def _obs(
    readings: list[tuple[Metric, str, Unit]],
    *,
    kind: DeviceKind = DeviceKind.BLOOD_PRESSURE,
    device_id: str = "exam03-cuff",
    identity: DeviceIdentity | None = None,
    patient: Patient | None = None,
    location: Location = LOC,
    device_time: datetime | None = None,
    received: datetime = T0,
) -> tuple[Observation, ...]:
    return observations_for(
        kind,
        device_id,
        identity or DeviceIdentity(eui64="0123456789ABCDEF"),
        readings,
        received=received,
        device_time=device_time,
        patient=patient,
        location=location,
    )


def _encode(
    obs: tuple[Observation, ...], settings: Hl7Settings = SAMPLE_SETTINGS, **kw: object
) -> str:
    args: dict[str, object] = {"control_id": "C1", "filler_id": "F1", "now": T0} | kw
    return encode_oru(obs, settings=settings, **args)  # type: ignore[arg-type]


BP = [
    (Metric.BP_SYSTOLIC, "120", Unit.MMHG),
    (Metric.BP_DIASTOLIC, "80", Unit.MMHG),
    (Metric.BP_MEAN, "93", Unit.MMHG),
    (Metric.PULSE_RATE_NIBP, "66", Unit.PER_MIN),
]


def test_bp_group_is_one_message_with_unique_ordered_sub_ids() -> None:
    msg = _encode(_obs(BP))
    obx = [s for s in segments(msg) if s[0] == "OBX"]
    assert [s[1] for s in obx] == [str(n) for n in range(1, len(obx) + 1)]
    assert [s[4] for s in obx] == ["0.0.0.1", "1.0.0.0", "1.0.0.1", "1.0.0.2", "1.0.0.3", "1.0.0.4"]
    assert [s[3].split("^")[0] for s in obx[2:]] == ["150021", "150022", "150023", "149546"]
    assert all(s[11] == "R" for s in obx if s[2] == "NM")
    assert obx[1][11] == "X" and obx[1][2] == "" and obx[1][5] == ""
    assert field(msg, "MSH", 21) == "IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO"
    assert field(msg, "OBR", 3) == "F1^VITALSD^0123456789ABCDEF^EUI-64"


def test_readings_come_in_reading_order_whatever_order_they_arrive_in() -> None:
    obs = _obs(BP)
    assert _encode(tuple(reversed(obs))) == _encode(obs)


def test_temperature_keeps_the_device_precision() -> None:
    msg = _encode(_obs([(Metric.TEMP_TYMPANIC, "36.80", Unit.CEL)], kind=DeviceKind.THERMOMETER))
    row = [s for s in segments(msg) if s[0] == "OBX"][-1]
    assert row[3] == "150392^MDC_TEMP_TYMP^MDC^8333-7^Tympanic membrane temperature^LN"
    assert row[5] == "36.80"  # §4.8: trailing zeros the device reports stay
    assert row[6] == "268192^MDC_DIM_DEGC^MDC^Cel^Cel^UCUM"


def test_fahrenheit_thermometer_goes_out_in_celsius_with_a_note() -> None:
    msg = _encode(_obs([(Metric.TEMP_ORAL, "98.6", Unit.DEGF)], kind=DeviceKind.THERMOMETER))
    # 0.1 degF is 0.056 Cel: normalization keeps two decimals (vitalsd/normalize/units.py)
    assert field(msg, "OBX", 5, 2) == "37.00"
    assert "the device reported 98.6 [degF]; converted to Cel by vitalsd" in field(msg, "NTE", 3)


def test_weight_from_a_pound_scale_is_sent_in_kg_and_says_so() -> None:
    obs = _obs([(Metric.BODY_WEIGHT, "159.6", Unit.LB)], kind=DeviceKind.SCALE)
    assert obs[0].unit is Unit.KG and obs[0].source_unit is Unit.LB
    msg = _encode(obs)
    seg = segments(msg)
    assert [s[0] for s in seg[-2:]] == ["OBX", "NTE"]  # the note follows its OBX
    assert seg[-2][5] == format(obs[0].value, "f")
    assert seg[-2][6] == "263875^MDC_DIM_KILO_G^MDC^kg^kg^UCUM"
    assert seg[-1][1:] == ["1", "", "the device reported 159.6 [lb_av]; converted to kg by vitalsd"]


def test_known_patient() -> None:
    patient = Patient(
        "MRN777",
        assigning_authority="HOSP",
        family_name="O'Brien",
        given_name="Seán",
        visit_number="V42",
    )
    msg = _encode(_obs(BP, patient=patient))
    assert field(msg, "PID", 3) == "MRN777^^^HOSP^MR"
    assert field(msg, "PID", 5) == "O'Brien^Seán^^^^^L"
    assert field(msg, "PID", 31) == ""
    assert field(msg, "PV1", 19) == "V42^^^HOSP^VN"


def test_known_patient_without_a_name_gets_name_type_u() -> None:
    settings = dataclasses.replace(SAMPLE_SETTINGS, patient_id_authority="CLINIC")
    msg = _encode(_obs(BP, patient=Patient("MRN9")), settings)
    assert field(msg, "PID", 3) == "MRN9^^^CLINIC^MR"
    assert field(msg, "PID", 5) == "^^^^^^U"


def test_patient_id_without_an_authority_is_refused() -> None:
    with pytest.raises(Hl7EncodeError, match="assigning authority"):
        _encode(_obs(BP, patient=Patient("MRN9")))


def test_unassociated_reading_uses_the_placeholder_and_location() -> None:
    msg = _encode(_obs(BP))
    assert field(msg, "PID", 3) == "UNASSOCIATED^^^VITALSD^U"
    assert field(msg, "PID", 5) == "^^^^^^U"
    assert field(msg, "PID", 31) == "Y"
    assert field(msg, "PV1", 3) == "CLINIC_A^EXAM03^^HOSP"
    site = dataclasses.replace(SAMPLE_SETTINGS, unassociated_patient_id="NOPATIENT")
    assert field(_encode(_obs(BP), site), "PID", 3) == "NOPATIENT^^^VITALSD^U"


def test_delimiters_in_names_are_escaped() -> None:
    settings = dataclasses.replace(SAMPLE_SETTINGS, sending_facility="A&B^East")
    location = Location(facility="A&B|C", point_of_care="Peds~1", room="Rm\\2", bed="B^1")
    patient = Patient("M^1", assigning_authority="H&H", family_name="Doe|Roe", given_name="Ann")
    msg = _encode(_obs(BP, location=location, patient=patient), settings)
    assert field(msg, "MSH", 4) == "A\\T\\B\\S\\East"
    assert field(msg, "PV1", 3) == "Peds\\R\\1^Rm\\E\\2^B\\S\\1^A\\T\\B\\F\\C"
    assert field(msg, "PID", 3) == "M\\S\\1^^^H\\T\\H^MR"
    assert field(msg, "PID", 5) == "Doe\\F\\Roe^Ann^^^^^L"
    assert len(segments(msg)) == len(msg.split("\r"))


def test_implausible_values_are_sent_unchanged_and_flagged() -> None:
    obs = _obs([(Metric.BP_SYSTOLIC, "400", Unit.MMHG)])
    assert Flag.IMPLAUSIBLE in obs[0].flags
    msg = _encode(obs)
    row = [s for s in segments(msg) if s[0] == "OBX"][-1]
    # OBX-8 QUES (TF-2 §B.8 table B.8.5-6, questionable → OBX-11 R): "A" is for
    # non-numeric results only. The value is the one read, never clipped or dropped.
    assert row[5] == "400" and row[8] == "QUES" and row[11] == "R"
    assert "plausibility limits" in field(msg, "NTE", 3)


def test_device_alarms_map_to_high_and_low() -> None:
    obs = _obs(
        [(Metric.SPO2, "85", Unit.PERCENT), (Metric.PULSE_RATE_OXIMETER, "140", Unit.PER_MIN)],
        kind=DeviceKind.PULSE_OXIMETER,
    )
    obs = (
        dataclasses.replace(obs[0], flags=frozenset({Flag.ALARM_LOW})),
        dataclasses.replace(obs[1], flags=frozenset({Flag.ALARM_HIGH, Flag.ARTIFACT})),
    )
    rows = [s for s in segments(_encode(obs)) if s[0] == "OBX"]
    assert rows[2][8] == "L"
    assert rows[3][8] == "H~QUES"


def test_times_are_utc_with_offset_by_default() -> None:
    local = timezone(timedelta(hours=-5))
    msg = _encode(
        _obs(BP, device_time=datetime(2025, 6, 1, 8, 59, 50)),
        now=datetime(2025, 6, 1, 9, 0, 5, tzinfo=local),
    )
    assert field(msg, "MSH", 7) == "20250601140005+0000"


def test_times_can_keep_their_own_offset() -> None:
    settings = dataclasses.replace(SAMPLE_SETTINGS, times_in_utc=False)
    local = timezone(timedelta(hours=-5))
    msg = _encode(_obs(BP), settings, now=datetime(2025, 6, 1, 9, 0, 5, tzinfo=local))
    assert field(msg, "MSH", 7) == "20250601090005-0500"


@pytest.mark.parametrize(
    ("when", "utc", "expected"),
    [
        (datetime(2025, 3, 14, 10, 30, 12, 999999, tzinfo=UTC), True, "20250314103012+0000"),
        (
            datetime(2025, 3, 14, 16, 0, 12, tzinfo=timezone(timedelta(hours=5, minutes=30))),
            True,
            "20250314103012+0000",
        ),
        (
            datetime(2025, 3, 14, 16, 0, 12, tzinfo=timezone(timedelta(hours=5, minutes=30))),
            False,
            "20250314160012+0530",
        ),
        (
            datetime(2025, 3, 14, 7, 0, 12, tzinfo=timezone(timedelta(hours=-3, minutes=-30))),
            False,
            "20250314070012-0330",
        ),
        # US DST starts 2025-03-09: New York is -0400 on the 14th
        (
            datetime(2025, 3, 14, 6, 30, 12, tzinfo=ZoneInfo("America/New_York")),
            False,
            "20250314063012-0400",
        ),
        (
            datetime(2025, 3, 14, 6, 30, 12, tzinfo=ZoneInfo("America/New_York")),
            True,
            "20250314103012+0000",
        ),
    ],
)
def test_dtm_format(when: datetime, utc: bool, expected: str) -> None:
    assert format_dtm(when, utc=utc) == expected


def test_naive_times_are_refused() -> None:
    with pytest.raises(Hl7EncodeError, match="no time zone"):
        _encode(_obs(BP), now=datetime(2025, 6, 1, 9, 0, 5))


def test_control_and_filler_id_lengths() -> None:
    obs = _obs(BP)
    msg = _encode(obs, control_id="C" * 20, filler_id="F" * 16)
    assert field(msg, "MSH", 10) == "C" * 20
    assert field(msg, "OBR", 3).split("^")[0] == "F" * 16
    with pytest.raises(Hl7EncodeError, match="control_id"):
        _encode(obs, control_id="C" * 21)
    with pytest.raises(Hl7EncodeError, match="filler_id"):
        _encode(obs, filler_id="F" * 17)
    for bad in ("", "A|B", "A^B", "Ä1"):
        with pytest.raises(Hl7EncodeError):
            _encode(obs, control_id=bad)


def test_one_report_is_one_device_and_never_empty() -> None:
    with pytest.raises(Hl7EncodeError, match="at least one"):
        _encode(())
    other = _obs(
        [(Metric.SPO2, "97", Unit.PERCENT)], device_id="exam04-spo2", kind=DeviceKind.PULSE_OXIMETER
    )
    with pytest.raises(Hl7EncodeError, match="one device"):
        _encode(_obs(BP) + other)
    moved = tuple(dataclasses.replace(o, context=Context(LOC, Patient("X1"))) for o in _obs(BP)[:1])
    with pytest.raises(Hl7EncodeError, match="different patient"):
        _encode(_obs(BP)[1:] + moved)


def test_stored_readings_keep_their_device_time_and_carry_no_clock_row() -> None:
    old = datetime(2025, 5, 30, 7, 15, 0)
    obs = tuple(
        dataclasses.replace(o, stored=True, flags=o.flags | {Flag.STORED})
        for o in _obs(BP, device_time=old)
    )
    msg = _encode(obs)
    rows = [s for s in segments(msg) if s[0] == "OBX"]
    assert "67975^MDC_ATTR_TIME_ABS^MDC" not in [r[3] for r in rows]
    assert {r[14] for r in rows if r[2] == "NM"} == {"20250530071500+0000"}
    assert field(msg, "OBR", 7) == "20250530071500+0000"


def test_a_live_reading_from_a_wrong_clock_is_timed_on_receipt() -> None:
    wrong = datetime(2025, 6, 1, 16, 0, 0)
    obs = _obs(BP[:1], device_time=wrong)
    assert Flag.CLOCK_SKEW in obs[0].flags
    msg = _encode(obs)
    rows = [s for s in segments(msg) if s[0] == "OBX"]
    assert rows[2][3] == "67975^MDC_ATTR_TIME_ABS^MDC" and rows[2][5] == "20250601160000"
    assert rows[3][14] == "20250601140000+0000"
    assert "the time is when vitalsd received the reading" in field(msg, "NTE", 3)


def test_equipment_id_rules() -> None:
    assert (
        equipment_id(DeviceIdentity(eui64="01:23:45:67:89:ab:cd:ef"), "x", "VITALSD")
        == "0123456789ABCDEF^^0123456789ABCDEF^EUI-64"
    )
    # IEEE EUI-48 → EUI-64: FFFE after the OUI
    assert (
        equipment_id(DeviceIdentity(address="00:09:1F:80:12:34"), "x", "VITALSD")
        == "00091FFFFE801234^^00091FFFFE801234^EUI-64"
    )
    assert (
        equipment_id(DeviceIdentity(address="10.0.0.5:4001"), "exam3-cuff", "VITALSD")
        == "exam3-cuff^VITALSD"
    )
    long_id = equipment_id(DeviceIdentity(), "a-very-long-device-name-for-room-12", "VITALSD")
    assert long_id == equipment_id(
        DeviceIdentity(), "a-very-long-device-name-for-room-12", "VITALSD"
    )
    ei1 = long_id.split("^")[0]
    assert len(ei1) == 16 and ei1.startswith("D")


def test_loinc_alternates_off_and_ucum_first() -> None:
    plain = dataclasses.replace(SAMPLE_SETTINGS, loinc_alternates=False)
    row = [s for s in segments(_encode(_obs(BP), plain)) if s[0] == "OBX"][2]
    assert row[3] == "150021^MDC_PRESS_BLD_NONINV_SYS^MDC" and row[6] == "266016^MDC_DIM_MMHG^MDC"
    ucum = dataclasses.replace(SAMPLE_SETTINGS, ucum_first=True)
    row = [s for s in segments(_encode(_obs(BP), ucum)) if s[0] == "OBX"][2]
    assert row[6] == "mm[Hg]^mm[Hg]^UCUM^266016^MDC_DIM_MMHG^MDC"
    both = dataclasses.replace(plain, ucum_first=True)
    row = [s for s in segments(_encode(_obs(BP), both)) if s[0] == "OBX"][2]
    assert row[6] == "mm[Hg]^mm[Hg]^UCUM"


def test_ack_types_are_a_setting() -> None:
    gazelle = dataclasses.replace(SAMPLE_SETTINGS, accept_ack_type="NE", application_ack_type="AL")
    msg = _encode(_obs(BP), gazelle)
    assert (field(msg, "MSH", 15), field(msg, "MSH", 16)) == ("NE", "AL")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"accept_ack_type": "XX"}, "accept_ack_type"),
        ({"processing_id": "Q"}, "processing_id"),
        ({"sending_application": ""}, "sending_application"),
        ({"sending_application": "A" * 21}, "longer than 20"),
        ({"sending_facility": "F" * 21}, "longer than 20"),
        ({"character_set": "UTF-8"}, "character_set"),  # §4.6: the HL7 value is UNICODE UTF-8
        ({"time_sync_protocol": "GPS"}, "time_sync_protocol"),
        ({"sending_facility": "a\rb"}, "control"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(
    change: dict[str, str], message: str
) -> None:
    with pytest.raises(Hl7EncodeError, match=message):
        Hl7Settings(**change)  # type: ignore[arg-type]


def test_location_components_longer_than_receivers_keep_are_refused() -> None:
    with pytest.raises(Hl7EncodeError, match="longer than 20"):
        _encode(_obs(BP, location=Location(room="R" * 21)))


def test_non_numbers_are_refused() -> None:
    obs = dataclasses.replace(_obs(BP)[0], value=Decimal("NaN"))
    with pytest.raises(Hl7EncodeError, match="not a number"):
        _encode((obs,))


def test_no_control_characters_and_resend_is_identical() -> None:
    patient = Patient("M1", "HOSP", family_name="Line\r\nBreak")
    report = sample_report("bp")
    obs = tuple(dataclasses.replace(o, context=Context(LOC, patient)) for o in report.observations)
    a, b = _encode(obs), _encode(obs)
    assert a == b
    assert all(ord(c) >= 0x20 or c == "\r" for c in a)
    assert field(a, "PID", 5) == "Line  Break^^^^^^L"


def test_equal_instants_in_different_zones_keep_their_own_offset() -> None:
    a = datetime(2025, 3, 14, 10, 0, tzinfo=UTC)
    b = datetime(2025, 3, 14, 5, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert a == b
    assert format_dtm(a, utc=True) == format_dtm(b, utc=True) == "20250314100000+0000"
    assert format_dtm(a, utc=False) == "20250314100000+0000"
    assert format_dtm(b, utc=False) == "20250314050000-0500"
