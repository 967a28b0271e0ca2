"""SerialLink against real parts: os.openpty ptys, asyncio TCP servers on 127.0.0.1, and
ser2net as a real RFC 2217 server in front of a pty.

ser2net must be installed (Debian package ``ser2net``); the RFC 2217 tests fail, not skip,
without it so CI cannot silently lose them.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import shutil
import socket
import subprocess
import threading
import time
import tty
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import serial

from vitalsd.errors import DeviceTimeout, DeviceUnavailable, LinkError
from vitalsd.links.base import ByteLink, SerialSettings
from vitalsd.links.blocking import run_blocking
from vitalsd.links.port_errors import tty_open_error
from vitalsd.links.serial import open_serial_link

# pyserial 3.5's RFC 2217 client calls Thread.setDaemon() and setName(); harmless, and only visible
# here because the suite turns warnings into errors.
pytestmark = pytest.mark.filterwarnings(
    "ignore:set(Daemon|Name)\\(\\) is deprecated:DeprecationWarning"
)

SETTINGS = SerialSettings(baudrate=9600)
DEADLINE_S = 10.0  # generous: only bounds a hang, never measures speed


# --- helpers -------------------------------------------------------------------------


async def read_exactly(link: ByteLink, size: int) -> bytes:
    data = b""
    async with asyncio.timeout(DEADLINE_S):
        while len(data) < size:
            data += await link.read()
    return data


async def read_fd(fd: int, size: int) -> bytes:
    """Read ``size`` bytes from a non-blocking fd (a pty master) without blocking the loop."""
    data = b""
    async with asyncio.timeout(DEADLINE_S):
        while len(data) < size:
            try:
                data += os.read(fd, size - len(data))
            except BlockingIOError:
                await asyncio.sleep(0.01)
    return data


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def our_threads() -> set[threading.Thread]:
    return set(threading.enumerate())


def assert_no_new_threads(before: set[threading.Thread]) -> None:
    leftover = sorted(t.name for t in our_threads() - before)
    assert not leftover, f"threads left running: {leftover}"


@dataclass
class Pty:
    master: int
    slave_path: str

    def close_master(self) -> None:
        if self.master >= 0:
            os.close(self.master)
            self.master = -1


@pytest.fixture
def pty_pair() -> Iterator[Pty]:
    master, slave = os.openpty()
    tty.setraw(master)
    os.set_blocking(master, False)
    pair = Pty(master, os.ttyname(slave))
    yield pair
    pair.close_master()
    os.close(slave)


# --- local tty -----------------------------------------------------------------------


async def test_pty_reads_several_chunks_and_writes(pty_pair: Pty) -> None:
    before = our_threads()
    link = await open_serial_link(pty_pair.slave_path, SETTINGS)
    try:
        assert link.description == pty_pair.slave_path
        os.write(pty_pair.master, b"\x02SPO2=97")
        assert await read_exactly(link, 8) == b"\x02SPO2=97"
        for chunk in (b"PR=", b"64", b"\r\n"):
            os.write(pty_pair.master, chunk)
            await asyncio.sleep(0.01)
        assert await read_exactly(link, 7) == b"PR=64\r\n"

        await link.write(b"ID?\r")
        assert await read_fd(pty_pair.master, 4) == b"ID?\r"
    finally:
        await link.close()
        await link.close()  # idempotent
    assert_no_new_threads(before)


async def test_pty_large_write_waits_for_room(pty_pair: Pty) -> None:
    link = await open_serial_link(pty_pair.slave_path, SETTINGS)
    payload = bytes(range(256)) * 1024  # more than a pty buffer holds
    try:
        writer = asyncio.create_task(link.write(payload), name="test-big-write")
        received = await read_fd(pty_pair.master, len(payload))
        await writer
        assert received == payload
    finally:
        await link.close()


async def test_pty_master_closed_is_disconnect(pty_pair: Pty) -> None:
    link = await open_serial_link(pty_pair.slave_path, SETTINGS)
    try:
        pending = asyncio.create_task(link.read(), name="test-pending-read")
        await asyncio.sleep(0.05)
        pty_pair.close_master()
        with pytest.raises(DeviceUnavailable, match="disconnected"):
            async with asyncio.timeout(DEADLINE_S):
                await pending
    finally:
        await link.close()


async def test_pty_close_wakes_pending_read(pty_pair: Pty) -> None:
    link = await open_serial_link(pty_pair.slave_path, SETTINGS)
    pending = asyncio.create_task(link.read(), name="test-pending-read")
    await asyncio.sleep(0.05)
    await link.close()
    with pytest.raises(DeviceUnavailable, match="link closed"):
        await pending
    with pytest.raises(DeviceUnavailable, match="link closed"):
        await link.write(b"x")


async def test_symlink_to_pty(pty_pair: Pty, tmp_path: Path) -> None:
    alias = tmp_path / "exam3-cuff"
    alias.symlink_to(pty_pair.slave_path)
    link = await open_serial_link(str(alias), SETTINGS)
    try:
        assert link.description == str(alias)
        os.write(pty_pair.master, b"ok")
        assert await read_exactly(link, 2) == b"ok"
    finally:
        await link.close()


async def test_missing_device(tmp_path: Path) -> None:
    port = str(tmp_path / "ttyUSB9")
    with pytest.raises(DeviceUnavailable) as caught:
        await open_serial_link(port, SETTINGS)
    assert str(caught.value) == (
        f"{port}: no such device (is it plugged in? check /dev/serial/by-id/)"
    )
    assert isinstance(caught.value.__cause__, OSError)


async def test_second_open_is_busy(pty_pair: Pty) -> None:
    first = await open_serial_link(pty_pair.slave_path, SETTINGS)
    try:
        with pytest.raises(DeviceUnavailable) as caught:
            await open_serial_link(pty_pair.slave_path, SETTINGS)
        assert str(caught.value) == (
            f"{pty_pair.slave_path}: port busy (another program has it open)"
        )
    finally:
        await first.close()
    second = await open_serial_link(pty_pair.slave_path, SETTINGS)  # free again after close
    await second.close()


async def test_regular_file_is_not_a_serial_port(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(LinkError, match="not a serial device"):
        await open_serial_link(str(path), SETTINGS)


@pytest.mark.parametrize(
    "error",
    [
        OSError(errno.EACCES, "Permission denied"),
        serial.SerialException(errno.EACCES, "could not open port /dev/ttyUSB0: denied"),
    ],
)
def test_permission_denied_message(error: OSError) -> None:
    # The suite runs as root, where no file mode can deny an open; so the mapping is
    # checked on the exact exceptions os.open and pyserial raise for EACCES.
    mapped = tty_open_error("/dev/ttyUSB0", error)
    assert type(mapped) is LinkError
    assert str(mapped) == (
        "/dev/ttyUSB0: permission denied (add the service user to the 'dialout' group)"
    )


async def test_empty_port_and_unknown_scheme() -> None:
    with pytest.raises(LinkError, match="empty serial port"):
        await open_serial_link("  ", SETTINGS)
    with pytest.raises(LinkError, match=r"unknown port type 'telnet://'"):
        await open_serial_link("telnet://10.0.0.5:23", SETTINGS)


async def test_blocking_call_that_outlives_its_timeout_is_cleaned_up() -> None:
    """A port open that returns after the caller gave up must be closed, not leaked."""
    release = threading.Event()
    discarded: list[str] = []

    def slow_open() -> str:
        release.wait(DEADLINE_S)
        return "port-handle"

    with pytest.raises(TimeoutError):
        await run_blocking("test-slow-open", slow_open, timeout=0.05, on_abandon=discarded.append)
    release.set()
    async with asyncio.timeout(DEADLINE_S):
        while not discarded or any(t.name == "test-slow-open" for t in our_threads()):
            await asyncio.sleep(0.01)
    assert discarded == ["port-handle"]


# --- socket:// -----------------------------------------------------------------------


class TcpServer:
    """A one-client asyncio TCP server on 127.0.0.1 standing in for a device server."""

    def __init__(self) -> None:
        self.clients: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        await self.clients.put((reader, writer))

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def client(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        async with asyncio.timeout(DEADLINE_S):
            return await self.clients.get()

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        await self.server.wait_closed()


@pytest.fixture
async def tcp_server() -> AsyncIterator[TcpServer]:
    server = TcpServer()
    await server.start()
    yield server
    await server.stop()


async def test_socket_both_ways_and_server_close(tcp_server: TcpServer) -> None:
    before = our_threads()
    url = f"socket://127.0.0.1:{tcp_server.port}"
    link = await open_serial_link(url, SETTINGS)
    try:
        assert link.description == url
        reader, writer = await tcp_server.client()
        writer.write(b"NIBP 120/80")
        await writer.drain()
        assert await read_exactly(link, 11) == b"NIBP 120/80"

        await link.write(b"ACK\r")
        async with asyncio.timeout(DEADLINE_S):
            assert await reader.readexactly(4) == b"ACK\r"

        writer.close()
        await writer.wait_closed()
        with pytest.raises(DeviceUnavailable, match="connection closed by the server"):
            async with asyncio.timeout(DEADLINE_S):
                await link.read()
    finally:
        await link.close()
        await link.close()
    assert_no_new_threads(before)


async def test_socket_refused() -> None:
    url = f"socket://127.0.0.1:{free_port()}"
    with pytest.raises(DeviceUnavailable) as caught:
        await open_serial_link(url, SETTINGS)
    assert str(caught.value) == f"{url}: connection refused"
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)


@pytest.mark.parametrize(
    "url", ["socket://10.0.0.5", "socket://:4001", "socket://h:port", "socket://h:4001/x?a=1"]
)
async def test_socket_malformed(url: str) -> None:
    with pytest.raises(LinkError, match=r"expected socket://<host>:<port>"):
        await open_serial_link(url, SETTINGS)


# --- pyserial URLs through the threaded path -----------------------------------------


async def test_loop_url_uses_threaded_path() -> None:
    before = our_threads()
    link = await open_serial_link("loop://", SETTINGS)
    try:
        await link.write(b"echo")
        assert await read_exactly(link, 4) == b"echo"
    finally:
        await link.close()
    assert_no_new_threads(before)


async def test_rfc2217_open_timeout_then_abandoned_open_ends(tcp_server: TcpServer) -> None:
    """A server that accepts but never negotiates: open gives up at open_timeout, and the
    abandoned open thread still finishes (pyserial's own 2 s negotiation limit)."""
    before = our_threads()
    url = f"rfc2217://127.0.0.1:{tcp_server.port}?timeout=2"
    with pytest.raises(DeviceTimeout, match=r"no answer while opening within 0.3 s"):
        await open_serial_link(url, SerialSettings(open_timeout=0.3))
    async with asyncio.timeout(30):
        while our_threads() - before:
            await asyncio.sleep(0.05)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("rfc2217://10.0.0.5", "malformed RFC 2217 address"),
        ("rfc2217://:4001", "malformed RFC 2217 address"),
        ("rfc2217://10.0.0.5:4001?baud=9600", "unknown option(s) baud"),
    ],
)
async def test_rfc2217_malformed(url: str, expected: str) -> None:
    with pytest.raises(LinkError) as caught:
        await open_serial_link(url, SETTINGS)
    assert expected in str(caught.value)
    assert "expected rfc2217://<host>:<port>" in str(caught.value)


