"""`vitalsd demo`, the README's first command, works and shows readings."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from tests.daemon_harness import BIN, read_jsonl


def test_demo_shows_readings_from_every_simulated_device(tmp_path: Path) -> None:
    r = subprocess.run(
        [str(BIN / "vitalsd"), "demo", "--duration", "16", "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    docs = read_jsonl(tmp_path / "observations.jsonl")
    devices = {d["device_id"] for d in docs if d["type"] == "observation"}
    assert devices == {"exam1-oximeter", "exam1-cuff", "exam2-oximeter", "exam3-oximeter"}
    assert "SpO2" in r.stdout and "exam3-oximeter" in r.stdout
    assert "demo done:" in r.stdout
    assert (tmp_path / "vitalsd.toml").exists()
    _assert_the_scan_associated_the_next_bp(tmp_path, docs, r.stdout)


def _assert_the_scan_associated_the_next_bp(
    workdir: Path, docs: list[dict[str, Any]], stdout: str
) -> None:
    # The scanner's wristband + room label made exam1 patient 12345 ...
    assert "exam1 is now patient 12345 (DOE, JANE)" in stdout
    # ... so a later BP reached the EHR with PID-3/PID-5 and exam1 in PV1-3 ...
    bp = [
        {seg[:3]: seg.split("|") for seg in str(m["raw"]).split("\r") if seg}
        for m in read_jsonl(workdir / "ehr-received.jsonl")
        if "MDC_PRESS_BLD_NONINV_SYS" in str(m.get("raw"))
    ]
    associated = [m for m in bp if m["PID"][3] == "12345^^^DEMO^MR"]
    assert associated, [m["PID"][3] for m in bp]
    assert associated[0]["PID"][5] == "DOE^JANE^^^^^L"
    assert associated[0]["PV1"][3].split("^")[:2] == ["FM", "exam1"]
    assert "ORU^R01 BP" in stdout and "PID-3 12345^^^DEMO^MR PID-5 DOE^JANE" in stdout
    # ... while the other rooms' oximeters went out without a patient.
    obs = [d for d in docs if d["type"] == "observation"]
    others = [d for d in obs if d["device_id"] in ("exam2-oximeter", "exam3-oximeter")]
    assert others and all("patient" not in d for d in others)
    assert any(d.get("patient", {}).get("id") == "12345" for d in obs)


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
