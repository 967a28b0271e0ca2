"""``vitalsd demo``: simulated devices → the real daemon → terminal and JSON lines.

The simulators run as separate ``vitalsd-sim`` processes speaking the devices' own
bytes over pseudo-terminals and TCP, exactly as the daemon would meet real hardware;
the daemon runs on an embedded config through the same loader as ``vitalsd run``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import signal
import sys
import tempfile
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from vitalsd.app import Daemon
from vitalsd.config import load_config
from vitalsd.errors import VitalsdError
from vitalsd.registry import load_drivers, load_outputs

_LOGGER = logging.getLogger(__name__)

SIM_READY_TIMEOUT_S = 15.0


@dataclass(frozen=True, slots=True)
class SimSpec:
    name: str
    args: tuple[str, ...]


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def demo_simulators(workdir: Path) -> list[SimSpec]:
    return [
        SimSpec(
            "exam1-oximeter",
            (
                "masimo",
                "--pty",
                "--link",
                str(workdir / "exam1-oximeter.tty"),
                "--seed",
                "1",
                "--serial",
                "0000056661",
            ),
        ),
        SimSpec(
            "exam2-oximeter",
            (
                "masimo",
                "--pty",
                "--link",
                str(workdir / "exam2-oximeter.tty"),
                "--seed",
                "2",
                "--serial",
                "0000093112",
                "--spo2",
                "94",
                "--bpm",
                "88",
                "--sensor-off-every",
                "20",
                "--sensor-off-for",
                "5",
                "--garbage",
                "0.05",
            ),
        ),
        SimSpec(
            "exam3-oximeter",
            (
                "masimo",
                "--tcp",
                "0",
                "--seed",
                "3",
                "--serial",
                "0000101234",
                "--spo2",
                "99",
                "--bpm",
                "64",
            ),
        ),
    ]


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

    def __init__(self) -> None:
        self.procs: dict[str, asyncio.subprocess.Process] = {}
        self.ready: dict[str, dict[str, object]] = {}

    async def start(self, specs: list[SimSpec]) -> None:
        cmd = simulator_command()
        for spec in specs:
            proc = await asyncio.create_subprocess_exec(
                *cmd, *spec.args, stdout=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL
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


def render_config(workdir: Path, exam3_port: int) -> Path:
    template = files("vitalsd.demo").joinpath("demo.toml").read_text(encoding="utf-8")
    text = template.replace("{workdir}", str(workdir)).replace("{exam3_port}", str(exam3_port))
    path = workdir / "vitalsd.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def _demo(workdir: Path, duration: float | None) -> int:
    sims = Simulators()
    try:
        await sims.start(demo_simulators(workdir))
        tcp = str(sims.ready["exam3-oximeter"]["tcp"])
        config_path = render_config(workdir, int(tcp.rsplit(":", 1)[1]))
        drivers, outputs = load_drivers(), load_outputs()
        cfg = load_config(config_path, drivers=drivers.plugins, outputs=outputs.plugins)
        daemon = Daemon(cfg, drivers=drivers.plugins, outputs=outputs.plugins)
        _say(
            f"vitalsd demo: 3 simulated Masimo Rad-8 oximeters -> vitalsd -> this terminal\n"
            f"  config:   {config_path}\n"
            f"  readings: {workdir / 'observations.jsonl'} (JSON lines)\n"
            f"  exam2's patient takes the sensor off every 20 s, on a noisy cable;\n"
            f"  exam3 sits behind a simulated network serial server (socket://).\n"
            f"  Ctrl-C stops.\n"
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        timer = loop.call_later(duration, stop.set) if duration is not None else None
        try:
            report = await daemon.run(stop)
        finally:
            if timer is not None:
                timer.cancel()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        _say(f"demo done: {report.accepted} observations; config and output kept in {workdir}")
        return 1 if report.undelivered else 0
    finally:
        await sims.stop()


def run_demo(*, workdir: str | None, duration: float | None) -> int:
    path = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="vitalsd-demo-"))
    path.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(_demo(path.resolve(), duration))
    return 130