async def test_rfc2217_refused() -> None:
    url = f"rfc2217://127.0.0.1:{free_port()}"
    with pytest.raises(DeviceUnavailable) as caught:
        await open_serial_link(url, SETTINGS)
    assert str(caught.value) == f"{url}: connection refused"


# --- rfc2217:// against ser2net ------------------------------------------------------


def _listening(port: int) -> bool:
    """Whether something listens on 127.0.0.1:port, checked without connecting (a probe
    connection would occupy ser2net's single client slot)."""
    wanted = f"0100007F:{port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == wanted and fields[3] == "0A":  # 0A = LISTEN
            return True
    return False


@dataclass
class Ser2net:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def url(self, options: str = "?ign_set_control") -> str:
        return f"rfc2217://127.0.0.1:{self.port}{options}"


@pytest.fixture
def ser2net(pty_pair: Pty, tmp_path: Path) -> Iterator[Ser2net]:
    binary = shutil.which("ser2net") or (
        "/usr/sbin/ser2net" if Path("/usr/sbin/ser2net").exists() else None
    )
    if binary is None:
        pytest.fail("ser2net is not installed; install the Debian package: apt-get install ser2net")
    port = free_port()
    config = tmp_path / "ser2net.yaml"
    config.write_text(
        "connection: &cuff\n"
        f"  accepter: telnet(rfc2217),tcp,127.0.0.1,{port}\n"
        f"  connector: serialdev,{pty_pair.slave_path},9600n81,local\n"
    )
    log = tmp_path / "ser2net.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [binary, "-n", "-c", str(config), "-P", str(tmp_path / "ser2net.pid")],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Ser2net(port, process, log)
    try:
        deadline = time.monotonic() + DEADLINE_S
        while not _listening(port):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"ser2net did not start listening: {log.read_text()}")
            time.sleep(0.05)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=DEADLINE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def test_rfc2217_both_ways(ser2net: Ser2net, pty_pair: Pty) -> None:
    before = our_threads()
    link = await open_serial_link(ser2net.url(), SETTINGS)
    try:
        assert link.description == ser2net.url()
        os.write(pty_pair.master, b"TEMP 36.8C")
        assert await read_exactly(link, 10) == b"TEMP 36.8C"
        os.write(pty_pair.master, b"\xff\x00")  # telnet IAC must arrive unescaped
        assert await read_exactly(link, 2) == b"\xff\x00"

        await link.write(b"MEM?\xff\r")
        assert await read_fd(pty_pair.master, 6) == b"MEM?\xff\r"
    finally:
        await link.close()
        await link.close()
    assert_no_new_threads(before)


