"""Peak RSS and idle CPU of `vitalsd run` with 8 quiet simulated devices.

Eight Rad-8 simulators on pseudo-terminals send one line every 5 s (a quiet room: devices
plugged in, little happening); the daemon runs as its own process exactly as under
systemd. CPU is measured from /proc over a window after start-up has settled.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEVICES = 8
SETTLE_S = 5.0
WINDOW_S = 20.0
BIN = Path(sys.executable).parent
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="vitalsd-bench-"))
    sims = []
    config = [
        '[site]\nid = "bench"\nfacility = "Bench"\ntimezone = "UTC"\n',
        f'[daemon]\nstate_dir = "{tmp / "state"}"\n',
    ]
    for n in range(DEVICES):
        link = tmp / f"ox{n}.tty"
        sim = subprocess.Popen(
            [str(BIN / "vitalsd-sim"), "masimo", "--pty", "--link", str(link), "--rate", "0.2"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert sim.stdout is not None
        json.loads(sim.stdout.readline())
        sims.append(sim)
        config.append(
            f'[[devices]]\nid = "exam{n}-ox"\ndriver = "masimo_ascii1"\nport = "{link}"\n'
            f'room = "exam{n}"\n'
        )
    config.append(f'[[outputs]]\ntype = "jsonl"\n[outputs.options]\npath = "{tmp / "o.jsonl"}"\n')
    cfg = tmp / "vitalsd.toml"
    cfg.write_text("\n".join(config))
    daemon = subprocess.Popen(
        [str(BIN / "vitalsd"), "run", "-c", str(cfg)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(SETTLE_S)
        c0, t0 = cpu_seconds(daemon.pid), time.monotonic()
        time.sleep(WINDOW_S)
        c1, t1 = cpu_seconds(daemon.pid), time.monotonic()
        rss = peak_rss_mib(daemon.pid)
        lines = sum(1 for _ in (tmp / "o.jsonl").open()) if (tmp / "o.jsonl").exists() else 0
    finally:
        daemon.terminate()
        daemon.wait()
        for sim in sims:
            sim.terminate()
            sim.wait()
    print(f"devices: {DEVICES} quiet simulated Rad-8 oximeters (1 line / 5 s each)")
    print(f"daemon peak RSS: {rss:.1f} MiB")
    print(f"daemon idle CPU: {100 * (c1 - c0) / (t1 - t0):.2f} % of one core over {WINDOW_S:.0f} s")
    print(f"jsonl documents written meanwhile: {lines}")


if __name__ == "__main__":
    main()
