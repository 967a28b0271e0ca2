"""A real simulator and a real `vitalsd run` with the status endpoint on a free port."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.daemon_harness import Proc, daemon, simulator, wait_for, write_config


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


@dataclass
class Running:
    proc: Proc
    base: str
    jsonl: Path
    config: Path

    def status(self) -> dict[str, Any]:
        return json.loads(get(self.base + "/status")[2])  # type: ignore[no-any-return]

    def all_online(self) -> bool:
        try:
            devices = self.status()["devices"]
        except OSError:
            return False  # not listening yet
        return bool(devices) and all(d["state"] == "online" and d["last_reading"] for d in devices)


@contextmanager
def running_daemon(tmp_path: Path, device_id: str = "exam1-ox") -> Iterator[Running]:
    link = tmp_path / "ox.tty"
    sim = simulator("masimo", "--pty", "--link", str(link), "--rate", "20")
    out = tmp_path / "out.jsonl"
    d = None
    try:
        sim.ready()
        port = free_port()
        cfg = write_config(tmp_path, [(device_id, str(link))], jsonl=out)
        cfg.write_text(cfg.read_text() + f'\n[http]\nbind = "127.0.0.1"\nport = {port}\n')
        d = daemon("run", "-c", str(cfg))
        r = Running(d, f"http://127.0.0.1:{port}", out, cfg)
        wait_for(r.all_online, "device online in /status", proc=d)
        yield r
    finally:
        if d:
            d.stop()
        sim.stop()