async def test_rfc2217_device_gone_is_disconnect(ser2net: Ser2net, pty_pair: Pty) -> None:
    before = our_threads()
    link = await open_serial_link(ser2net.url(), SETTINGS)
    try:
        os.write(pty_pair.master, b"hi")
        assert await read_exactly(link, 2) == b"hi"
        pty_pair.close_master()  # ser2net loses its device and drops the connection
        with pytest.raises(DeviceUnavailable, match="disconnected"):
            async with asyncio.timeout(DEADLINE_S):
                await link.read()
    finally:
        await link.close()
    assert_no_new_threads(before)


async def test_rfc2217_server_stopped_is_disconnect(ser2net: Ser2net) -> None:
    link = await open_serial_link(ser2net.url(), SETTINGS)
    try:
        ser2net.process.terminate()
        async with asyncio.timeout(DEADLINE_S):
            while ser2net.process.poll() is None:
                await asyncio.sleep(0.05)
        with pytest.raises(DeviceUnavailable, match="connection to the server lost"):
            async with asyncio.timeout(DEADLINE_S):
                await link.read()
    finally:
        await link.close()


async def test_rfc2217_without_ign_set_control_says_so(ser2net: Ser2net) -> None:
    with pytest.raises(DeviceUnavailable, match=r"need '\?ign_set_control' on the URL"):
        await open_serial_link(ser2net.url("?timeout=1"), SETTINGS)
