"""`vitalsd demo`, the README's first command, works and shows readings."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.daemon_harness import BIN, read_jsonl


def test_demo_shows_readings_from_every_simulated_device(tmp_path: Path) -> None:
    r = subprocess.run(
        [str(BIN / "vitalsd"), "demo", "--duration", "8", "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    docs = read_jsonl(tmp_path / "observations.jsonl")
    devices = {d["device_id"] for d in docs if d["type"] == "observation"}
    assert devices == {"exam1-oximeter", "exam2-oximeter", "exam3-oximeter"}
    assert "SpO2" in r.stdout and "exam3-oximeter" in r.stdout
    assert "demo done:" in r.stdout
    assert (tmp_path / "vitalsd.toml").exists()
