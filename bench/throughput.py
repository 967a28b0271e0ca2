"""Observations per second through driver → normalize → bus → jsonl, in one process.

Rad-8 "ASCII 1" lines (the shape in shared/reference/serial-protocols.md §1) are fed to
the real decoder in 4 KiB chunks, as a serial read would deliver them; each reading goes
through the real session sink, normalization, bus lane and jsonl output to a file. The
baseline writes the same number of JSON lines straight to a file in the same process, so
the ratio is comparable across machines.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from drivers.serial.masimo import MasimoAscii1Driver
from vitalsd.bus import Bus
from vitalsd.links.base import SerialSettings
from vitalsd.model import DeviceKind, Location
from vitalsd.normalize import DeviceProfile, NormalizationPolicy, Normalizer
from vitalsd.output import OutputEnvironment
from vitalsd.outputs.jsonl import JsonlOptions, JsonlOutput
from vitalsd.supervisor import DeviceSession, DeviceSpec

LINES = 20_000
CHUNK = 4096


def rad8_stream(count: int) -> bytes:
    start = datetime(2026, 11, 27, 8, 0, 0)  # noqa: DTZ001 - device clocks are naive
    out = []
    for n in range(count):
        t = start + timedelta(seconds=n)
        out.append(
            f"{t:%m/%d/%y %H:%M:%S} SN=0000056661 SPO2={95 + n % 5:03d}% BPM={60 + n % 40:03d} "
            f"PI={1 + n % 9:02d}.{n % 100:02d}% SPCO=--.-% SPMET=--.-% DESAT=-- PIDELTA=+-- "
            "ALARM=0000 EXC=000800\r\n"
        )
    return "".join(out).encode()


async def through_vitalsd(data: bytes, path: Path) -> tuple[float, int]:
    out = JsonlOutput(
        JsonlOptions(path=str(path)),
        OutputEnvironment(name="bench", state_dir=path.parent, site_id="bench"),
    )
    bus = Bus([("jsonl", out)])
    spec = DeviceSpec(
        profile=DeviceProfile(
            "bench-ox", "masimo_ascii1", DeviceKind.PULSE_OXIMETER, Location(), UTC
        ),
        driver_class=MasimoAscii1Driver,
        port="/dev/null",
        serial=SerialSettings(),
        options=MasimoAscii1Driver.options_model(),
    )

    async def no_link(port: str, settings: SerialSettings):  # type: ignore[no-untyped-def]
        raise AssertionError("not used")

    session = DeviceSession(
        spec,
        normalizer=Normalizer(NormalizationPolicy(max_clock_skew=None)),
        publish=bus.publish,
        open_link=no_link,
    )
    decoder = MasimoAscii1Driver.new_decoder()
    bus.start()
    t0 = time.perf_counter()
    for i in range(0, len(data), CHUNK):
        for report in decoder.feed(data[i : i + CHUNK]):
            session.put(report)
        await asyncio.sleep(0)  # as between two serial reads
    left = await bus.drain(600)
    elapsed = time.perf_counter() - t0
    await bus.close()
    assert not left
    return elapsed, session.accepted


def baseline(count: int, path: Path) -> float:
    doc = {"type": "observation", "v": 1, "metric": "spo2", "value": 98, "unit": "%"}
    t0 = time.perf_counter()
    with path.open("ab", buffering=0) as f:
        for n in range(count):
            doc["value"] = n
            f.write((json.dumps(doc, separators=(",", ":")) + "\n").encode())
    return time.perf_counter() - t0


def main() -> None:
    data = rad8_stream(LINES)
    tmp = Path(tempfile.mkdtemp(prefix="vitalsd-bench-"))
    elapsed, observations = asyncio.run(through_vitalsd(data, tmp / "obs.jsonl"))
    base = baseline(observations, tmp / "baseline.jsonl")
    t0 = time.perf_counter()
    decoder = MasimoAscii1Driver.new_decoder()
    for i in range(0, len(data), CHUNK):
        decoder.feed(data[i : i + CHUNK])
    decode_only = time.perf_counter() - t0
    print(f"input: {LINES} Rad-8 lines, {len(data) / 1024:.0f} KiB, {observations} observations")
    print(f"decode only:                      {LINES / decode_only:10.0f} lines/s")
    print(f"driver → normalize → bus → jsonl: {observations / elapsed:10.0f} observations/s")
    print(f"baseline (json.dumps + write):    {observations / base:10.0f} lines/s")
    print(f"ratio vitalsd / baseline time:    {elapsed / base:10.1f} x")
    print("for scale: one oximeter at 1 Hz makes 3 observations/s")


if __name__ == "__main__":
    main()
