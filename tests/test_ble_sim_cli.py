"""``vitalsd-sim ble-health``: the bench simulator serves a real driver session.

The transport is replaced by bumble's virtual radio; everything else is what the
command runs on a dongle.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from bumble.link import LocalLink

from drivers.ble.and_medical import AndUa651Driver
from simulators.ble.health_cli import serve
from simulators.cli import build_parser
from tests.ble_session_harness import session
from vitalsd.links.ble_bumble import BumbleCentral


async def test_ble_health_command_serves_a_session(
    ble_radio: LocalLink,
    ble_central: BumbleCentral,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = build_parser().parse_args(["ble-health", "and_ua651ble", "--transport", "usb:0"])
    task = asyncio.get_running_loop().create_task(serve(args, link=ble_radio), name="sim")
    try:
        now = datetime.now().astimezone().replace(tzinfo=None)
        got = await session(AndUa651Driver, ble_central, tmp_path / "c.json", now=now)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    ready = json.loads(capsys.readouterr().out.splitlines()[0])
    assert ready == {"ready": True, "kind": "and_ua651ble", "address": "C0:11:22:33:44:55"}
    # Yesterday's reading is stored, the failed try dropped, the fresh one live.
    assert [(str(m.value), m.stored) for m in got.measurements] == [
        ("128", True),
        ("82", True),
        ("97", True),
        ("66", True),
        ("121", False),
        ("79", False),
        ("93", False),
        ("70", False),
    ]
    fresh = got.measurements[-1].device_time
    assert fresh is not None
    assert now - fresh < timedelta(minutes=5)


def test_ble_health_arguments() -> None:
    args = build_parser().parse_args(
        ["ble-health", "omron_bp", "--transport", "usb:0", "--racp-error", "0x08"]
    )
    assert (args.kind, args.racp_error, args.drop_after) == ("omron_bp", 8, None)
