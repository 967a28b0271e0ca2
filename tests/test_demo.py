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


async def test_demo_also_publishes_to_a_named_mqtt_broker(tmp_path: Path) -> None:
    import asyncio

    from tests.mosquitto import Broker, Subscriber

    broker = Broker(tmp_path / "broker")
    broker.start()
    try:
        async with Subscriber(broker.port, "vitalsd/demo-clinic/#") as sub:
            proc = await asyncio.create_subprocess_exec(
                str(BIN / "vitalsd"),
                "demo",
                "--duration",
                "8",
                "--workdir",
                str(tmp_path / "demo"),
                "--mqtt",
                f"127.0.0.1:{broker.port}",
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(proc.communicate(), 120)
            assert proc.returncode == 0, err.decode()
            assert f"MQTT: publishing to 127.0.0.1:{broker.port}" in out.decode()
            await sub.wait(lambda: len(sub.docs("/observation")) > 0, "demo readings on MQTT")
    finally:
        broker.stop()
