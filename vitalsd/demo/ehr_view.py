"""Shows, as the demo runs, what the simulated EHR received and how it answered."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

POLL_S = 0.5


def describe(doc: dict[str, object]) -> str | None:
    raw = doc.get("raw")
    if not isinstance(raw, str):
        return None
    segments = raw.split("\r")
    obx = sum(1 for seg in segments if seg.startswith("OBX|"))
    pv1 = next((seg.split("|") for seg in segments if seg.startswith("PV1|")), [])
    where = pv1[3].replace("^", " ").strip() if len(pv1) > 3 else "?"
    t = (
        datetime.fromtimestamp(float(str(doc.get("time", 0))), UTC)
        .astimezone()
        .strftime("%H:%M:%S")
    )
    return (
        f"{t}  EHR (simulated)    received ORU^R01 {doc.get('control_id')} "
        f"({obx} OBX, location {where}) and answered {doc.get('mode')}"
    )


async def show_ehr_messages(record: Path, say: Callable[[str], None]) -> None:
    """Print each new line of the receiver's record until cancelled."""
    offset = 0
    while True:
        await asyncio.sleep(POLL_S)
        try:
            with record.open("rb") as f:
                f.seek(offset)
                chunk = f.read()
        except FileNotFoundError:
            continue
        complete = chunk[: chunk.rfind(b"\n") + 1]
        offset += len(complete)
        for line in complete.splitlines():
            try:
                text = describe(json.loads(line))
            except ValueError:
                continue
            if text:
                say(text)
