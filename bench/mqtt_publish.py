"""MQTT publish throughput: the whole output path beside bare aiomqtt, in the same run.

Whole path = ``MqttOutput.handle`` (payload model, outbox commit) and the sender draining
to PUBACK. Bare = aiomqtt publishing the same payloads at QoS 1, 10 in flight (as the
sender). Both go to a private Mosquitto on a free port. Prints figures; asserts nothing.

    .venv/bin/python bench/mqtt_publish.py [N]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

import aiomqtt

sys.path.insert(0, str(Path(__file__).parents[1]))

from tests.mosquitto import Broker
from tests.test_mqtt_output import make_output, observation
from vitalsd.mqtt.payload import encode, observation_payload


async def whole_path(tmp: Path, port: int, n: int) -> float:
    out = make_output(tmp, port)
    await out.start()
    obs = [observation(str(90 + i % 10)) for i in range(n)]
    t0 = time.perf_counter()
    for o in obs:
        await out.handle(o)
    assert out.outbox is not None
    while out.outbox.pending("mqtt", limit=1):  # noqa: ASYNC110 - polls another writer
        await asyncio.sleep(0.005)
    elapsed = time.perf_counter() - t0
    await out.close()
    return elapsed


async def bare(port: int, n: int) -> float:
    payloads = [
        encode(observation_payload(observation(str(90 + i % 10)), "site1", include_patient=False))
        for i in range(n)
    ]
    topic = "vitalsd/site1/exam1/exam1-ox/observation"
    async with aiomqtt.Client("127.0.0.1", port) as client:
        t0 = time.perf_counter()
        for i in range(0, n, 10):
            async with asyncio.TaskGroup() as tg:
                for p in payloads[i : i + 10]:
                    tg.create_task(client.publish(topic, p, qos=1))
        return time.perf_counter() - t0


async def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as d:
        broker = Broker(Path(d) / "broker")
        broker.start()
        try:
            whole = await whole_path(Path(d), broker.port, n)
            raw = await bare(broker.port, n)
        finally:
            broker.stop()
    print(f"messages:            {n}")
    print(f"whole path (outbox): {n / whole:9.0f} msg/s  ({whole:.2f} s)")
    print(f"bare aiomqtt QoS 1:  {n / raw:9.0f} msg/s  ({raw:.2f} s)")
    print(f"ratio whole/bare:    {raw / whole:9.2f}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
