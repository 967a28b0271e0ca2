"""Which observations make one ORU^R01: the report rules, with time passed in (pure, testable).

- Readings that share a ``group`` (a cuff's systolic, diastolic, mean and pulse; a scale's
  weight and BMI) are ONE report. A group is complete when the next reading of that device
  belongs elsewhere, when a blood-pressure group holds all four values, or ``group_window``
  seconds after its first reading — the bus hands a group's readings over one by one.
- A continuous oximeter's samples (grouped per line or not) become a periodic summary:
  the latest value of each metric, once per ``summary_interval`` per device, not a
  message per sample.
- Any other ungrouped reading is a report of its own, at once.

A report never mixes devices or contexts (the encoder refuses that), so a change of
patient or location closes whatever is held for that device first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vitalsd.model import Context, DeviceKind, Metric, Observation

Report = tuple[Observation, ...]

_BP_COMPLETE = frozenset(
    {Metric.BP_SYSTOLIC, Metric.BP_DIASTOLIC, Metric.BP_MEAN, Metric.PULSE_RATE_NIBP}
)


@dataclass(slots=True)
class _Held:
    device_id: str
    group: str | None  # None: an oximeter summary
    context: Context
    due: float
    readings: dict[Metric, Observation] | list[Observation] = field(default_factory=list)

    def report(self) -> Report:
        if isinstance(self.readings, dict):
            return tuple(self.readings.values())
        return tuple(self.readings)


def is_continuous_sample(obs: Observation) -> bool:
    # A streaming oximeter groups each line's values (SpO2, pulse, PI of one second), but
    # one line is still one sample of a continuous stream: it goes into the summary.
    return obs.device_kind is DeviceKind.PULSE_OXIMETER and not obs.stored


class ReportBatcher:
    def __init__(self, *, summary_interval: float = 60.0, group_window: float = 2.0) -> None:
        if summary_interval <= 0 or group_window <= 0:
            raise ValueError("summary_interval and group_window must be positive")
        self.summary_interval = summary_interval
        self.group_window = group_window
        self._held: dict[tuple[str, str | None], _Held] = {}  # insertion order = age

    def add(self, obs: Observation, now: float) -> list[Report]:
        """Take one reading; return the reports it completes (oldest first)."""
        out: list[Report] = []
        continuous = is_continuous_sample(obs)
        key = (obs.device_id, None if continuous else obs.group)
        # Whatever this device holds under another group or another context is complete.
        for other_key, held in list(self._held.items()):
            if held.device_id != obs.device_id:
                continue
            summary_goes_on = held.group is None and continuous
            if (other_key != key and not summary_goes_on) or held.context != obs.context:
                out.append(self._held.pop(other_key).report())
        if continuous:
            held = self._held.get(key) or self._hold(obs, now + self.summary_interval, {}, None)
            assert isinstance(held.readings, dict)
            held.readings[obs.metric] = obs  # the latest of each metric
            return out
        if obs.group is None:
            out.append((obs,))
            return out
        held = self._held.get(key) or self._hold(obs, now + self.group_window, [], obs.group)
        assert isinstance(held.readings, list)
        held.readings.append(obs)
        if (
            obs.device_kind is DeviceKind.BLOOD_PRESSURE
            and {o.metric for o in held.readings} >= _BP_COMPLETE
        ):
            out.append(self._held.pop(key).report())
        return out

    def _hold(
        self,
        obs: Observation,
        due: float,
        readings: dict[Metric, Observation] | list[Observation],
        group: str | None,
    ) -> _Held:
        held = _Held(obs.device_id, group, obs.context, due, readings)
        self._held[(obs.device_id, group)] = held
        return held

    def due(self, now: float) -> list[Report]:
        """Reports whose window has closed by ``now``."""
        keys = [k for k, h in self._held.items() if h.due <= now]
        return [self._held.pop(k).report() for k in keys]

    def next_due(self) -> float | None:
        return min((h.due for h in self._held.values()), default=None)

    def held(self) -> list[Observation]:
        """Every reading held right now (what would be lost if it lived only here)."""
        return [obs for h in self._held.values() for obs in h.report()]

    def drain(self) -> list[Report]:
        """Everything held, as reports (on shutdown: nothing accepted is lost)."""
        out = [h.report() for h in self._held.values()]
        self._held.clear()
        return out

    def __len__(self) -> int:
        return len(self._held)
