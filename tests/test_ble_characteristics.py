"""Golden vectors of ble-health.md §3 for the SIG health characteristics.

Each vector cites the source the reference gives: Real = captured from a device,
Lib = a public library's unit test, Derived = built from the field layout.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

import pytest

from drivers.ble import blood_pressure as bp
from drivers.ble import glucose, plx, racp, thermometer, weight
from drivers.ble.characteristics import UnknownCharacteristic, decode
from drivers.ble.datetime_fields import (
    CurrentTime,
    DateTimeField,
    decode_current_time,
    decode_date_time,
    encode_current_time,
    encode_date_time,
)
from drivers.ble.ieee11073 import SpecialValue
from drivers.ble.payload import PayloadError
from drivers.ble.profiles import BleBloodPressureDriver, BleThermometerDriver
from drivers.ble.quirks import decode_blood_pressure_tolerant, parse_blood_pressure_tolerant
from vitalsd.errors import FramingError
from vitalsd.model import (
    Condition,
    DeviceEvent,
    DriverReport,
    EventSeverity,
    Flag,
    Measurement,
    Metric,
    Unit,
)

H = bytes.fromhex
D = Decimal


def _ungrouped(reports: list[DriverReport]) -> list[DriverReport]:
    """Reports with random group ids cleared, after checking they share one."""
    groups = {r.group for r in reports if isinstance(r, Measurement)}
    assert len(groups) <= 1
    return [replace(r, group=None) if isinstance(r, Measurement) else r for r in reports]


# --- 3.1 Blood Pressure Measurement --------------------------------------------------


def test_bp_full_nordic() -> None:
    # Lib: Nordic bps/BloodPressureMeasurementDataCallbackTest.java (_full)
    data = H("1E 8A 00 58 00 78 00 00 00 04 11 14 29 3B 3C 00 01 27 00")
    record = bp.parse_blood_pressure(data)
    assert record == bp.BloodPressureRecord(
        Unit.MMHG,
        D(138),
        D(88),
        D(120),
        DateTimeField(0, 4, 17, 20, 41, 59),
        D(60),
        1,
        bp.BpStatus(0x27),
    )
    assert record.status is not None
    assert record.status.describe() == [
        "body movement detected",
        "cuff fit too loose",
        "irregular pulse detected",
        "improper measurement position",
    ]
    flags = frozenset({Flag.MOTION, Flag.ARTIFACT})
    assert bp.blood_pressure_reports(record, group="g") == [
        Measurement(Metric.BP_SYSTOLIC, D(138), Unit.MMHG, None, flags, "g"),
        Measurement(Metric.BP_DIASTOLIC, D(88), Unit.MMHG, None, flags, "g"),
        Measurement(Metric.BP_MEAN, D(120), Unit.MMHG, None, flags, "g"),
        Measurement(Metric.PULSE_RATE_NIBP, D(60), Unit.PER_MIN, None, flags, "g"),
        DeviceEvent(
            "bp_status",
            "body movement detected; cuff fit too loose; irregular pulse detected; "
            "improper measurement position",
            EventSeverity.WARNING,
            device_code="0x0027",
        ),
    ]


def test_bp_kpa_some_and_minimal_nordic() -> None:
    # Lib: Nordic BloodPressureMeasurementDataCallbackTest.java (_some, _minimal)
    some = bp.parse_blood_pressure(H("15 BD F0 0B 00 9F F0 3C 00 12 00"))
    assert some == bp.BloodPressureRecord(
        Unit.KPA, D("18.9"), D(11), D("15.9"), None, D(60), None, bp.BpStatus(0x12)
    )
    assert some.status is not None
    assert some.status.pulse_rate_range is bp.PulseRateRange.BELOW_LOWER
    reports = bp.blood_pressure_reports(some, group="g")
    assert reports[3] == Measurement(
        Metric.PULSE_RATE_NIBP,
        D(60),
        Unit.PER_MIN,
        None,
        frozenset({Flag.ARTIFACT, Flag.ALARM_LOW}),
        "g",
    )
    minimal = bp.parse_blood_pressure(H("00 BD F0 0B 00 9F F0"))
    assert minimal == bp.BloodPressureRecord(Unit.MMHG, D("18.9"), D(11), D("15.9"))


def test_bp_derdilla_and_real_and_cuff_group() -> None:
    # Lib: derdilla/blood-pressure-monitor-fl ble_measurement_data_test.dart
    r4 = bp.parse_blood_pressure(H("16 7C 00 56 00 61 00 E8 07 06 0F 11 11 1B 33 00 00 00"))
    assert (r4.systolic, r4.diastolic, r4.mean_arterial, r4.pulse_rate) == (
        D(124),
        D(86),
        D(97),
        D(51),
    )
    assert r4.status == bp.BpStatus(0)
    # Real: A&D UA-651BLE indication, HEADS-project/ThingML-BLE AND_Medical_UA651BLE.md
    t = datetime(2017, 1, 16, 12, 39, 54)
    reports = bp.blood_pressure_reports(
        bp.parse_blood_pressure(H("16 7D 00 50 00 66 00 E1 07 01 10 0C 27 36 40 00 00 00")), "g"
    )
    assert reports == [
        Measurement(Metric.BP_SYSTOLIC, D(125), Unit.MMHG, t, group="g"),
        Measurement(Metric.BP_DIASTOLIC, D(80), Unit.MMHG, t, group="g"),
        Measurement(Metric.BP_MEAN, D(102), Unit.MMHG, t, group="g"),
        Measurement(Metric.PULSE_RATE_NIBP, D(64), Unit.PER_MIN, t, group="g"),
    ]
    # without a given group, all four still share one
    live = bp.decode_blood_pressure_measurement(
        H("16 7D 00 50 00 66 00 E1 07 01 10 0C 27 36 40 00 00 00")
    )
    assert len({m.group for m in live if isinstance(m, Measurement)}) == 1


A_AND_D_NAN = H("16 FF 07 FF 07 FF 07 E1 07 01 0E 16 2C 04 FF 07 00 00")  # Real, same capture


def test_bp_all_nan_record_is_no_number() -> None:
    record = bp.parse_blood_pressure(A_AND_D_NAN)
    assert record.systolic is SpecialValue.NAN and bp.is_empty(record)
    assert bp.blood_pressure_reports(record) == [
        DeviceEvent(
            "bp_failed",
            "blood-pressure record without values (failed or aborted measurement)",
            EventSeverity.WARNING,
            device_time=datetime(2017, 1, 14, 22, 44, 4),
        )
    ]


def test_tolerant_drops_all_nan_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="drivers.ble.quirks"):
        assert decode_blood_pressure_tolerant(A_AND_D_NAN) == []
    assert "all-NaN" in caplog.text


BEURER = H("56 6A 00 47 00 00 00 EA 07 08 0B 12 1F 00 00 3F 00 00 00")  # Real: derdilla (BM85)


def test_beurer_strict_rejects_tolerant_reads(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(PayloadError, match="reserved flag bit"):
        bp.parse_blood_pressure(BEURER)
    with caplog.at_level(logging.INFO, logger="drivers.ble.quirks"):
        record = parse_blood_pressure_tolerant(BEURER)
    assert "Beurer" in caplog.text
    assert record == bp.BloodPressureRecord(
        Unit.MMHG,
        D(106),
        D(71),
        D(0),
        DateTimeField(2026, 8, 11, 18, 31, 0),
        D(63),
        0,
        bp.BpStatus(0),
    )
    # MAP 0 means "not computed": never charted
    metrics = [m.metric for m in bp.blood_pressure_reports(record) if isinstance(m, Measurement)]
    assert metrics == [Metric.BP_SYSTOLIC, Metric.BP_DIASTOLIC, Metric.PULSE_RATE_NIBP]
    # Real: second BM85 capture, big-endian status 0x0004 = irregular pulse
    other = parse_blood_pressure_tolerant(
        H("56 76 00 50 00 00 00 EA 07 08 0B 14 1B 00 00 3C 00 00 04")
    )
    assert (other.systolic, other.diastolic, other.pulse_rate) == (D(118), D(80), D(60))
    assert other.status is not None and other.status.irregular_pulse


# --- 3.2 Intermediate Cuff Pressure --------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "cuff", "pulse"),
    [
        (
            "1E 04 00 00 00 00 00 00 00 04 11 14 29 3B 3C 00 01 27 00",
            D(4),
            D(60),
        ),  # Lib: Nordic ICP test
        ("00 D7 F0 00 00 00 00", D("21.5"), None),  # Lib: Nordic ICP test
        ("00 96 00 FF 07 FF 07", D(150), None),  # Derived
        ("04 50 00 FF 07 FF 07 48 00", D(80), D(72)),  # Derived
    ],
)
def test_intermediate_cuff_pressure(raw: str, cuff: Decimal, pulse: Decimal | None) -> None:
    record = bp.parse_blood_pressure(H(raw), intermediate=True)
    assert (record.systolic, record.pulse_rate) == (cuff, pulse)
    reports = bp.decode_intermediate_cuff_pressure(H(raw))
    assert reports[0] == DeviceEvent("cuff_pressure", f"cuff pressure {cuff} mm[Hg]")
    assert not any(isinstance(r, Measurement) for r in reports)  # progress is never charted


# --- 3.3 Temperature ------------------------------------------------------------------


def test_temperature_vectors() -> None:
    # Lib: Nordic ht/TemperatureMeasurementDataCallbackTest.java
    record = thermometer.parse_temperature(H("06 B0 0E 00 FE DC 07 0C 05 0B 32 1B 04"))
    assert record == thermometer.TemperatureRecord(
        Unit.CEL,
        D("37.60"),
        DateTimeField(2012, 12, 5, 11, 50, 27),
        thermometer.TemperatureType.FINGER,
    )
    # Derived (Zephyr HTS encoders, old and new)
    assert thermometer.decode_temperature_measurement(H("00 15 00 00 00")) == [
        Measurement(Metric.TEMP_BODY, D(21), Unit.CEL)
    ]
    assert thermometer.decode_temperature_measurement(H("00 29 09 00 FE")) == [
        Measurement(Metric.TEMP_BODY, D("23.45"), Unit.CEL)
    ]
    # Derived; delivered by indication in the reference's §5 experiment
    assert thermometer.decode_temperature_measurement(
        H("06 6E 01 00 FF E9 07 01 0F 0A 1E 00 02")
    ) == [Measurement(Metric.TEMP_BODY, D("36.6"), Unit.CEL, datetime(2025, 1, 15, 10, 30))]
    # Derived: NaN is no reading
    nan = thermometer.decode_temperature_measurement(H("00 FF FF 7F 00"))
    assert nan == [
        DeviceEvent("temperature_error", "thermometer sent no value (NaN)", EventSeverity.WARNING)
    ]
    # °F flag and the fixed site from 0x2A1D
    f = thermometer.parse_temperature(H("01 B0 0E 00 FE"))
    assert thermometer.temperature_reports(f, thermometer.TemperatureType.MOUTH) == [
        Measurement(Metric.TEMP_ORAL, D("37.60"), Unit.DEGF)
    ]


def test_temperature_negative_and_type() -> None:
    # Lib: Nordic (negative test): flag says type present but the byte is missing
    with pytest.raises(PayloadError, match="too short for temperature type"):
        thermometer.parse_temperature(H("06 B0 0E 00 FE DC 07 0C 05 0B 32 1B"))
    # Lib: Nordic TemperatureTypeDataCallbackTest.java: 03 = ear, 03 00 too long
    assert thermometer.decode_temperature_type(H("03")) is thermometer.TemperatureType.EAR
    with pytest.raises(PayloadError, match="2 bytes, but its flags describe 1"):
        thermometer.decode_temperature_type(H("03 00"))
    with pytest.raises(PayloadError, match="reserved temperature type 10"):
        thermometer.decode_temperature_type(H("0A"))


# --- 3.4/3.5 Weight and body composition ----------------------------------------------


def test_weight_vectors() -> None:
    # Lib: openScale HuaweiHagridWspLibTest.kt
    assert weight.parse_weight(H("00 8C 3C")) == weight.WeightRecord(False, D("77.5"))
    # Derived
    record = weight.parse_weight(H("0E 60 36 E8 07 03 0F 08 1E 00 01 F5 00 E8 06"))
    assert record == weight.WeightRecord(
        False, D("69.6"), DateTimeField(2024, 3, 15, 8, 30, 0), 1, D("24.5"), D("1.768")
    )
    t = datetime(2024, 3, 15, 8, 30)
    assert weight.weight_reports(record, "g") == [
        Measurement(Metric.BODY_WEIGHT, D("69.6"), Unit.KG, t, group="g"),
        Measurement(Metric.BODY_HEIGHT, D("1.768"), Unit.M, t, group="g"),
        Measurement(Metric.BMI, D("24.5"), Unit.KG_PER_M2, t, group="g"),
    ]
    # Derived: 0xFFFF = measurement unsuccessful, no number
    assert weight.decode_weight_measurement(H("00 FF FF")) == [
        DeviceEvent(
            "weight_error", "scale reported an unsuccessful measurement", EventSeverity.WARNING
        )
    ]
    # imperial: 0.01 lb steps
    assert _ungrouped(weight.decode_weight_measurement(H("01 10 27"))) == [
        Measurement(Metric.BODY_WEIGHT, D("100.00"), Unit.LB)
    ]


def test_body_composition_vectors() -> None:
    # Derived vectors
    assert weight.parse_body_composition(H("00 00 2C 01")) == weight.BodyCompositionRecord(
        False, D("30.0")
    )
    full = weight.parse_body_composition(H("06 06 2C 01 E8 07 03 0F 08 1E 00 01 F8 11 60 36"))
    assert full == weight.BodyCompositionRecord(
        False,
        D("30.0"),
        DateTimeField(2024, 3, 15, 8, 30, 0),
        1,
        impedance_ohm=D("460.0"),
        weight=D("69.6"),
    )
    short = weight.parse_body_composition(H("02 04 2C 01 E8 07 03 0F 08 1E 00 60 36"))
    assert weight.body_composition_reports(short, "g") == [
        Measurement(Metric.BODY_WEIGHT, D("69.6"), Unit.KG, datetime(2024, 3, 15, 8, 30), group="g")
    ]
    with pytest.raises(PayloadError, match="reserved flag bit"):
        weight.parse_body_composition(H("00 80 2C 01"))


# --- 3.6 PLX ------------------------------------------------------------------------------


def test_plx_spot_check_spezi() -> None:
    # Lib: StanfordSpezi/SpeziBluetooth PLXTests.swift
    record = plx.parse_spot_check(H("0F AC F3 BE F5 E8 07 0B 1D 17 08 39 20 40 22 00 00 66 E3"))
    assert record == plx.PlxRecord(
        D("94.0"),
        D("147.0"),
        False,
        DateTimeField(2024, 11, 29, 23, 8, 57),
        False,
        measurement_status=0x4020,
        device_status=0x000022,
        pulse_amplitude_index=D("8.70"),
    )
    # equipment malfunction: conditions reported, values withheld from the chart
    t = datetime(2024, 11, 29, 23, 8, 57)
    assert plx.plx_reports(record) == [
        DeviceEvent(
            "conditions",
            "equipment malfunction detected; low perfusion detected",
            EventSeverity.WARNING,
            frozenset({Condition.DEVICE_ERROR, Condition.LOW_PERFUSION}),
            "0x000022",
            t,
        ),
        DeviceEvent(
            "plx_not_charted",
            "values not charted: equipment malfunction detected",
            EventSeverity.WARNING,
            device_code="0x4020",
            device_time=t,
        ),
    ]


def test_plx_plain_and_continuous() -> None:
    # Derived
    assert plx.plx_reports(plx.parse_spot_check(H("00 62 00 48 00")), "g") == [
        Measurement(Metric.SPO2, D(98), Unit.PERCENT, group="g"),
        Measurement(Metric.PULSE_RATE_OXIMETER, D(72), Unit.PER_MIN, group="g"),
    ]
    # Lib: Spezi PLXTests (two exponents for the same values)
    for raw in ("00 E8 F3 84 F3", "00 64 00 5A 00"):
        r = plx.parse_continuous(H(raw))
        assert (r.spo2, r.pulse_rate) == (D(100), D(90))
    five = plx.parse_continuous(H("1C 5F 00 5A 00 20 00 00 00 00 57 F0"))
    assert five == plx.PlxRecord(
        D(95),
        D(90),
        True,
        measurement_status=0x0020,
        device_status=0,
        pulse_amplitude_index=D("8.7"),
    )
    assert plx.plx_reports(five, "g") == [
        DeviceEvent("conditions", "all clear", device_code="0x000000"),
        Measurement(Metric.SPO2, D(95), Unit.PERCENT, group="g"),
        Measurement(Metric.PULSE_RATE_OXIMETER, D(90), Unit.PER_MIN, group="g"),
        Measurement(Metric.PERFUSION_INDEX, D("8.7"), Unit.PERCENT, group="g"),
    ]
    # demo data never reaches a chart (status bit 10), questionable is flagged
    demo = plx.plx_reports(plx.parse_spot_check(H("02 62 00 48 00 00 04")))
    assert [r.code for r in demo if isinstance(r, DeviceEvent)] == ["plx_not_charted"]
    assert len(demo) == 1
    questionable = plx.plx_reports(plx.parse_spot_check(H("02 62 00 48 00 00 40")))
    assert all(Flag.ARTIFACT in m.flags for m in questionable if isinstance(m, Measurement))


def test_plx_features() -> None:
    # Lib: Spezi PLXTests
    assert plx.parse_features(H("A3 00 40 10 80 01 00")) == plx.PlxFeatures(
        0x00A3, 0x1040, 0x000180
    )
    assert plx.parse_features(H("A3 00 40 10 80 01 00")).describe() == (
        "supports: measurement status, device and sensor status, SpO2PR-Slow, multiple bonds; "
        "can report: early estimated data, calibration ongoing; "
        "can report: non-pulsatile signal detected, questionable pulse detected"
    )
    assert plx.parse_features(H("00 00")) == plx.PlxFeatures(0)  # Derived


# --- 3.7 Glucose ---------------------------------------------------------------------------


def test_glucose_vectors() -> None:
    # Lib: Nordic glucose/GlucoseMeasurementDataCallbackTest.java
    record = glucose.parse_glucose(H("1B 01 00 E3 07 02 1B 0B 0A 1E FB FF 1E 00 12 05 01"))
    assert record == glucose.GlucoseRecord(
        1, DateTimeField(2019, 2, 27, 11, 10, 30), -5, D(30), False, 2, 1, 0x0105, True
    )
    (event,) = glucose.glucose_reports(record)
    assert isinstance(event, DeviceEvent) and event.code == "glucose_not_charted"
    assert "sample size insufficient" in event.message and "temperature too low" in event.message
    # Lib: same file (negative): flags announce a time offset that is missing
    with pytest.raises(PayloadError, match="too short"):
        glucose.parse_glucose(H("1B 00 00 E2 07 04 1A 0B 09 1E 1E 00 12 05 01"))
    # Derived: 120 mg/dL
    assert glucose.decode_glucose_measurement(H("02 02 00 E8 07 03 0F 08 1E 00 78 B0 11")) == [
        Measurement(
            Metric.GLUCOSE, D(120), Unit.MG_PER_DL, datetime(2024, 3, 15, 8, 30), sequence=2
        )
    ]
    # mol/L with exponent -4: 0.0067 mol/L = 6.7 mmol/L (reference §2.5)
    mmol = glucose.decode_glucose_measurement(H("06 03 00 E8 07 03 0F 08 1E 00 43 C0 11"))
    assert mmol[0] == Measurement(
        Metric.GLUCOSE, D("6.7"), Unit.MMOL_PER_L, datetime(2024, 3, 15, 8, 30), sequence=3
    )


# --- 3.8 RACP ----------------------------------------------------------------------------------


def test_racp_requests() -> None:
    assert racp.report_all().encode() == H("01 01")  # Nordic reportAllStoredRecords()
    assert racp.report_last().encode() == H("01 06")  # hass-omron
    assert racp.report_number_all().encode() == H("04 01")  # Nordic
    assert racp.report_since(10).encode() == H("01 03 01 0A 00")  # Derived
    assert racp.report_range(5, 10).encode() == H("01 04 01 05 00 0A 00")  # Derived
    assert racp.abort().encode() == H("03 00")  # Derived
    assert racp.parse_request(H("01 03 01 0A 00")) == racp.report_since(10)


def test_racp_responses() -> None:
    assert racp.parse_response(H("05 00 2A 00")) == racp.NumberOfRecords(42)  # Derived
    assert racp.parse_response(H("05 00 02 01")) == racp.NumberOfRecords(258)  # Lib: Nordic
    # Lib: Nordic RecordAccessControlPointDataCallbackTest.java
    assert racp.parse_response(H("06 00 01 01")) == racp.ProcedureResult(
        1, racp.ResponseCode.SUCCESS
    )
    for raw, op, code in [
        ("06 00 01 06", 1, racp.ResponseCode.NO_RECORDS_FOUND),
        ("06 00 0C 02", 0x0C, racp.ResponseCode.OP_CODE_NOT_SUPPORTED),
        ("06 00 01 03", 1, racp.ResponseCode.INVALID_OPERATOR),
        ("06 00 02 04", 2, racp.ResponseCode.OPERATOR_NOT_SUPPORTED),
        ("06 00 01 05", 1, racp.ResponseCode.INVALID_OPERAND),
        ("06 00 03 07", 3, racp.ResponseCode.ABORT_UNSUCCESSFUL),
        ("06 00 02 08", 2, racp.ResponseCode.PROCEDURE_NOT_COMPLETED),
        ("06 00 02 09", 2, racp.ResponseCode.OPERAND_NOT_SUPPORTED),
    ]:
        assert racp.parse_response(H(raw)) == racp.ProcedureResult(op, code)
    # the uint8 count variant (Nordic's CGM form) is not a PLX/GLS/BLS answer
    with pytest.raises(PayloadError, match="too short"):
        racp.parse_response(H("05 00 01"))
    with pytest.raises(PayloadError, match="unknown response code 0x0a"):
        racp.parse_response(H("06 00 01 0A"))


# --- 3.9 Date Time / Current Time --------------------------------------------------------------


def test_time_vectors() -> None:
    # Derived from Spezi CurrentTimeTests.swift
    assert decode_current_time(H("E8 07 06 06 0C 04 2C 04 80 00")) == CurrentTime(
        DateTimeField(2024, 6, 6, 12, 4, 44), 4, 128, 0
    )
    manual = decode_current_time(H("E9 07 01 0F 0A 1E 00 03 00 01"))  # Derived
    assert manual.adjust_reasons == ("manual time update",)
    assert manual.date_time.to_datetime() == datetime(2025, 1, 15, 10, 30)
    # Lib: Nordic DateTimeDataCallbackTest.java
    assert decode_date_time(H("E2 07 04 11 0F 33 00")).to_datetime() == datetime(
        2018, 4, 17, 15, 51
    )
    unknown = decode_date_time(H("00 00 00 00 12 1A 20"))
    assert unknown == DateTimeField(0, 0, 0, 18, 26, 32) and unknown.to_datetime() is None
    with pytest.raises(PayloadError, match="month 13"):
        decode_date_time(H("E2 07 0D 11 0F 33 00"))
    when = datetime(2025, 1, 15, 10, 30, 0, 500000)
    assert encode_date_time(when) == H("E9 07 01 0F 0A 1E 00")
    assert encode_current_time(when) == H("E9 07 01 0F 0A 1E 00 03 80 01")


# --- the table and the drivers -------------------------------------------------------------------


def test_drivers_decode_their_profile_only() -> None:
    reports = BleBloodPressureDriver.decode_characteristic(0x2A35, H("00 7D 00 50 00 66 00"))
    assert [r.metric for r in reports if isinstance(r, Measurement)] == [
        Metric.BP_SYSTOLIC,
        Metric.BP_DIASTOLIC,
        Metric.BP_MEAN,
    ]
    with pytest.raises(UnknownCharacteristic, match="0x2a35"):
        BleThermometerDriver.decode_characteristic(0x2A35, H("00 7D 00 50 00 66 00"))
    with pytest.raises(FramingError, match="not a byte stream"):
        BleThermometerDriver.new_decoder().feed(b"\x00")
    assert _ungrouped(decode(0x2A35, BEURER, tolerant=True))[0] == Measurement(
        Metric.BP_SYSTOLIC, D(106), Unit.MMHG, datetime(2026, 8, 11, 18, 31)
    )


@pytest.mark.parametrize(
    ("uuid", "raw", "reason"),
    [
        (0x2A35, "00 7D 00 50 00", "too short for mean arterial pressure"),
        (0x2A35, "02 7D 00 50 00 66 00 E1 07", "too short for time stamp"),
        (0x2A35, "20 7D 00 50 00 66 00", "reserved flag bit"),
        (0x2A35, "00 7D 00 50 00 66 00 00", "flags describe 7"),
        (0x2A1C, "08 15 00 00 00", "reserved flag bit"),
        (0x2A9D, "10 8C 3C", "reserved flag bit"),
        (0x2A5E, "20 62 00 48 00", "reserved flag bit"),
        (0x2A5F, "04 62 00 48 00 20", "too short for measurement status"),
        (0x2A18, "20 01 00 E3 07 02 1B 0B 0A 1E", "reserved flag bit"),
        (0x2A60, "01 00", "too short for measurement status support"),
    ],
)
def test_negative_vectors_have_a_reason(uuid: int, raw: str, reason: str) -> None:
    with pytest.raises(PayloadError, match=reason):
        decode(uuid, H(raw))
