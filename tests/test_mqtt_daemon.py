"""A real `vitalsd run` publishing to a real Mosquitto, and its Last Will when SIGKILLed."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

from tests.daemon_harness import daemon, simulator, write_config
from tests.mosquitto import Broker, Subscriber

GATEWAY = "vitalsd/test-site/gateway"


def retained_gateway(sub: Subscriber) -> list[str]:
    return [json.loads(p)["state"] for t, p, _ in sub.messages if t == GATEWAY]


async def test_gateway_goes_offline_by_last_will_when_the_daemon_is_killed(tmp_path: Path) -> None:
    broker = Broker(tmp_path / "broker")
    broker.start()
    link = tmp_path / "ox.tty"
    sim = simulator("masimo", "--pty", "--link", str(link), "--rate", "20", "--seed", "3")
    d = None
    try:
        sim.ready()
        cfg = write_config(tmp_path, [("exam1-ox", str(link))], jsonl=tmp_path / "out.jsonl")
        with cfg.open("a", encoding="utf-8") as f:
            f.write(
                f'\n[[outputs]]\ntype = "mqtt"\n[outputs.options]\nhost = "127.0.0.1"\n'
                f"port = {broker.port}\nretry_initial = 0.2\nretry_max = 1.0\n"
            )
        async with Subscriber(broker.port, "vitalsd/test-site/#") as sub:
            d = daemon("run", "-c", str(cfg))
            await sub.wait(
                lambda: len(sub.docs("/observation")) >= 5 and "online" in retained_gateway(sub),
                "observations and gateway online",
                timeout=60,
            )
            statuses = [s["state"] for s in sub.docs("exam1-ox/status")]
            assert "online" in statuses
            assert sub.docs("/observation")[0]["device_id"] == "exam1-ox"
            d.signal(signal.SIGKILL)
            await asyncio.to_thread(d.wait)
            await sub.wait(lambda: retained_gateway(sub)[-1] == "offline", "Last Will", timeout=60)
        # Retained: a dashboard that connects now sees the gateway is down.
        async with Subscriber(broker.port, GATEWAY) as late:
            await late.wait(lambda: bool(late.messages), "retained gateway state")
        assert json.loads(late.messages[0][1])["state"] == "offline"
    finally:
        if d:
            d.stop()
        sim.stop()
        broker.stop()
