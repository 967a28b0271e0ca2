"""Which protocol is on this port? List serial ports, and listen with each driver's settings.

A probe is read-only by default: it opens the port with a driver's ``serial_defaults``,
listens for a few seconds and feeds what arrives to that driver's decoder. A driver may
declare ``probe_command`` (bytes) — a documented identification query that neither starts
a measurement nor changes the device's state — and only then is it sent, once. Commands
that start a stream or a cuff are never sent: a probe must not move a patient's device.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from serial.tools import list_ports

from vitalsd.driver import Driver
from vitalsd.errors import DeviceUnavailable, LinkError
from vitalsd.links.serial import open_serial_link
from vitalsd.model import DeviceIdentity, Measurement, Transport

_LOGGER = logging.getLogger(__name__)

BY_ID_DIR = Path("/dev/serial/by-id")


@dataclass(frozen=True, slots=True)
class PortInfo:
    """One serial port as the OS sees it."""

    device: str
    by_id: tuple[str, ...]
    vid_pid: str | None  # "0403:6001" for USB adapters
    description: str
    serial_number: str | None
    manufacturer: str | None


def _by_id_names(by_id_dir: Path) -> dict[str, list[str]]:
    names: dict[str, list[str]] = {}
    with contextlib.suppress(OSError):
        for link in sorted(by_id_dir.iterdir()):
            target = os.path.realpath(link)
            names.setdefault(target, []).append(str(link))
    return names


def list_serial_ports(by_id_dir: Path = BY_ID_DIR) -> list[PortInfo]:
    """The machine's serial ports, with their stable ``/dev/serial/by-id`` names."""
    by_id = _by_id_names(by_id_dir)
    ports = []
    for p in sorted(list_ports.comports(), key=lambda p: p.device):
        vid_pid = f"{p.vid:04x}:{p.pid:04x}" if p.vid is not None and p.pid is not None else None
        ports.append(
            PortInfo(
                device=p.device,
                by_id=tuple(by_id.get(os.path.realpath(p.device), ())),
                vid_pid=vid_pid,
                description=p.description if p.description not in (None, "n/a") else "",
                serial_number=p.serial_number,
                manufacturer=p.manufacturer,
            )
        )
    return ports


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What one driver made of a port in one listening window."""

    driver: str
    settings: str  # "9600 8N1"
    bytes_read: int
    frames: int  # valid frames: measurements and identity reports decoded
    rejected: int  # frames the decoder threw away as corrupt
    sent: bytes | None  # the identification command sent, if the driver declares one
    error: str | None = None

    @property
    def matched(self) -> bool:
        # More good frames than bad: a wrong protocol at the wrong baud rate may decode a
        # lucky frame from noise, but not mostly good ones.
        return self.error is None and self.frames > 0 and self.frames > self.rejected


def serial_drivers(drivers: Mapping[str, type[Driver]]) -> dict[str, type[Driver]]:
    return {n: d for n, d in sorted(drivers.items()) if Transport.SERIAL in d.transports}


def _probe_command(driver: type[Driver]) -> bytes | None:
    command = getattr(driver, "probe_command", None)
    return command if isinstance(command, bytes) and command else None


async def probe_driver(port: str, name: str, driver: type[Driver], listen: float) -> ProbeResult:
    """Listen on ``port`` with ``driver``'s line settings for ``listen`` seconds."""
    s = driver.serial_defaults
    settings = f"{s.baudrate} {s.bytesize}{s.parity}{s.stopbits}"
    command = _probe_command(driver)
    decoder = driver.new_decoder()
    frames = read = 0
    try:
        link = await open_serial_link(port, s)
    except DeviceUnavailable:
        raise  # the port itself is missing or busy: no driver will do better
    except LinkError as err:
        return ProbeResult(name, settings, 0, 0, 0, None, str(err))
    try:
        if command is not None:
            await link.write(command)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + listen
        while (left := deadline - loop.time()) > 0:
            try:
                async with asyncio.timeout(left):
                    data = await link.read()
            except TimeoutError:
                break
            read += len(data)
            reports = decoder.feed(data)
            frames += sum(isinstance(r, Measurement | DeviceIdentity) for r in reports)
    except DeviceUnavailable as err:
        return ProbeResult(name, settings, read, frames, decoder.errors, command, str(err))
    finally:
        await link.close()
    _LOGGER.debug("probe %s with %s: %d bytes, %d frames", port, name, read, frames)
    return ProbeResult(name, settings, read, frames, decoder.errors, command)


async def probe_port(
    port: str, drivers: Mapping[str, type[Driver]], listen: float
) -> list[ProbeResult]:
    """Try every serial driver in turn (one at a time: a port has one reader)."""
    return [
        await probe_driver(port, name, driver, listen)
        for name, driver in serial_drivers(drivers).items()
    ]


def best_match(results: list[ProbeResult]) -> ProbeResult | None:
    matched = [r for r in results if r.matched]
    return max(matched, key=lambda r: (r.frames - r.rejected, r.frames), default=None)
