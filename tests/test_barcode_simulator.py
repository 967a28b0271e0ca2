"""`vitalsd-sim barcode`: the script, the wire format, the command line."""

from __future__ import annotations

import pytest

from simulators.barcode_scanner import BarcodeScanner, Step, keystrokes
from simulators.cli import build_parser


def _run(scanner: BarcodeScanner, ticks: int) -> list[tuple[int, bytes]]:
    out = []
    for tick in range(ticks):
        frame = scanner.next_frame()
        if frame:
            out.append((tick, frame))
    return out


def test_scans_come_at_their_scripted_device_time_with_prefix_and_suffix() -> None:
    scanner = BarcodeScanner(
        [Step(1.0), Step(text="MRN1"), Step(0.5), Step(text="ROOM:EXAM3")],
        rate=10,
        suffix="crlf",
        aim="]C1",
    )
    assert _run(scanner, 30) == [(10, b"]C1MRN1\r\n"), (15, b"]C1ROOM:EXAM3\r\n")]


def test_the_script_repeats_when_asked() -> None:
    scanner = BarcodeScanner([Step(0.2), Step(text="A")], rate=10, suffix="tab", repeat_every=1)
    assert [t for t, _ in _run(scanner, 40)] == [2, 14, 26, 38]


def test_command_line_keeps_the_order_of_waits_and_scans() -> None:
    args = build_parser().parse_args(
        ["barcode", "--pty", "--wait", "1", "--scan", "A", "--scan", "B", "--wait", "2"]
    )
    assert args.steps == [Step(1.0), Step(text="A"), Step(text="B"), Step(2.0)]
    assert args.rate == 20.0  # fine-grained ticks: scripted times land within 50 ms


def test_command_line_mistakes_exit_with_usage() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["barcode", "--pty", "--wait", "soon"])


def test_hid_keystrokes_cannot_type_what_no_key_types() -> None:
    with pytest.raises(ValueError, match="no key"):
        keystrokes("é")
