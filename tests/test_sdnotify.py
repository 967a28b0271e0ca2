"""The sd_notify client against a real AF_UNIX datagram socket, in-process and under
the real `vitalsd run` process as systemd would start it."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemon_harness import daemon, simulator, write_config
from tests.notify_listener import NotifyListener
from vitalsd.sdnotify import Notifier, keep_alive, watchdog_period


@pytest.fixture
def listener() -> Iterator[NotifyListener]:
    lst = NotifyListener()
    yield lst
    lst.close()


def test_messages_arrive_as_newline_separated_fields(listener: NotifyListener) -> None:
    n = Notifier.from_environ({"NOTIFY_SOCKET": listener.path})
    assert n.enabled
    assert n.send("READY=1", "STATUS=2/2 devices online, outbox 0")
    n.close()
    assert listener.wait_for("READY=1") == "READY=1\nSTATUS=2/2 devices online, outbox 0"


def test_abstract_namespace_socket() -> None:
    name = f"vitalsd-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    try:
        n = Notifier(f"@{name}")
        assert n.send("WATCHDOG=1")
        n.close()
        sock.settimeout(5)
        assert sock.recv(100) == b"WATCHDOG=1"
    finally:
        sock.close()


def test_without_systemd_nothing_is_sent_and_nothing_fails(tmp_path: Path) -> None:
    assert not Notifier.from_environ({}).send("READY=1")
    gone = Notifier(str(tmp_path / "no-such-socket"))
    assert not gone.send("READY=1")  # logged once as a warning, never raised
    gone.close()


def test_watchdog_period_is_half_of_watchdogsec() -> None:
    assert watchdog_period({"WATCHDOG_USEC": "30000000"}) == 15.0
    assert watchdog_period({}) is None
    assert watchdog_period({"WATCHDOG_USEC": "junk"}) is None
    mine = {"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": str(os.getpid())}
    assert watchdog_period(mine) == 1.0
    assert watchdog_period({**mine, "WATCHDOG_PID": "1"}) is None


async def test_a_blocked_event_loop_stops_the_keepalives(listener: NotifyListener) -> None:
    n = Notifier(listener.path)
    statuses = iter(["1/2 devices online, outbox 0"] * 3 + ["2/2 devices online, outbox 0"] * 99)
    task = asyncio.create_task(keep_alive(n, 0.02, lambda: next(statuses)), name="test.keepalive")
    try:
        while len(listener.messages) < 5:
            await asyncio.sleep(0.02)
            listener.drain()
        # Block the loop the way a wedged coroutine would. Nothing else can send from
        # this process, so the socket must stay silent for the whole block.
        listener.drain()
        time.sleep(0.5)
        assert listener.drain() == []
        # Released: the pings come back.
        before = len(listener.messages)
        while len(listener.messages) == before:
            await asyncio.sleep(0.02)
            listener.drain()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        n.close()
    assert all(m.startswith("WATCHDOG=1") for m in listener.messages)
    # STATUS rides along only when it changed.
    status_lines = [line for line in listener.lines() if line.startswith("STATUS=")]
    assert status_lines == [
        "STATUS=1/2 devices online, outbox 0",
        "STATUS=2/2 devices online, outbox 0",
    ]


def test_the_daemon_notifies_ready_watchdog_status_stopping(
    tmp_path: Path, listener: NotifyListener, monkeypatch: pytest.MonkeyPatch
) -> None:
    link = tmp_path / "ox.tty"
    sim = simulator("masimo", "--pty", "--link", str(link), "--rate", "20")
    monkeypatch.setenv("NOTIFY_SOCKET", listener.path)
    monkeypatch.setenv("WATCHDOG_USEC", "400000")  # a ping every 0.2 s
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    d = None
    try:
        sim.ready()
        cfg = write_config(tmp_path, [("exam1-ox", str(link))], jsonl=tmp_path / "o.jsonl")
        cfg.write_text(cfg.read_text() + "\n[http]\nenabled = false\n")
        d = daemon("run", "-c", str(cfg))
        try:
            ready = listener.wait_for("READY=1")
            assert "STATUS=" in ready
            listener.wait_for("WATCHDOG=1")
            listener.wait_for_line("STATUS=1/1 devices online, outbox")
        except AssertionError as err:
            # What the daemon logged (the port it could not open, and why) is the one
            # clue a silent notify socket leaves.
            d.signal(signal.SIGTERM)
            d.wait()
            raise AssertionError(f"{err}\n--- daemon log ---\n{d.stderr()}") from err
        d.signal(signal.SIGTERM)
        listener.wait_for("STOPPING=1")
        assert d.wait() == 0
    finally:
        if d:
            d.stop()
        sim.stop()
    lines = listener.lines()
    assert lines.index("READY=1") < lines.index("WATCHDOG=1")
