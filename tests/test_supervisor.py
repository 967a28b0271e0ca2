"""Device sessions over real pseudo-terminals: online, offline, reconnect, identity.

A tiny line protocol defined here ("T=36.6" → body temperature) keeps these tests about
the supervisor, not about any one device.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty
from datetime import UTC
from decimal import Decimal
from pathlib import Path
from typing import ClassVar

from vitalsd.driver import Decoder, Driver, DriverOptions
from vitalsd.framing import LineFramer
from vitalsd.links.base import SerialSettings
from vitalsd.links.serial import open_serial_link
from vitalsd.model import (
    BusItem,
    DeviceIdentity,
    DeviceKind,
    DeviceState,
    DeviceStatus,
    DriverReport,
    Location,
    Measurement,
    Metric,
    Observation,
    Transport,
    Unit,
)
from vitalsd.normalize import DeviceProfile, Normalizer
from vitalsd.supervisor import DeviceSession, DeviceSpec


class TempDecoder(Decoder):
    def __init__(self) -> None:
        self.framer = LineFramer()
        self.rejected = 0

    @property
    def errors(self) -> int:
        return self.rejected

    def feed(self, data: bytes) -> list[DriverReport]:
        out: list[DriverReport] = []
        for line in self.framer.feed(data):
            key, _, value = line.decode().partition("=")
            if key == "T":
                out.append(Measurement(Metric.TEMP_BODY, Decimal(value), Unit.CEL))
            elif key == "SN":
                out.append(DeviceIdentity(make="Test", serial=value))
            else:
                self.rejected += 1
        return out


class TempDriver(Driver):
    name: ClassVar[str] = "temp_lines"
    summary: ClassVar[str] = "test protocol"
    kinds: ClassVar[frozenset[DeviceKind]] = frozenset({DeviceKind.THERMOMETER})
    transports: ClassVar[frozenset[Transport]] = frozenset({Transport.SERIAL})

    @classmethod
    def new_decoder(cls, options: DriverOptions | None = None) -> Decoder:
        return TempDecoder()


class Pty:
    """A pseudo-terminal whose slave is reachable through a stable symlink, like by-id."""

    def __init__(self, link: Path) -> None:
        self.link = link
        self.master = -1
        self.plug()

    def plug(self) -> None:
        self.master, slave = os.openpty()
        tty.setraw(self.master)
        name = os.ttyname(slave)
        os.close(slave)
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()
        self.link.symlink_to(name)

    def unplug(self) -> None:
        os.close(self.master)
        self.master = -1

    def send(self, text: str) -> None:
        os.write(self.master, text.encode())


async def wait_until(predicate, what: str) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(20):
        while not predicate():
            await asyncio.sleep(0.02)


async def test_session_goes_online_reads_and_reconnects_after_unplug(tmp_path: Path) -> None:
    items: list[BusItem] = []
    pty = Pty(tmp_path / "thermo")
    spec = DeviceSpec(
        profile=DeviceProfile(
            "exam1-thermo", "temp_lines", DeviceKind.THERMOMETER, Location(room="1"), UTC
        ),
        driver_class=TempDriver,
        port=str(pty.link),
        serial=SerialSettings(),
        options=DriverOptions(silence_timeout=30),
    )
    session = DeviceSession(
        spec, normalizer=Normalizer(), publish=items.append, open_link=open_serial_link
    )
    task = asyncio.create_task(session.run(), name="test.session")
    try:
        await wait_until(lambda: session.status.state == DeviceState.CONNECTING, "connecting")
        await asyncio.sleep(0.2)  # let the port open before the first bytes
        pty.send("SN=A1\r\n#garbage\r\nT=36.6\r\n")
        await wait_until(lambda: session.accepted == 1, "first reading")
        assert session.status.state == DeviceState.ONLINE
        assert session.identity == DeviceIdentity(make="Test", serial="A1")
        assert session.decode_errors == 1  # counted for /metrics, across reconnects too

        pty.unplug()
        await wait_until(lambda: session.status.state == DeviceState.OFFLINE, "offline")
        assert "disconnected" in (session.status.reason or "")
        pty.plug()
        await wait_until(lambda: session.status.state == DeviceState.CONNECTING, "reconnecting")
        for _ in range(200):  # the reopen races the first write: resend until read
            pty.send("T=37.1\r\n")
            await asyncio.sleep(0.05)
            if session.accepted >= 2:
                break
        await wait_until(lambda: session.accepted >= 2, "reading after replug")
        assert session.decode_errors == 1
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if pty.master >= 0:
            pty.unplug()

    observations = [i for i in items if isinstance(i, Observation)]
    assert [o.value for o in observations][:2] == [Decimal("36.6"), Decimal("37.1")]
    assert observations[0].identity.serial == "A1"  # identity reached the reading
    states = [i.state for i in items if isinstance(i, DeviceStatus)]
    assert states[0] == DeviceState.CONNECTING
    assert DeviceState.ONLINE in states
    assert DeviceState.OFFLINE in states
    assert states[-1] == DeviceState.STOPPED


async def test_missing_port_keeps_retrying_and_other_devices_carry_on(tmp_path: Path) -> None:
    items: list[BusItem] = []
    pty = Pty(tmp_path / "good")

    def spec(device_id: str, port: Path) -> DeviceSpec:
        return DeviceSpec(
            profile=DeviceProfile(device_id, "temp_lines", DeviceKind.THERMOMETER, Location(), UTC),
            driver_class=TempDriver,
            port=str(port),
            serial=SerialSettings(),
            options=DriverOptions(),
        )

    normalizer = Normalizer()
    bad = DeviceSession(
        spec("bad", tmp_path / "absent"),
        normalizer=normalizer,
        publish=items.append,
        open_link=open_serial_link,
    )
    good = DeviceSession(
        spec("good", pty.link),
        normalizer=normalizer,
        publish=items.append,
        open_link=open_serial_link,
    )
    tasks = [asyncio.create_task(s.run(), name=f"test.{s.device_id}") for s in (bad, good)]
    try:
        await wait_until(lambda: bad.reconnects >= 2, "bad device retried")
        assert bad.status.state == DeviceState.OFFLINE
        assert "no such device" in (bad.status.reason or "")
        for _ in range(200):
            pty.send("T=36.9\r\n")
            await asyncio.sleep(0.05)
            if good.accepted:
                break
        assert good.accepted >= 1
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        pty.unplug()
