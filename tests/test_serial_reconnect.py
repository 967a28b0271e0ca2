"""Every serial driver, end to end through ``vitalsd run``: readings resume after an unplug
(``--disconnect-every``: the pty goes away and a new one takes the ``--link`` path) and after
the simulator process is killed and restarted; over a pty and over ``socket://``.

Fast rates and short poll intervals keep each case to seconds; waits are on events
(statuses and readings in the jsonl output), never on time.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.daemon_harness import WAIT_S, Proc, daemon, read_jsonl, simulator, wait_for, yank
from vitalsd.supervisor import BACKOFF_MAX_S

# Each failed reconnect doubles the daemon's jittered backoff, and only a connection that
# lasts HEALTHY_AFTER_S resets it, which none in these short tests does: after the unplugs
# and the kill it is often asleep for up to BACKOFF_MAX_S, and the more so the slower a
# loaded machine runs each step. Readings can only resume once that sleep ends, so a
# resume waits a whole backoff on top of the usual slack (what is asserted is that they
# resume, not how fast), and the test's own timeout allows every step its worst case.
RESUME_S = WAIT_S + BACKOFF_MAX_S
pytestmark = pytest.mark.timeout(3 * RESUME_S + 3 * WAIT_S)


@dataclass(frozen=True)
class Case:
    driver: str
    protocol: str  # vitalsd-sim subcommand
    sim_args: tuple[str, ...] = ()
    options: str = ""  # TOML lines for [devices.options]


CASES = [
    Case("masimo_ascii1", "masimo", ("--rate", "20")),
    Case("nonin_df2", "nonin-df2", (), "packets_per_report = 1"),
    Case("nonin_ascii", "nonin-ascii", ("--rate", "20")),
    Case("contec", "contec", (), "packets_per_report = 10"),
    Case("contec_v7", "contec", ("--protocol", "v7"), "packets_per_report = 10"),
    Case("nellcor", "nellcor", ("--rate", "20")),
    Case("sma_scale", "sma-scale", ("--rate", "20"), "poll_interval = 0.05\nstable_readings = 2"),
    Case("detecto_solo", "detecto-solo", ("--rate", "20"), "poll_interval = 0.2"),
    Case(
        "suntech_advantage",
        "suntech",
        ("--rate", "20", "--auto-start-every", "20"),
        "poll_interval = 0.1",
    ),
    Case(
        "suretemp_module",
        "suretemp",
        ("--rate", "20", "--measure-every", "20"),
        "poll_interval = 0.1",
    ),
    Case("accutorr3", "accutorr3", ("--rate", "20", "--nibp-every", "10"), "poll_interval = 0.1"),
]


def write_config(tmp: Path, case: Case, port: str, out: Path) -> Path:
    text = (
        '[site]\nid = "test-site"\nfacility = "Test Clinic"\ntimezone = "UTC"\n\n'
        f'[daemon]\nstate_dir = "{tmp / "state"}"\nshutdown_timeout = 10.0\n\n'
        f'[[devices]]\nid = "dev"\ndriver = "{case.driver}"\nport = "{port}"\nroom = "exam1"\n'
        f"[devices.options]\nsilence_timeout = 3.0\n{case.options}\n\n"
        f'[[outputs]]\ntype = "jsonl"\n[outputs.options]\npath = "{out}"\n'
    )
    path = tmp / "vitalsd.toml"
    path.write_text(text, encoding="utf-8")
    return path


def readings(out: Path) -> int:
    return sum(d["type"] == "observation" for d in read_jsonl(out))


def offline_count(out: Path) -> int:
    return sum(d["type"] == "status" and d["state"] == "offline" for d in read_jsonl(out))


def resume(out: Path, d: Proc, what: str, more: int = 2) -> None:
    before = readings(out)
    wait_for(lambda: readings(out) >= before + more, f"readings {what}", RESUME_S, proc=d)


@contextmanager
def daemon_log_on_failure(get: Callable[[], Proc | None]) -> Iterator[None]:
    """On a failed assertion, stop the daemon and add its log: what it was doing is the
    one clue a timed-out wait leaves (an open that failed, and why)."""
    try:
        yield
    except AssertionError as err:
        d = get()
        if d is None:
            raise
        d.signal(signal.SIGTERM)
        try:
            d.wait()
        except subprocess.TimeoutExpired:
            d.p.kill()
            d.p.wait()
        raise AssertionError(f"{err}\n--- daemon log ---\n{d.stderr()}") from err


@pytest.mark.parametrize("case", CASES, ids=[c.driver for c in CASES])
def test_readings_resume_after_unplug_and_simulator_restart(tmp_path: Path, case: Case) -> None:
    link = tmp_path / "dev.tty"
    out = tmp_path / "out.jsonl"
    base = (case.protocol, "--pty", "--link", str(link), *case.sim_args)
    sim = simulator(*base, "--disconnect-every", "4", "--reconnect-after", "0.5")
    d = None
    try:
        with daemon_log_on_failure(lambda: d):
            sim.ready()
            d = daemon("run", "-c", str(write_config(tmp_path, case, str(link), out)))
            resume(out, d, "at first")
            wait_for(lambda: offline_count(out) >= 1, "offline after the unplug", proc=d)
            resume(out, d, "after the replug")
            yank(sim, link)
            gone = offline_count(out)
            wait_for(lambda: offline_count(out) > gone, "offline after the kill", proc=d)
            sim = simulator(*base)
            sim.ready()
            resume(out, d, "after the restart")
            d.signal(signal.SIGTERM)
            assert d.wait() == 0
    finally:
        if d:
            d.stop()
        sim.stop()


@pytest.mark.parametrize("case", CASES, ids=[c.driver for c in CASES])
def test_readings_resume_over_socket_url_after_unplug_and_restart(
    tmp_path: Path, case: Case
) -> None:
    out = tmp_path / "out.jsonl"
    sim = simulator(case.protocol, "--tcp", "0", *case.sim_args, "--disconnect-every", "4")
    d = None
    try:
        with daemon_log_on_failure(lambda: d):
            port = sim.ready()["tcp"].rsplit(":", 1)[1]
            url = f"socket://127.0.0.1:{port}"
            d = daemon("run", "-c", str(write_config(tmp_path, case, url, out)))
            resume(out, d, "at first")
            wait_for(lambda: offline_count(out) >= 1, "offline after the unplug", proc=d)
            resume(out, d, "after the replug")
            yank(sim)
            gone = offline_count(out)
            wait_for(lambda: offline_count(out) > gone, "offline after the kill", proc=d)
            sim = simulator(case.protocol, "--tcp", port, *case.sim_args)  # the server came back
            sim.ready()
            resume(out, d, "after the restart")
            d.signal(signal.SIGTERM)
            assert d.wait() == 0
    finally:
        if d:
            d.stop()
        sim.stop()
