"""The daemon with one BLE device on the virtual radio: its config, the daemon run as a
task, and the observations its JSON-lines output wrote."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

from vitalsd.app import Daemon
from vitalsd.config import load_config
from vitalsd.driver import Driver
from vitalsd.links.ble_pool import CentralFactory
from vitalsd.outputs.jsonl import JsonlOutput

CONFIG = """
[site]
id = "t"

[daemon]
state_dir = "{tmp}/state"

[[devices]]
id = "{device_id}"
driver = "{driver}"
room = "1"
[devices.ble]
address = "{address}"
{options}
[[outputs]]
type = "jsonl"
[outputs.options]
path = "{tmp}/out.jsonl"
"""


def ble_daemon(
    tmp_path: Path,
    drivers: Mapping[str, type[Driver]],
    driver: str,
    central_factory: CentralFactory,
    *,
    address: str,
    device_id: str = "exam1-ble",
    options: str = "",
) -> Daemon:
    """A daemon for one device of ``driver`` at ``address``; ``options``: TOML tables of
    the device that follow ``[devices.ble]`` (``[devices.options]`` ...)."""
    path = tmp_path / "vitalsd.toml"
    path.write_text(
        CONFIG.format(
            tmp=tmp_path, device_id=device_id, driver=driver, address=address, options=options
        )
    )
    outputs = {"jsonl": JsonlOutput}
    config = load_config(path, environ={}, drivers=drivers, outputs=outputs, context_sources={})
    return Daemon(
        config,
        drivers=drivers,
        outputs=outputs,
        context_sources={},
        ble_central_factory=central_factory,
    )


@contextlib.asynccontextmanager
async def running(daemon: Daemon) -> AsyncIterator[Daemon]:
    """``daemon`` run as a task, stopped as at SIGTERM and awaited on the way out."""
    stop = asyncio.Event()
    task = asyncio.create_task(daemon.run(stop), name="test.daemon")
    try:
        yield daemon
    finally:
        stop.set()
        await task


def observations(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    docs = [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]
    return [d for d in docs if d["type"] == "observation"]


async def wait_until(predicate: Callable[[], object]) -> None:
    async with asyncio.timeout(30):
        while not predicate():
            await asyncio.sleep(0.02)
