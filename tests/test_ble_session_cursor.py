"""The per-device record cursor and the Device Information identity, on their own."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from drivers.ble.device_info import eui64_from_system_id
from drivers.ble.record_cursor import KEEP, RecordCursor, fingerprint
from vitalsd.links.gatt import CursorStore, JsonCursorStore, uuid16

BPM = uuid16(0x2A35)


def test_cursor_survives_a_restart(tmp_path: Path) -> None:
    store = JsonCursorStore(tmp_path / "ble" / "cuff.json")
    cursor = RecordCursor(store)
    record = fingerprint(BPM, b"\x00\x7d\x00\x50\x00\x66\x00")
    assert cursor.is_new(record)
    cursor.deliver(record, sequence=7)
    again = RecordCursor(store)
    assert not again.is_new(record)
    assert again.sequence == 7
    # A lower sequence (the meter was reset) never moves the cursor back.
    again.deliver(fingerprint(BPM, b"\x01"), sequence=3)
    assert RecordCursor(store).sequence == 7


def test_same_bytes_on_another_characteristic_is_another_record() -> None:
    assert fingerprint(BPM, b"\x00") != fingerprint(uuid16(0x2A36), b"\x00")


def test_cursor_keeps_the_newest_fingerprints(tmp_path: Path) -> None:
    store = JsonCursorStore(tmp_path / "c.json")
    cursor = RecordCursor(store)
    marks = [fingerprint(BPM, n.to_bytes(2, "little")) for n in range(KEEP + 5)]
    for mark in marks:
        cursor.deliver(mark)
    reloaded = RecordCursor(store)
    assert reloaded.is_new(marks[0])
    assert not reloaded.is_new(marks[-1])
    assert len(json.loads((tmp_path / "c.json").read_text())["seen"]) == KEEP


@pytest.mark.parametrize(
    "state",
    [{"version": 99, "sequence": 5}, {"sequence": "5", "seen": "x"}, {"seen": [1, None]}],
)
def test_odd_state_starts_afresh(tmp_path: Path, state: dict[str, object]) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps(state))
    cursor = RecordCursor(JsonCursorStore(path))
    assert cursor.sequence is None
    assert cursor.seen == []


class _FullDisk(CursorStore):
    def load(self) -> dict[str, object]:
        return {}

    def save(self, state: Mapping[str, object]) -> None:
        raise OSError(28, "No space left on device")


def test_full_disk_is_a_warning_not_a_lost_record(caplog: pytest.LogCaptureFixture) -> None:
    cursor = RecordCursor(_FullDisk())
    cursor.deliver(fingerprint(BPM, b"\x00"))
    cursor.deliver(fingerprint(BPM, b"\x01"))
    assert not cursor.is_new(fingerprint(BPM, b"\x00"))  # this session still knows it
    warnings = [r for r in caplog.records if "cannot save" in r.getMessage()]
    assert len(warnings) == 1


def test_eui64_from_system_id() -> None:
    # SIG DIS 1.1, System ID: the spec's example of OUI 0x123456 and company-assigned id
    # 0x9ABCDE is the value 0x123456FFFE9ABCDE, sent little-endian.
    assert eui64_from_system_id(bytes.fromhex("DEBC9AFEFF563412")) == "123456FFFE9ABCDE"
    assert eui64_from_system_id(bytes.fromhex("C3B2A1FEFF1F0900")) == "00091FFFFEA1B2C3"
    assert eui64_from_system_id(bytes(8)) is None
    assert eui64_from_system_id(b"\x01\x02") is None
