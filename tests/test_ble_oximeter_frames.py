"""Proprietary BLE oximeter streams: golden vectors, negative vectors, special values,
and fuzzing of re-chunked and damaged streams.

Vectors: shared/reference/ble-health.md §3.10 (sources cited per vector below).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from drivers.ble import berrymed_frames, jumper_frames, nonin3230_frames, wellue_frames
from simulators.ble import oximeter_encoders as enc
from vitalsd.errors import FramingError
from vitalsd.model import Condition, DeviceEvent, DriverReport, Measurement, Metric

Reading = tuple[int | None, int | None, Decimal | None]  # SpO2, pulse, PI


def readings(reports: list[DriverReport]) -> list[Reading]:
    """The readings in order, one per frame (measurements grouped by their group)."""
    groups: dict[str, dict[Metric, Decimal]] = {}
    for r in reports:
        if isinstance(r, Measurement):
            assert r.device_time is None and not r.stored  # live stream values
            assert r.group is not None
            groups.setdefault(r.group, {})[r.metric] = r.value
    out: list[Reading] = []
    for g in groups.values():
        spo2, pulse = g.get(Metric.SPO2), g.get(Metric.PULSE_RATE_OXIMETER)
        out.append(
            (
                None if spo2 is None else int(spo2),
                None if pulse is None else int(pulse),
                g.get(Metric.PERFUSION_INDEX),
            )
        )
    return out


def conditions(reports: list[DriverReport]) -> list[frozenset[Condition]]:
    return [r.conditions for r in reports if isinstance(r, DeviceEvent) and r.code == "conditions"]


def h(text: str) -> bytes:
    return bytes.fromhex(text)


# --- Nonin 3230 ---------------------------------------------------------------------
# Derived (§3.10): field map of Nonin 113142-000-02 Rev B in "ble_nco_spec_decoder.swift"
# and github:andreasdri/nonin-3230-ble:index.js.
NONIN = "0A 14 1E 00 64 00 2A 62 00 48"


def test_nonin_golden_vector() -> None:
    reports = nonin3230_frames.decode_notification(h(NONIN))
    assert readings(reports) == [(98, 72, Decimal("1.00"))]
    assert conditions(reports) == [frozenset()]
    frame = nonin3230_frames.parse_frame(h(NONIN))
    assert (frame.status, frame.battery_decivolts, frame.counter) == (0x14, 30, 42)


@pytest.mark.parametrize(
    ("hex_", "status", "expected"),
    [
        # Sensor off the finger: status without "sensor connected", values missing.
        ("0A 00 1E 00 00 00 2A 7F 01 FF", 0x00, {Condition.SENSOR_OFF}),
        # Searching for a pulse while on the finger: nothing charted either.
        ("0A 18 1E 00 64 00 2A 62 00 48", 0x18, {Condition.PULSE_SEARCH}),
    ],
)
def test_nonin_no_numbers_when_off_or_searching(
    hex_: str, status: int, expected: set[Condition]
) -> None:
    reports = nonin3230_frames.decode_notification(h(hex_))
    assert readings(reports) == []
    assert conditions(reports) == [frozenset(expected)]


@pytest.mark.parametrize(
    "hex_",
    [
        "0A 14 1E 00 64 00 2A 7F 00 48",  # SpO2 127: missing
        "0A 14 1E 00 64 00 2A 62 01 FF",  # pulse 511: missing
    ],
)
def test_nonin_missing_markers_never_numbers(hex_: str) -> None:
    assert readings(nonin3230_frames.decode_notification(h(hex_))) == []


def test_nonin_weak_signal_flags_the_reading() -> None:
    reports = nonin3230_frames.decode_notification(h("0A 16 1E 00 64 00 2A 62 00 48"))
    assert readings(reports) == [(98, 72, Decimal("1.00"))]
    assert conditions(reports) == [frozenset({Condition.LOW_SIGNAL_QUALITY})]
    assert all(
        "low_signal_quality" in {f.value for f in r.flags}
        for r in reports
        if isinstance(r, Measurement)
    )


@pytest.mark.parametrize(
    ("hex_", "reason"),
    [
        ("0A 14 1E 00 64 00 2A 62 00", "9 bytes, expected 10"),
        ("0B 14 1E 00 64 00 2A 62 00 48", "length byte 11"),
        ("0A 94 1E 00 64 00 2A 62 00 48", "unused status bits"),
        ("0A 14 1E 00 64 00 2A 78 00 48", "SpO2 byte 120"),
        ("0A 14 1E 00 64 00 2A 62 02 00", "pulse 512"),
    ],
)
def test_nonin_negative_vectors(hex_: str, reason: str) -> None:
    with pytest.raises(FramingError, match=reason):
        nonin3230_frames.decode_notification(h(hex_))


def test_nonin_reading_waits_for_the_next_frame_to_prove_alignment() -> None:
    decoder = nonin3230_frames.Nonin3230Decoder()
    second = h(NONIN)[:6] + bytes([0x2B]) + h(NONIN)[7:]  # counter 43
    assert readings(decoder.feed(h(NONIN))) == []
    assert readings(decoder.feed(second)) == [(98, 72, Decimal("1.00"))]
    assert readings(decoder.flush()) == [(98, 72, Decimal("1.00"))]
    assert decoder.errors == 0


def test_nonin_counter_jump_is_rejected() -> None:
    decoder = nonin3230_frames.Nonin3230Decoder()
    jumped = h(NONIN)[:6] + bytes([0x30]) + h(NONIN)[7:]  # counter 48 after 42
    reports = decoder.feed(h(NONIN) + jumped + jumped)
    assert readings(reports) == [(98, 72, Decimal("1.00"))]
    assert decoder.errors == 1


# --- BerryMed -----------------------------------------------------------------------
# Derived (§3.10) from Adafruit adafruit_ble_berrymed_pulse_oximeter and
# github:bgould/berrymed-pulseox-reader:packet.go.


@pytest.mark.parametrize(
    ("hex_", "expected"),
    [
        ("86 3C 04 48 62", (98, 72, None)),  # signal 6, pleth 60, bar 4
        ("C6 50 46 16 61", (97, 150, None)),  # pulse bit 7 carried in byte 2 bit 6
    ],
)
def test_berrymed_golden_vectors(hex_: str, expected: Reading) -> None:
    reports = berrymed_frames.decode_notification(h(hex_))
    assert readings(reports) == [expected]
    assert conditions(reports) == [frozenset()]


def test_berrymed_no_finger_vector() -> None:
    # Derived (§3.10, Adafruit: SpO2 127 invalid): no finger, SpO2 127.
    reports = berrymed_frames.decode_notification(h("80 00 10 7F 7F"))
    assert readings(reports) == []
    assert conditions(reports) == [frozenset({Condition.SENSOR_OFF})]


@pytest.mark.parametrize(
    ("hex_", "expected"),
    [
        ("86 3C 44 7F 62", set()),  # pulse 255 (0x7F + bit 7): invalid
        ("86 3C 04 48 7F", set()),  # SpO2 127: invalid
        ("86 3C 24 48 62", {Condition.PULSE_SEARCH}),  # searching
        ("A6 3C 04 48 62", {Condition.NO_SENSOR}),  # probe unplugged
    ],
)
def test_berrymed_invalid_markers_never_numbers(hex_: str, expected: set[Condition]) -> None:
    reports = berrymed_frames.decode_notification(h(hex_))
    assert readings(reports) == []
    assert conditions(reports) == [frozenset(expected)]


@pytest.mark.parametrize(
    ("hex_", "reason"),
    [
        ("86 3C 84 48 62", "byte 2 .* bit 7 set"),
        ("06 3C 04 48 62", "lacks the sync bit"),
        ("86 3C 04 48", "not a whole number"),
    ],
)
def test_berrymed_negative_vectors(hex_: str, reason: str) -> None:
    with pytest.raises(FramingError, match=reason):
        berrymed_frames.decode_notification(h(hex_))


def test_berrymed_reports_every_nth_frame() -> None:
    decoder = berrymed_frames.BerryMedDecoder(report_every=3)
    frame = h("86 3C 04 48 62")
    # Frame 1 only proposes the reading; 2 confirms it and reports; then every third.
    assert readings(decoder.feed(frame)) == []
    assert len(readings(decoder.feed(frame * 7))) == 3  # frames 2, 5, 8


# --- Jumper JPD-500F ----------------------------------------------------------------


def test_jumper_real_vector() -> None:
    # Real (§3.10): "81 38 63 44" quoted in a public Flutter driver (jumper_po_jpd_500f.dart);
    # PI raw 68 read as tenths of a percent.
    assert readings(jumper_frames.decode_notification(h("81 38 63 44"))) == [
        (99, 56, Decimal("6.8"))
    ]


@pytest.mark.parametrize(
    ("hex_", "expected"),
    [
        ("81 FF 63 44", []),  # PR 255 invalid (public JavaScript resolver)
        ("81 38 7F 44", []),  # SpO2 127 invalid
        ("81 38 63 00", [(99, 56, None)]),  # PI 0 invalid: no PI, the rest stands
        ("80 10 20 30 40", []),  # waveform frame: ignored
    ],
)
def test_jumper_special_values(hex_: str, expected: list[Reading]) -> None:
    assert readings(jumper_frames.decode_notification(h(hex_))) == expected


@pytest.mark.parametrize(
    ("hex_", "reason"),
    [
        ("81 38 63", "3 bytes, expected 4"),
        ("81 38 63 44 00", "5 bytes, expected 4"),
        ("82 38 63 44", "unknown frame type 0x82"),
        ("81 38 70 44", "SpO2 byte 112"),
        ("", "empty"),
    ],
)
def test_jumper_negative_vectors(hex_: str, reason: str) -> None:
    with pytest.raises(FramingError, match=reason):
        jumper_frames.decode_notification(h(hex_))


def test_jumper_decoder_counts_rejected_notifications() -> None:
    decoder = jumper_frames.JumperDecoder()
    out = decoder.feed(h("81 38 63")) + decoder.feed(h("44")) + decoder.feed(h("81 38 63 44"))
    assert readings(out) == [(99, 56, Decimal("6.8"))]
    assert decoder.errors == 2


# --- Wellue FS20F -------------------------------------------------------------------
# Real: github:roger-/FS20F:sample_raw_data.hex, the first 17 lines verbatim (one line per
# notification: 20-byte notifications that cut frames, e.g. "... FE 08" / "56 16 ...").
FS20F_CAPTURE = """\
FE 08 56 3A 00 09 13 B4
FE 08 56 35 00 08 14 AF
FE 08 56 31 00 07 15 AB
FE 08 56 2E 00 07 16 A9
FE 08 56 2C 00 07 17 A8
FE 08 56 2A 00 06 18 A6
FE 08 56 29 00 06 19 A6
FE 08 56 28 00 06 1A A6
FE 08 56 26 00 06 1B A5
FE 08 56 24 00 05 1C A3
FE 08 56 22 00 05 1D A2
FE 08 56 20 00 05 1E A1
FE 08 56 1E 00 05 1F A0
FE 08 56 1B 00 04 20 9D
FE 08 56 1A 00 04 21 9D
FE 08 56 18 00 04 22 9C FE 0A 55 00 4F 63 14 BF 39 1D FE 08
56 16 00 03 23 9A
"""

# Real: every parameter frame in the first 16,000 characters of the same capture, with
# the values roger-/FS20F parser.py gives (PR and PI big-endian, PI/1000 %).
FS20F_PARAMS = [
    ("FE 0A 55 00 4F 63 14 BF 39 1D", (99, 79, Decimal("5.311"))),
    ("FE 0A 55 00 50 63 15 AC 3A 0D", (99, 80, Decimal("5.548"))),
    ("FE 0A 55 00 50 63 15 AC 3B 0E", (99, 80, Decimal("5.548"))),
    ("FE 0A 55 00 50 63 14 CF 3C 31", (99, 80, Decimal("5.327"))),
    ("FE 0A 55 00 50 63 15 3A 3D 9E", (99, 80, Decimal("5.434"))),
    ("FE 0A 55 00 50 62 14 C8 3E 2B", (98, 80, Decimal("5.320"))),
    ("FE 0A 55 00 50 62 15 CF 3F 34", (98, 80, Decimal("5.583"))),
    ("FE 0A 55 00 50 62 15 0A 40 70", (98, 80, Decimal("5.386"))),
    ("FE 0A 55 00 50 62 15 0A 41 71", (98, 80, Decimal("5.386"))),
    ("FE 0A 55 00 4F 62 15 0A 42 71", (98, 79, Decimal("5.386"))),
    ("FE 0A 55 00 4F 62 15 15 43 7D", (98, 79, Decimal("5.397"))),
    ("FE 0A 55 00 4E 62 14 EB 44 52", (98, 78, Decimal("5.355"))),
    ("FE 0A 55 00 4E 62 14 D0 45 38", (98, 78, Decimal("5.328"))),
]


@pytest.mark.parametrize(("hex_", "expected"), FS20F_PARAMS)
def test_fs20f_real_parameter_frames(hex_: str, expected: Reading) -> None:
    assert readings(wellue_frames.decode_notification(h(hex_))) == [expected]


def test_fs20f_checksum_rule_holds_on_the_real_capture() -> None:
    frames = wellue_frames.split_frames(h(FS20F_CAPTURE.replace("\n", " ")))
    frames += [h(x) for x, _ in FS20F_PARAMS]
    assert len(frames) == 31
    for frame in frames:
        assert wellue_frames.frame_problem(frame) is None, frame.hex(" ")


def test_fs20f_real_notifications_resync_across_boundaries() -> None:
    decoder = wellue_frames.Fs20fDecoder()
    out: list[DriverReport] = []
    for line in FS20F_CAPTURE.splitlines():
        out += decoder.feed(h(line))
    out += decoder.flush()
    assert readings(out) == [FS20F_PARAMS[0][1]]
    assert conditions(out) == [frozenset()]
    assert decoder.errors == 0  # "FE 08" / "56 16 ..." across two notifications is one frame


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("FE 0A 55 01 FF 63 14 BF 39", []),  # PR 511 invalid (roger-/FS20F parser.py)
        ("FE 0A 55 00 4F 7F 14 BF 39", []),  # SpO2 127 invalid
        ("FE 0A 55 00 4F 63 00 00 39", [(99, 79, None)]),  # PI 0 invalid: no PI
    ],
)
def test_fs20f_invalid_markers(body: str, expected: list[Reading]) -> None:
    raw = h(body)
    frame = raw + bytes([sum(raw[1:]) & 0xFF])
    assert readings(wellue_frames.decode_notification(frame)) == expected


def test_fs20f_sensor_off_withholds_parameters() -> None:
    off = enc.fs20f_wave(pleth=0, sensor_off=True, scaled=0, counter=1)
    params = h(FS20F_PARAMS[0][0])
    reports = wellue_frames.decode_notification(off + params)
    assert readings(reports) == []
    assert conditions(reports) == [frozenset({Condition.SENSOR_OFF})]


@pytest.mark.parametrize(
    ("hex_", "reason"),
    [
        ("FE 0A 55 00 4F 63 14 BF 39 1E", "checksum 0x1e, expected 0x1d"),
        ("FE 0A 56 00 4F 63 14 BF 39 1E", "type 0x56 with length 10"),
        ("FE 0A 55 00 4F 63 14 BF 39", "cut short"),
        ("00 FE 0A 55 00 4F 63 14 BF 39 1D", "no frame starts at byte 0"),
    ],
)
def test_fs20f_negative_vectors(hex_: str, reason: str) -> None:
    with pytest.raises(FramingError, match=reason):
        wellue_frames.decode_notification(h(hex_))


def test_fs20f_decoder_rejects_a_bad_checksum_and_resyncs() -> None:
    decoder = wellue_frames.Fs20fDecoder()
    bad = h("FE 0A 55 00 4F 63 14 BF 39 1E")
    good = h(FS20F_PARAMS[1][0])
    out = decoder.feed(bad + good + good) + decoder.flush()
    assert readings(out) == [FS20F_PARAMS[1][1]] * 2
    assert decoder.errors == 1


# --- The simulators' encoders reproduce the published vectors -----------------------


def test_simulator_encoders_match_the_vectors() -> None:
    assert enc.nonin3230_frame(
        status=0x14, battery_dv=30, pai_centi=100, counter=42, spo2=98, pulse=72
    ) == h(NONIN)
    assert enc.berrymed_frame(spo2=98, pulse=72, pleth=0x3C, signal=6, bar=4) == h("86 3C 04 48 62")
    assert enc.berrymed_frame(spo2=97, pulse=150, pleth=0x50, signal=6, bar=6, beep=True) == h(
        "C6 50 46 16 61"
    )
    assert enc.berrymed_frame(spo2=127, pulse=127, pleth=0, signal=0, bar=0, no_finger=True) == h(
        "80 00 10 7F 7F"
    )
    assert enc.jumper_params(pulse=56, spo2=99, pi_tenths=68) == h("81 38 63 44")
    assert enc.fs20f_params(pulse=79, spo2=99, pi_milli=5311, counter=0x39) == h(FS20F_PARAMS[0][0])
    assert enc.fs20f_wave(pleth=0x3A, sensor_off=False, scaled=0x09, counter=0x13) == h(
        "FE 08 56 3A 00 09 13 B4"
    )
