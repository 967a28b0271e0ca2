"""How a simulated serial device runs: pacing, unplugging, options, and the serve loop.

The ports themselves (a pseudo-terminal, a raw-TCP serial server) live in ``ports``; they
are re-exported here because every simulator and its tests reach them through this module.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from simulators.ports import (
    FrameSource,
    InputHandler,
    Port,
    PtyPort,
    TcpPort,
    wait_until,
)

__all__ = [
    "FrameDevice",
    "FrameSource",
    "InputHandler",
    "Port",
    "PtyPort",
    "StreamPlan",
    "TcpPort",
    "add_port_arguments",
    "plan_from_args",
    "port_from_args",
    "serve",
    "stream",
    "wait_until",
]

_LOGGER = logging.getLogger(__name__)


class FrameDevice(Protocol):
    """Any simulated device: asked once per tick for the bytes it sends (None: quiet)."""

    def next_frame(self) -> bytes | None: ...


@dataclass(frozen=True, slots=True)
class StreamPlan:
    """How a streaming device paces itself, and when it gets unplugged."""

    rate: float = 1.0  # ticks (lines) per second
    count: int | None = None  # stop after this many ticks
    wait_for_listener: bool = True  # the device is switched on when someone connects
    disconnect_every: float = 0.0  # wall seconds between unplugs (0: never)
    reconnect_after: float = 1.0  # wall seconds unplugged

    def __post_init__(self) -> None:
        if not self.rate > 0:
            raise ValueError(f"--rate {self.rate}: must be above 0")
        if self.count is not None and self.count < 0:
            raise ValueError(f"--count {self.count}: must not be negative")
        if self.disconnect_every < 0 or self.reconnect_after < 0:
            raise ValueError("--disconnect-every and --reconnect-after must not be negative")


async def stream(
    port: Port,
    next_frame: FrameSource,
    plan: StreamPlan,
    *,
    on_replug: Callable[[dict[str, str]], None] | None = None,
) -> int:
    """Tick ``next_frame`` at ``plan.rate`` into an open ``port`` until count or cancel.

    Ticks are scheduled from the start time, not from the previous tick, so a raised rate
    does not drift. Returns the number of ticks. The caller opens and closes ``port``.
    """
    loop = asyncio.get_running_loop()
    if plan.wait_for_listener:
        # Switched on when the cable is connected: captures and tests then start at the
        # device's first line instead of wherever they happened to attach.
        await wait_until(port.listening)
    start = loop.time()
    next_unplug = start + plan.disconnect_every if plan.disconnect_every else None
    ticks = 0
    while plan.count is None or ticks < plan.count:
        if next_unplug is not None and loop.time() >= next_unplug:
            await port.close()
            _LOGGER.info("unplugged for %g s", plan.reconnect_after)
            await asyncio.sleep(plan.reconnect_after)
            info = await port.open()
            _LOGGER.info("replugged: %s", info)
            if on_replug is not None:
                on_replug(info)
            next_unplug = loop.time() + plan.disconnect_every
        frame = next_frame()
        if frame:
            port.write(frame)
        ticks += 1
        delay = start + ticks / plan.rate - loop.time()
        await asyncio.sleep(max(0.0, delay))
    await port.drain()
    return ticks


def add_port_arguments(parser: argparse.ArgumentParser) -> None:
    """Where to serve, and how to pace and unplug: shared by every serial simulator."""
    where = parser.add_argument_group("where the device is plugged in (one of)")
    choice = where.add_mutually_exclusive_group(required=True)
    choice.add_argument("--pty", action="store_true", help="serve on a new pseudo-terminal")
    choice.add_argument(
        "--tcp",
        type=int,
        metavar="PORT",
        help="serve raw TCP like a network serial server (0: pick a free port)",
    )
    where.add_argument(
        "--link", type=Path, metavar="PATH", help="with --pty: keep a symlink PATH -> the pty"
    )
    where.add_argument("--host", default="127.0.0.1", help="with --tcp: address to listen on")
    pace = parser.add_argument_group("pace and unplugging")
    pace.add_argument("--rate", type=float, default=1.0, metavar="HZ", help="lines per second")
    pace.add_argument("--count", type=int, metavar="N", help="stop after N lines (exit 0)")
    pace.add_argument(
        "--no-wait",
        action="store_true",
        help="start sending at once, not when the first reader connects",
    )
    pace.add_argument(
        "--disconnect-every",
        type=float,
        default=0.0,
        metavar="S",
        help="unplug every S seconds: close the pty (a new one replaces it) or TCP clients",
    )
    pace.add_argument(
        "--reconnect-after", type=float, default=1.0, metavar="S", help="replug after S seconds"
    )


def port_from_args(args: argparse.Namespace) -> Port:
    if args.link is not None and not args.pty:
        raise ValueError("--link goes with --pty")
    return PtyPort(args.link) if args.pty else TcpPort(args.host, args.tcp)


def plan_from_args(args: argparse.Namespace) -> StreamPlan:
    return StreamPlan(
        rate=args.rate,
        count=args.count,
        wait_for_listener=not args.no_wait,
        disconnect_every=args.disconnect_every,
        reconnect_after=args.reconnect_after,
    )


def _announce(doc: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(doc) + "\n")
    sys.stdout.flush()


async def serve(port: Port, device: FrameDevice, plan: StreamPlan, protocol: str) -> int:
    """Open ``port``, announce readiness on stdout, tick ``device`` until count or a signal.

    The one run loop of every ``vitalsd-sim`` serial simulator. Polled devices wire
    ``port.on_input`` (and their reply path) before calling. The first stdout line is the
    ready JSON, later ones announce replugs; the pty link is removed on the way out.
    """
    loop = asyncio.get_running_loop()
    info = await port.open()
    task: asyncio.Task[int] | None = None
    try:
        task = asyncio.create_task(
            stream(
                port,
                device.next_frame,
                plan,
                on_replug=lambda i: _announce({"replugged": True, "protocol": protocol, **i}),
            ),
            name=f"vitalsd-sim {protocol} stream",
        )
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        # Only now: whoever reads "ready" may signal us at once.
        _announce({"ready": True, "protocol": protocol, **info})
        with contextlib.suppress(asyncio.CancelledError):
            ticks = await task
            _LOGGER.info("sent %d ticks; done", ticks)
        return 0
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await port.close()
        if isinstance(port, PtyPort):
            port.remove_link()
