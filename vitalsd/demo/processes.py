"""The demo's simulator processes: started as ``vitalsd-sim`` children, always stopped."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from vitalsd.errors import VitalsdError

SIM_READY_TIMEOUT_S = 15.0


@dataclass(frozen=True, slots=True)
class SimSpec:
    name: str
    args: tuple[str, ...]


def simulator_command() -> list[str]:
    beside = Path(sys.executable).with_name("vitalsd-sim")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("vitalsd-sim")
    if found is None:
        raise VitalsdError("vitalsd-sim is not installed (pip install -e . installs it)")
    return [found]


class Simulators:
    """The demo's simulator processes; always stopped on exit."""

    def __init__(self, log: Path | None = None) -> None:
        self.procs: dict[str, asyncio.subprocess.Process] = {}
        self.ready: dict[str, dict[str, object]] = {}
        # The simulators' own chatter goes to a file, not over the demo's output.
        self._log = log

    async def start(self, specs: list[SimSpec]) -> None:
        cmd = simulator_command()
        for spec in specs:
            with self._log.open("ab") if self._log else contextlib.nullcontext() as log:
                proc = await asyncio.create_subprocess_exec(
                    *cmd,
                    *spec.args,
                    stdout=asyncio.subprocess.PIPE,
                    stdin=asyncio.subprocess.DEVNULL,
                    stderr=log,
                )
            self.procs[spec.name] = proc
            assert proc.stdout is not None
            try:
                async with asyncio.timeout(SIM_READY_TIMEOUT_S):
                    line = await proc.stdout.readline()
            except TimeoutError:
                raise VitalsdError(f"simulator {spec.name} did not start") from None
            try:
                self.ready[spec.name] = json.loads(line)
            except ValueError:
                raise VitalsdError(f"simulator {spec.name} failed to start: {line!r}") from None

    async def stop(self) -> None:
        for proc in self.procs.values():
            if proc.returncode is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                async with asyncio.timeout(5):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()

    def port(self, name: str) -> int:
        """The TCP port a simulator announced (``"tcp": "host:port"``)."""
        return int(str(self.ready[name]["tcp"]).rsplit(":", 1)[1])
