"""Real processes for end-to-end tests: simulators and the daemon, as a site runs them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
WAIT_S = 30.0  # generous: a loaded 2-core CI machine


class Proc:
    def __init__(self, args: list[str], *, stdout_file: Path | None = None) -> None:
        self.args = args
        self._out = stdout_file.open("wb") if stdout_file else None
        self.p = subprocess.Popen(
            args,
            stdout=self._out or subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    def ready(self) -> dict[str, Any]:
        assert self.p.stdout is not None
        line = self.p.stdout.readline()
        assert line, f"{self.args[0]} exited: {self.stderr()}"
        return json.loads(line)  # type: ignore[no-any-return]

    def signal(self, sig: int) -> None:
        if self.p.poll() is None:
            self.p.send_signal(sig)

    def wait(self, timeout: float = WAIT_S) -> int:
        return self.p.wait(timeout=timeout)

    def stderr(self) -> str:
        if self.p.poll() is None:
            return "(still running)"
        assert self.p.stderr is not None
        return self.p.stderr.read().decode(errors="replace")

    def stop(self) -> None:
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        if self._out:
            self._out.close()
        for stream in (self.p.stdout, self.p.stderr):
            if stream is not None:
                stream.close()


def simulator(*args: str) -> Proc:
    return Proc([str(BIN / "vitalsd-sim"), *args])


def daemon(*args: str, stdout_file: Path | None = None) -> Proc:
    return Proc([str(BIN / "vitalsd"), *args], stdout_file=stdout_file)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    docs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.endswith("}"):  # a line being written right now is skipped until whole
            docs.append(json.loads(line))
    return docs


def wait_for(
    predicate: Callable[[], bool], what: str, timeout: float = WAIT_S, proc: Proc | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc is not None and proc.p.poll() is not None:
            raise AssertionError(f"{what}: daemon exited early:\n{proc.stderr()}")
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def config_file(tmp: Path, body: str) -> Path:
    """``tmp``/vitalsd.toml: the site and daemon every end-to-end test runs as, then
    ``body`` (its devices, context sources and outputs)."""
    site = (
        '[site]\nid = "test-site"\nfacility = "Test Clinic"\npoint_of_care = "FM"\n'
        f'timezone = "UTC"\n\n[daemon]\nstate_dir = "{tmp / "state"}"\nshutdown_timeout = 10.0\n\n'
    )
    path = tmp / "vitalsd.toml"
    path.write_text(site + body, encoding="utf-8")
    return path


def hl7_output(port: int | str, name: str = "ehr") -> str:
    """An ``hl7`` output to an MLLP receiver on this host; its own options may follow."""
    return (
        f'[[outputs]]\ntype = "hl7"\nname = "{name}"\n[outputs.options]\n'
        f'host = "127.0.0.1"\nport = {port}\n'
    )


def write_config(tmp: Path, devices: list[tuple[str, str]], *, jsonl: Path) -> Path:
    parts = [
        f'[[devices]]\nid = "{device_id}"\ndriver = "masimo_ascii1"\nport = "{port}"\n'
        'room = "exam1"\n[devices.options]\nsilence_timeout = 5.0\n'
        for device_id, port in devices
    ]
    parts.append(f'[[outputs]]\ntype = "jsonl"\n[outputs.options]\npath = "{jsonl}"\n')
    return config_file(tmp, "\n".join(parts))


def yank(sim: Proc, link: Path | None = None) -> None:
    """Kill the simulator the way an adapter is yanked, its ``link`` going with it.

    udev removes a by-id link on unplug; a SIGKILLed simulator cannot, so this does. Left
    behind, the link names a pty number the kernel soon hands to some other program
    (lowest free first), and the daemon retrying it would open that program's pty: it
    reads another test's device, and that test's daemon finds its port busy. Stopped
    first, so a replug in progress cannot put the link back before the kill.
    """
    sim.signal(signal.SIGSTOP)
    if link is not None:
        link.unlink(missing_ok=True)
    sim.signal(signal.SIGKILL)
    sim.wait()
    sim.stop()
