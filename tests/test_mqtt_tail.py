"""`vitalsd tail` as a real process, following what the mqtt output publishes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mosquitto import Broker
from tests.test_mqtt_output import make_output, observation
from vitalsd.cli.tail import format_line

VITALSD = str(Path(sys.executable).parent / "vitalsd")


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    b = Broker(tmp_path / "broker")
    b.start()
    yield b
    b.stop()


async def test_tail_prints_live_observations_of_a_room(tmp_path: Path, broker: Broker) -> None:
    tail = await asyncio.create_subprocess_exec(
        VITALSD, "tail", "--site", "site1", "--room", "exam1", "--host", "127.0.0.1",
        "--port", str(broker.port), "--count", "2",
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out = make_output(tmp_path, broker.port)
    try:
        assert tail.stderr is not None
        async with asyncio.timeout(30):
            first = await tail.stderr.readline()  # subscribed
        assert b"following vitalsd/site1/exam1/+/observation" in first
        await out.start()
        for v in ("97", "95"):
            await out.handle(observation(v))
        async with asyncio.timeout(30):
            stdout, _ = await tail.communicate()
        assert tail.returncode == 0
        lines = stdout.decode().splitlines()
        assert len(lines) == 2
        assert "exam1-ox" in lines[0]
        assert "spo2" in lines[0]
        assert "97 %" in lines[0]
        assert "95 %" in lines[1]
    finally:
        if tail.returncode is None:
            tail.kill()
            await tail.wait()
        await out.close()


def test_format_line_shows_flags() -> None:
    line = format_line(
        {"time": "t", "device_id": "d", "metric": "spo2", "value": 90, "unit": "%",
         "flags": ["motion"], "context": {"location": {"room": "r"}}}
    )  # fmt: skip
    assert line.endswith("90 %  [motion]")
