"""``console``: one human-readable line per reading, for a person watching a terminal."""

from __future__ import annotations

import asyncio
import sys
from typing import ClassVar, TextIO

from pydantic import Field

from vitalsd.model import BusItem, DeviceNotice, DeviceState, DeviceStatus, Metric, Observation
from vitalsd.output import Output, OutputEnvironment, OutputOptions

LABELS = {
    Metric.BP_SYSTOLIC: "BP sys",
    Metric.BP_DIASTOLIC: "BP dia",
    Metric.BP_MEAN: "BP mean",
    Metric.PULSE_RATE_NIBP: "Pulse",
    Metric.PULSE_RATE_OXIMETER: "Pulse",
    Metric.SPO2: "SpO2",
    Metric.PERFUSION_INDEX: "PI",
    Metric.TEMP_BODY: "Temp",
    Metric.TEMP_ORAL: "Temp oral",
    Metric.TEMP_TYMPANIC: "Temp tymp",
    Metric.TEMP_EAR: "Temp ear",
    Metric.TEMP_AXILLARY: "Temp axil",
    Metric.TEMP_RECTAL: "Temp rect",
    Metric.TEMP_TEMPORAL: "Temp TA",
    Metric.BODY_WEIGHT: "Weight",
    Metric.BODY_HEIGHT: "Height",
    Metric.BMI: "BMI",
    Metric.RESP_RATE: "Resp",
    Metric.GLUCOSE: "Glucose",
}

GROUP_WAIT_S = 0.2  # a device sends one group's values within one read

_UNIT_TEXT = {"Cel": "°C", "[degF]": "°F", "mm[Hg]": "mmHg", "[lb_av]": "lb", "[in_i]": "in"}


class ConsoleOptions(OutputOptions):
    stream: str = Field(default="stdout", pattern="^(stdout|stderr)$")


class ConsoleOutput(Output):
    name: ClassVar[str] = "console"
    summary: ClassVar[str] = "human-readable lines on the terminal"
    options_model: ClassVar[type[OutputOptions]] = ConsoleOptions

    def __init__(self, options: OutputOptions, env: OutputEnvironment) -> None:
        super().__init__(options, env)
        assert isinstance(options, ConsoleOptions)
        self._stream: TextIO = sys.stderr if options.stream == "stderr" else sys.stdout

        # Readings taken together (one oximeter line, one cuff result) print as one line.
        self._pending: list[Observation] = []
        self._flush_timer: asyncio.TimerHandle | None = None
        # What was last shown per device, so repeats (a status re-sent with a new
        # identity, an initial "all clear") do not clutter the screen.
        self._shown_state: dict[str, DeviceStatus] = {}
        self._shown_conditions: dict[str, bool] = {}

    async def handle(self, item: BusItem) -> None:
        if isinstance(item, Observation):
            if self._pending and not _same_group(self._pending[-1], item):
                self._flush()
            self._pending.append(item)
            if self._flush_timer is None:
                loop = asyncio.get_running_loop()
                self._flush_timer = loop.call_later(GROUP_WAIT_S, self._flush)
            return
        self._flush()
        line = self._describe(item)
        if line is not None:
            self._write(line)

    def _describe(self, item: DeviceStatus | DeviceNotice) -> str | None:
        if isinstance(item, DeviceStatus):
            before = self._shown_state.get(item.device_id)
            self._shown_state[item.device_id] = item
            if before is not None and before.state == item.state:
                if before.identity == item.identity:
                    return None
                return format_identity(item)
            return format_item(item)
        had_conditions = self._shown_conditions.get(item.device_id, False)
        self._shown_conditions[item.device_id] = bool(item.event.conditions)
        if item.event.code == "conditions" and not item.event.conditions and not had_conditions:
            return None
        return format_item(item)

    def _flush(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        if self._pending:
            self._write(format_readings(self._pending))
            self._pending = []

    def _write(self, line: str) -> None:
        self._stream.write(line + "\n")
        self._stream.flush()

    async def close(self) -> None:
        self._flush()


def _same_group(a: Observation, b: Observation) -> bool:
    return a.device_id == b.device_id and a.group is not None and a.group == b.group


def format_readings(readings: list[Observation]) -> str:
    first = readings[0]
    t = first.time.astimezone().strftime("%H:%M:%S")
    parts = []
    for o in readings:
        unit = _UNIT_TEXT.get(o.unit.value, o.unit.value)
        flags = f" [{', '.join(sorted(f.value for f in o.flags))}]" if o.flags else ""
        parts.append(f"{LABELS.get(o.metric, o.metric.value)} {o.value} {unit}{flags}")
    return f"{t}  {first.device_id:<18} " + "   ".join(parts)


def format_identity(status: DeviceStatus) -> str:
    i = status.identity
    t = status.since.astimezone().strftime("%H:%M:%S")
    what = " ".join(p for p in (i.make, i.model) if p) or "device"
    serial = f", serial {i.serial}" if i.serial else ""
    firmware = f", firmware {i.firmware}" if i.firmware else ""
    return f"{t}  {status.device_id:<18} is a {what}{serial}{firmware}"


def format_item(item: BusItem) -> str:
    if isinstance(item, Observation):
        return format_readings([item])
    if isinstance(item, DeviceStatus):
        t = item.since.astimezone().strftime("%H:%M:%S")
        reason = f" ({item.reason})" if item.reason and item.state != DeviceState.ONLINE else ""
        return f"{t}  {item.device_id:<18} is {item.state.value}{reason}"
    assert isinstance(item, DeviceNotice)
    t = item.receive_time.astimezone().strftime("%H:%M:%S")
    return f"{t}  {item.device_id:<18} {item.event.severity.value}: {item.event.message}"
