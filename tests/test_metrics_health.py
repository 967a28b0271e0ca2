"""Output health becomes Prometheus families that the official parser reads back."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from vitalsd.latency import LatencyHistogram
from vitalsd.metrics import _health_families
from vitalsd.output import OutputHealth


class _Health(Collector):
    def __init__(self, health: dict[str, OutputHealth]) -> None:
        self.health = health

    def collect(self) -> Iterator[Metric]:
        yield from _health_families(self.health)


def test_outbox_connection_and_ack_latency_families() -> None:
    latency = LatencyHistogram()
    for seconds in (0.002, 0.02, 0.02, 3.0):
        latency.observe(seconds)
    registry = CollectorRegistry()
    registry.register(
        _Health(
            {
                "ehr": OutputHealth(
                    connected=True, queued=7, dead_letters=1, ack_latency=latency.snapshot()
                ),
                "local-log": OutputHealth(),  # a file output: nothing to say
            }
        )
    )
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(generate_latest(registry).decode())
        for s in fam.samples
    }
    assert samples[("vitalsd_outbox_depth", (("output", "ehr"),))] == 7
    assert samples[("vitalsd_outbox_dead_letters", (("output", "ehr"),))] == 1
    assert samples[("vitalsd_output_connected", (("output", "ehr"),))] == 1
    assert (
        samples[("vitalsd_ack_latency_seconds_bucket", (("le", "0.005"), ("output", "ehr")))] == 1
    )
    assert (
        samples[("vitalsd_ack_latency_seconds_bucket", (("le", "0.025"), ("output", "ehr")))] == 3
    )
    assert samples[("vitalsd_ack_latency_seconds_bucket", (("le", "+Inf"), ("output", "ehr")))] == 4
    assert samples[("vitalsd_ack_latency_seconds_count", (("output", "ehr"),))] == 4
    assert not any(labels == (("output", "local-log"),) for _, labels in samples)
