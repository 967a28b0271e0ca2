"""Shows, as the demo runs, what the simulated EHR received and how it answered."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

POLL_S = 0.5
# What a message carries, by the MDC code in it (the first that appears wins).
_KINDS = (("MDC_PRESS_BLD_NONINV", "ORU^R01 BP"), ("MDC_PULS_OXIM_SAT_O2", "ORU^R01 SpO2"))


def describe(doc: dict[str, object]) -> str | None:
    raw = doc.get("raw")
    if not isinstance(raw, str):
        return None
    segments = raw.split("\r")
    obx = sum(1 for seg in segments if seg.startswith("OBX|"))
    pv1 = next((seg.split("|") for seg in segments if seg.startswith("PV1|")), [])
    where = pv1[3].replace("^", " ").strip() if len(pv1) > 3 else "?"
    pid = next((seg.split("|") for seg in segments if seg.startswith("PID|")), [])
    what = next((name for code, name in _KINDS if code in raw), "ORU^R01")
    t = (
        datetime.fromtimestamp(float(str(doc.get("time", 0))), UTC)
        .astimezone()
        .strftime("%H:%M:%S")
    )
    return (
        f"{t}  EHR (simulated)    received {what} {doc.get('control_id')} "
        f"({obx} OBX, location {where}, {patient(pid)}) and answered {doc.get('mode')}"
    )


def patient(pid: list[str]) -> str:
    """PID-3 and PID-5 as the EHR would file them (the demo's patients are simulated)."""
    if len(pid) < 4 or (len(pid) > 31 and pid[31] == "Y"):
        return "no patient: unassociated"
    name = pid[5].split("^") if len(pid) > 5 else []
    family, given = [*name, "", ""][:2]
    return f"patient PID-3 {pid[3]} PID-5 {family}^{given}"


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
