"""CPU share of `vitalsd run` reading 16 Nonin Data Format #2 streams at line rate.

Sixteen `vitalsd-sim nonin-df2` processes, each on its own pseudo-terminal, send 3 packets
of 25 frames a second (75 frames/s, the OEM III's real rate); the daemon runs as its own
process with the jsonl output. CPU (user + system) comes from /proc over a window after
start-up has settled. Issue 3's target: under 5% of one core for all 16 ports together.
Prints figures; asserts nothing (timing belongs here, not in tests).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
TICKS = os.sysconf("SC_CLK_TCK")
TARGET_PCT = 5.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def config(tmp: Path, links: list[Path], out: Path) -> Path:
    parts = [
        '[site]\nid = "bench"\nfacility = "Bench"\ntimezone = "UTC"\n',
        f'[daemon]\nstate_dir = "{tmp / "state"}"\nlog_level = "warning"\n',
    ]
    for i, link in enumerate(links):
        parts.append(
            f'[[devices]]\nid = "ox{i:02d}"\ndriver = "nonin_df2"\nport = "{link}"\n'
            f'room = "exam{i:02d}"\n'
        )
    parts.append(f'[[outputs]]\ntype = "jsonl"\n[outputs.options]\npath = "{out}"\n')
    path = tmp / "vitalsd.toml"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def observations(out: Path) -> int:
    try:
        with out.open("rb") as f:
            return sum(b'"observation"' in line for line in f)
    except FileNotFoundError:
        return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", type=int, default=16)
    parser.add_argument("--settle", type=float, default=5.0, help="seconds before measuring")
    parser.add_argument("--window", type=float, default=20.0, help="seconds measured")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="vitalsd-bench-"))
    links = [tmp / f"ox{i:02d}.tty" for i in range(args.ports)]
    out = tmp / "out.jsonl"
    sims: list[subprocess.Popen[bytes]] = []
    daemon = None
    try:
        for link in links:
            sim = subprocess.Popen(
                [str(BIN / "vitalsd-sim"), "nonin-df2", "--pty", "--link", str(link)],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            sims.append(sim)
            assert sim.stdout is not None
            json.loads(sim.stdout.readline())  # ready
        daemon = subprocess.Popen(
            [str(BIN / "vitalsd"), "run", "-c", str(config(tmp, links, out))],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(args.settle)
        if daemon.poll() is not None:
            sys.exit(f"daemon exited early (code {daemon.returncode})")
        cpu0, obs0, t0 = cpu_seconds(daemon.pid), observations(out), time.monotonic()
        time.sleep(args.window)
        cpu1, obs1, t1 = cpu_seconds(daemon.pid), observations(out), time.monotonic()
        sim_cpu = sum(cpu_seconds(s.pid) for s in sims if s.poll() is None)
    finally:
        for p in [*sims, *([daemon] if daemon else [])]:
            if p.poll() is None:
                p.terminate()
        for p in [*sims, *([daemon] if daemon else [])]:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            if p.stdout is not None:
                p.stdout.close()
        shutil.rmtree(tmp, ignore_errors=True)
    wall = t1 - t0
    pct = 100.0 * (cpu1 - cpu0) / wall
    frames = 75 * args.ports
    print(f"ports:                  {args.ports} x Nonin DF#2 at 75 frames/s ({frames} frames/s)")
    print(f"window:                 {wall:.1f} s after {args.settle:g} s settling")
    print(f"observations written:   {(obs1 - obs0) / wall:.1f} /s")
    print(f"daemon CPU:             {pct:.2f}% of one core ({pct / args.ports:.3f}% per port)")
    print(f"target:                 < {TARGET_PCT:g}% of one core -> ratio {pct / TARGET_PCT:.2f}")
    print(f"simulators (all, life): {sim_cpu:.1f} CPU s (separate processes, not counted)")


if __name__ == "__main__":
    main()
