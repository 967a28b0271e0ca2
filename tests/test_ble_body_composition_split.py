"""Body Composition Measurement 0x2A9C split over two indications (flags bit 12,
ble-health.md §2.3: "the record is split over two indications (needed when ATT MTU is
23)"): the decoder joins the two packets into one record, the intake holds the first
until the second comes, and a scale on the virtual radio that splits is read whole."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from bumble.link import LocalLink

from drivers.ble import weight
from drivers.ble.profiles import BleWeightScaleDriver
from drivers.ble.record_cursor import RecordCursor
from drivers.ble.record_intake import RecordIntake
from simulators.ble import health_records as rec
from simulators.ble.health_devices import running
from simulators.ble.health_peripheral import Knobs, StoredRecord
from tests.ble_session_harness import NOW, Collector, session
from vitalsd.errors import FramingError
from vitalsd.links.ble_bumble import BumbleCentral
from vitalsd.links.gatt import JsonCursorStore

H = bytes.fromhex
# §3.5 #2 (Derived): 30.0 %, 2024-03-15 08:30:00, user 1, impedance 460.0 Ω, 69.6 kg.
WHOLE = H("06 06 2C 01 E8 07 03 0F 08 1E 00 01 F8 11 60 36")
# The same record as two packets (Derived from the §2.3 layout): each its own flags with
# bit 12 set and the mandatory body fat %; time stamp and user id in the first,
# impedance and weight in the second.
FIRST = H("06 10 2C 01 E8 07 03 0F 08 1E 00 01")
SECOND = H("00 16 2C 01 F8 11 60 36")


def test_the_simulator_splits_as_the_layout_says() -> None:
    assert (
        rec.body_composition(
            "30.0",
            time=datetime(2024, 3, 15, 8, 30),
            user=1,
            impedance_ohm="460.0",
            kilograms="69.6",
        )
        == WHOLE
    )
    assert rec.split_body_composition(WHOLE) == [FIRST, SECOND]


def test_two_packets_decode_as_the_whole_record() -> None:
    joined = weight.parse_body_composition_record(FIRST + SECOND)
    assert joined == weight.parse_body_composition(WHOLE)
    assert joined.weight == Decimal("69.600") and joined.impedance_ohm == Decimal("460.0")
    assert joined.user_id == 1 and not joined.multiple_packet
    assert weight.parse_body_composition(FIRST).multiple_packet  # a part, on its own


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (FIRST, "first of two packets only"),
        (FIRST + H("00 04 2C 01 60 36"), "second packet lacks the split flag"),
        (FIRST + H("01 14 2C 01 60 36"), "disagree on units"),
    ],
)
def test_broken_pairs_are_rejected(data: bytes, message: str) -> None:
    with pytest.raises(FramingError, match=message):
        weight.decode_body_composition(data)


def intake(tmp_path: Path, sink: Collector) -> RecordIntake:
    return RecordIntake(
        name="scale",
        sink=sink,
        cursor=RecordCursor(JsonCursorStore(tmp_path / "c.json")),
        decode=lambda uuid, data: BleWeightScaleDriver.decode_characteristic(uuid, data),
        now=NOW,
        live_window=600,
    )


def test_intake_holds_the_first_part_and_fingerprints_the_pair(tmp_path: Path) -> None:
    sink = Collector()
    first = intake(tmp_path, sink)
    first.take(0x2A9C, FIRST, live=False, from_memory=False)
    assert sink.measurements == []  # not a weight of its own
    first.take(0x2A9C, SECOND, live=False, from_memory=False)
    assert [(m.metric.value, str(m.value)) for m in sink.measurements] == [
        ("body_weight", "69.600")
    ]
    again = intake(tmp_path, sink)  # next session, the same record again
    again.take(0x2A9C, FIRST, live=False, from_memory=False)
    again.take(0x2A9C, SECOND, live=False, from_memory=False)
    assert (again.delivered, again.repeated) == (0, 1)


def test_a_lone_first_part_is_dropped_and_said(tmp_path: Path) -> None:
    sink = Collector()
    one = intake(tmp_path, sink)
    one.take(0x2A9C, FIRST, live=False, from_memory=False)
    one.take(0x2A9C, WHOLE, live=False, from_memory=False)  # a whole record instead
    one.take(0x2A9C, FIRST, live=False, from_memory=False)
    one.finish()  # the session ends before the second part
    assert len(sink.measurements) == 1
    assert "2 incomplete split records" in one.summary()


async def test_a_scale_that_splits_is_read_whole(
    ble_radio: LocalLink, ble_central: BumbleCentral, tmp_path: Path
) -> None:
    kg = ("70.2", "69.6")
    stored = [
        StoredRecord(
            rec.body_composition("30.0", time=datetime(2024, 3, 15, 8, n), kilograms=v, user=1),
            n,
            characteristic=0x2A9C,
        )
        for n, v in enumerate(kg, 1)
    ]
    knobs = Knobs(split_body_composition=True)
    async with running(ble_radio, "body_composition_scale", stored=stored, knobs=knobs) as scale:
        got = await session(BleWeightScaleDriver, ble_central, tmp_path / "c.json")
    assert len(scale.recorded.sent) == 4  # two records, two packets each
    assert [(str(m.value), m.device_time) for m in got.measurements] == [
        ("70.200", datetime(2024, 3, 15, 8, 1)),
        ("69.600", datetime(2024, 3, 15, 8, 2)),
    ]
