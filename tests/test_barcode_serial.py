"""A serial barcode scanner over a real pseudo-terminal, into a real ContextStore."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from functools import partial
from pathlib import Path

import pytest

from simulators.barcode_scanner import BarcodeScanner, Step
from simulators.faults import FaultInjector, FaultSettings
from simulators.serial_port import PtyPort, StreamPlan, wait_until
from tests.barcode_source_harness import barcode_source
from tests.sim_harness import serving
from vitalsd.context.barcode import BarcodeSource
from vitalsd.context.barcode_reader import ScanSplitter
from vitalsd.context.store import ContextChange
from vitalsd.model import Location

EXAM3 = Location(facility="Clinic", point_of_care="FM", room="exam3")
WAIT_S = 20.0
WRISTBAND = r"\^MRN\^(?P<id>[^^]+)\^(?P<family_name>[^^]*)\^(?P<given_name>[^^]*)"


def running(
    port: str, tmp_path: Path, **options: object
) -> contextlib.AbstractAsyncContextManager[tuple[BarcodeSource, asyncio.Queue[ContextChange]]]:
    opts = {"port": port, "room": "exam3", "pattern": WRISTBAND, "retry_max": 0.2}
    return barcode_source(opts | options, tmp_path, name="exam3-scanner", room=EXAM3)


async def _next(changes: asyncio.Queue[ContextChange]) -> ContextChange:
    return await asyncio.wait_for(changes.get(), WAIT_S)


@pytest.mark.parametrize(("suffix", "aim"), [("cr", ""), ("crlf", "]C1"), ("tab", "")])
async def test_scripted_scans_over_a_pty_associate_the_room(
    tmp_path: Path, suffix: str, aim: str
) -> None:
    scanner = BarcodeScanner(
        [Step(0.1), Step(text="^MRN^12345^DOE^JANE"), Step(0.3), Step(text="^MRN^67890^ROE^RICK")],
        suffix=suffix,
        aim=aim,
    )
    plan = StreamPlan(rate=scanner.rate)
    async with (
        serving(PtyPort(), scanner.next_frame, plan) as pty,
        running(pty, tmp_path, suffix=suffix) as (source, changes),
    ):
        first = await _next(changes)
        assert first.after is not None and first.after.patient.family_name == "DOE"
        assert first.after.location == EXAM3
        assert (await _next(changes)).reason == "replaced"
        second = await _next(changes)
        assert second.after is not None and second.after.patient.id == "67890"
        assert source.health().listening is True
        assert source.health().last_event_summary == "associated exam3"


async def test_partial_scans_and_noise_never_associate_and_the_next_scan_still_works(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Every scan of the first round is cut short (no suffix) or carries line noise.
    noisy = BarcodeScanner(
        [Step(0.1), Step(text="^MRN^11111^BAD^CUT")],
        faults=FaultInjector(FaultSettings(cut=1.0), seed=7),
    )
    clean = BarcodeScanner([Step(1.0), Step(text="^MRN^12345^DOE^JANE")])

    def frames() -> bytes | None:
        return (noisy.next_frame() or b"") + (clean.next_frame() or b"") or None

    async with (
        serving(PtyPort(), frames, StreamPlan(rate=noisy.rate)) as pty,
        running(pty, tmp_path, incomplete_after=0.3) as (source, changes),
    ):
        change = await _next(changes)
        assert change.after is not None and change.after.patient.id == "12345"
        assert source.scans == 1  # the cut scan was discarded whole, not glued on
        assert changes.empty()
    assert f"barcode scanner {pty}: discarded" in caplog.text
    assert "incomplete scan (no suffix within 0.3 s)" in caplog.text


def test_splitter_keeps_noise_inside_a_scan_so_the_scan_is_rejected() -> None:
    splitter = ScanSplitter("cr")
    assert splitter.feed(b"MRN1\xff\x0023\rMRN") == ["MRN1\ufffd\x0023"]
    assert splitter.feed(b"45\r\n") == ["MRN45"]
    splitter.discard("test")
    assert splitter.pending == 0


def _said(caplog: pytest.LogCaptureFixture, text: str, times: int) -> bool:
    """Whether a warning containing ``text`` was logged exactly ``times`` times."""
    return times == sum(
        text in r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING
    )


async def test_unplugged_scanner_is_reopened_and_the_message_names_the_port(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    link = tmp_path / "scanner.tty"
    port = PtyPort(link)
    async with running(str(link), tmp_path) as (source, changes):
        # Not plugged in yet: a clear error naming the path, and retries.
        assert await wait_until(lambda: source.health().last_error is not None, WAIT_S)
        assert str(link) in str(source.health().last_error)
        assert "no such device" in str(source.health().last_error)
        for n, mrn in enumerate(("12345", "67890"), start=1):
            await port.open()
            try:
                assert await wait_until(port.listening, WAIT_S)
                assert await wait_until(lambda: source.health().listening is True, WAIT_S)
                port.write(f"^MRN^{mrn}^DOE^JANE\r".encode())
                while True:
                    change = await _next(changes)
                    if change.after is not None:
                        break
                assert change.after.patient.id == mrn
            finally:
                await port.close()  # unplug
            # Once per outage, naming the port.
            assert await wait_until(partial(_said, caplog, f"{link}: disconnected", n), WAIT_S)
    port.remove_link()
