"""Prometheus metrics of a running daemon, read from its live state at scrape time.

A custom collector rather than counters sprinkled through the core: the supervisor and
bus already count what matters, so a scrape just reads them. Only readings by metric
need a watcher on the bus, because sessions count them per device only.
"""

from __future__ import annotations

import logging
import platform
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
)
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from vitalsd import __version__
from vitalsd.model import BusItem, DeviceState, Observation
from vitalsd.output import OutputHealth

if TYPE_CHECKING:
    from vitalsd.app import Daemon

_LOGGER = logging.getLogger(__name__)


class DaemonCollector(Collector):
    def __init__(self, daemon: Daemon) -> None:
        self._daemon = daemon
        # Kept across reloads on purpose: a counter must never go backwards.
        self._readings: Counter[tuple[str, str]] = Counter()
        daemon.watchers.append(self._observe)

    def _observe(self, item: BusItem) -> None:
        if isinstance(item, Observation):
            self._readings[(item.device_id, item.metric.value)] += 1

    def collect(self) -> Iterator[Metric]:
        d = self._daemon
        readings = CounterMetricFamily(
            "vitalsd_readings",
            "Readings accepted and handed to outputs",
            labels=["device", "metric"],
        )
        for (device, metric), n in sorted(self._readings.items()):
            readings.add_metric([device, metric], n)
        yield readings

        up = GaugeMetricFamily(
            "vitalsd_device_up", "1 while the device is online", labels=["device", "driver"]
        )
        rejected = CounterMetricFamily(
            "vitalsd_readings_rejected",
            "Readings decoded but refused by normalization (implausible, bad unit)",
            labels=["device"],
        )
        reconnects = CounterMetricFamily(
            "vitalsd_device_reconnects", "Connections lost and retried", labels=["device"]
        )
        decode_errors = CounterMetricFamily(
            "vitalsd_device_decode_errors",
            "Frames rejected as corrupt (bad checksum, cut or garbled)",
            labels=["device"],
        )
        for s in d.sessions:
            online = s.status.state == DeviceState.ONLINE
            up.add_metric([s.device_id, s.spec.profile.driver], 1.0 if online else 0.0)
            rejected.add_metric([s.device_id], s.rejected)
            reconnects.add_metric([s.device_id], s.reconnects)
            decode_errors.add_metric([s.device_id], s.decode_errors)
        yield from (up, rejected, reconnects, decode_errors)

        depth = GaugeMetricFamily(
            "vitalsd_output_queue_depth",
            "Items accepted and not yet taken by the output",
            labels=["output"],
        )
        for name, n in d.bus.pending().items():
            depth.add_metric([name], n)
        yield depth
        families = {
            "delivered": "Items the output took",
            "rejected": "Items the output refused for good",
            "retries": "Failed attempts retried",
            "overflowed": "Items not queued because the output queue was full",
        }
        stats = d.bus.outputs
        for field, doc in families.items():
            fam = CounterMetricFamily(f"vitalsd_output_{field}", doc, labels=["output"])
            for name, st in stats.items():
                fam.add_metric([name], getattr(st, field))
            yield fam
        failing = GaugeMetricFamily(
            "vitalsd_output_failing", "1 while the output cannot deliver", labels=["output"]
        )
        for name, st in stats.items():
            failing.add_metric([name], 0.0 if st.failing_since is None else 1.0)
        yield failing

        yield from _health_families(d.bus.health())

        info = GaugeMetricFamily(
            "vitalsd_build_info", "vitalsd version", labels=["version", "python"]
        )
        info.add_metric([__version__, platform.python_version()], 1.0)
        yield info


def _health_families(health: dict[str, OutputHealth]) -> Iterator[Metric]:
    """What outputs report of themselves: durable outbox, connection, ACK round trips."""
    outbox = GaugeMetricFamily(
        "vitalsd_outbox_depth", "Messages in the durable outbox, not yet ACKed", labels=["output"]
    )
    dead = GaugeMetricFamily(
        "vitalsd_outbox_dead_letters", "Messages the receiver refused for good", labels=["output"]
    )
    connected = GaugeMetricFamily(
        "vitalsd_output_connected", "1 while the output's connection is up", labels=["output"]
    )
    latency = HistogramMetricFamily(
        "vitalsd_ack_latency_seconds", "Send to positive ACK, per message", labels=["output"]
    )
    for name, h in sorted(health.items()):
        if h.queued is not None:
            outbox.add_metric([name], h.queued)
        if h.dead_letters is not None:
            dead.add_metric([name], h.dead_letters)
        if h.connected is not None:
            connected.add_metric([name], 1.0 if h.connected else 0.0)
        if h.ack_latency is not None:
            buckets = [
                ("+Inf" if bound == float("inf") else repr(bound), count)
                for bound, count in h.ack_latency.buckets
            ]
            latency.add_metric([name], buckets, sum_value=h.ack_latency.total)
    yield from (outbox, dead, connected, latency)


def metrics_registry(daemon: Daemon) -> CollectorRegistry:
    """A registry of its own per daemon (tests run several), plus process metrics."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DaemonCollector(daemon))
    for standard in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        registry.register(standard)
    return registry
