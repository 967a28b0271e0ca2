"""Home Assistant MQTT discovery: one retained sensor config per metric a device kind reports.

``<prefix>/sensor/<node>/<object>/config`` with ``state_topic`` = the device's observation
topic. All metrics of a device share that topic, so each sensor's ``value_template`` takes
the value only from its own metrics and otherwise keeps its state (``this.state``).
Availability needs both the device's retained status (JSON, ``state`` = ``online``) and
the gateway state (JSON, set ``offline`` by the Last Will), hence ``availability_mode
= all`` with a template on each. Only the JSON payload format is supported (the output's
options refuse ``fhir`` with discovery).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from vitalsd.model import DeviceKind, DeviceStatus, Metric
from vitalsd.mqtt.topics import Topics

_NOT_ID = re.compile(r"[^a-zA-Z0-9_-]")
# The status payload's state is online / offline / error: error is not available either.
_STATUS_AVAILABLE = "{{ 'online' if value_json.state == 'online' else 'offline' }}"


@dataclass(frozen=True, slots=True)
class Sensor:
    object_id: str
    name: str
    metrics: tuple[Metric, ...]
    unit: str
    device_class: str | None = None


_TEMPS = (
    Metric.TEMP_BODY,
    Metric.TEMP_ORAL,
    Metric.TEMP_TYMPANIC,
    Metric.TEMP_EAR,
    Metric.TEMP_AXILLARY,
    Metric.TEMP_RECTAL,
    Metric.TEMP_TEMPORAL,
)
SYS = Sensor("bp_systolic", "Systolic", (Metric.BP_SYSTOLIC,), "mmHg", "pressure")
DIA = Sensor("bp_diastolic", "Diastolic", (Metric.BP_DIASTOLIC,), "mmHg", "pressure")
MEAN = Sensor("bp_mean", "Mean arterial pressure", (Metric.BP_MEAN,), "mmHg", "pressure")
NIBP_PULSE = Sensor("pulse_rate_nibp", "Pulse rate", (Metric.PULSE_RATE_NIBP,), "bpm")
SPO2 = Sensor("spo2", "SpO2", (Metric.SPO2,), "%")
OX_PULSE = Sensor("pulse_rate_oximeter", "Pulse rate", (Metric.PULSE_RATE_OXIMETER,), "bpm")
PI = Sensor("perfusion_index", "Perfusion index", (Metric.PERFUSION_INDEX,), "%")
TEMP = Sensor("temperature", "Temperature", _TEMPS, "°C", "temperature")
WEIGHT = Sensor("body_weight", "Weight", (Metric.BODY_WEIGHT,), "kg", "weight")
HEIGHT = Sensor("body_height", "Height", (Metric.BODY_HEIGHT,), "cm", "distance")
BMI = Sensor("bmi", "BMI", (Metric.BMI,), "kg/m²")
RESP = Sensor("resp_rate", "Respiration rate", (Metric.RESP_RATE,), "breaths/min")
GLUCOSE = Sensor("glucose", "Glucose", (Metric.GLUCOSE,), "mg/dL")

# Units are the canonical units normalization gives each metric (vitalsd.normalize.codes).
SENSORS: dict[DeviceKind, tuple[Sensor, ...]] = {
    DeviceKind.BLOOD_PRESSURE: (SYS, DIA, MEAN, NIBP_PULSE),
    DeviceKind.PULSE_OXIMETER: (SPO2, OX_PULSE, PI),
    DeviceKind.THERMOMETER: (TEMP,),
    DeviceKind.SCALE: (WEIGHT, HEIGHT, BMI),
    DeviceKind.GLUCOSE_METER: (GLUCOSE,),
    DeviceKind.MULTI_PARAMETER: (SYS, DIA, MEAN, NIBP_PULSE, SPO2, OX_PULSE, PI, TEMP, RESP),
}


def ident(*parts: str) -> str:
    """An id HA accepts in a discovery topic: ``[a-zA-Z0-9_-]`` only."""
    return _NOT_ID.sub("_", "_".join(parts))


def value_template(metrics: tuple[Metric, ...]) -> str:
    names = ", ".join(f"'{m.value}'" for m in metrics)
    return f"{{{{ value_json.value if value_json.metric in [{names}] else this.state }}}}"


def discovery_messages(
    s: DeviceStatus, topics: Topics, prefix: str, gateway_topic: str
) -> list[tuple[str, bytes]]:
    """(topic, payload) of every retained config message for one device."""
    node = ident("vitalsd", topics.site, s.device_id)
    i = s.identity
    device: dict[str, Any] = {
        "identifiers": [node],
        "name": s.device_id,
        "manufacturer": i.make or "unknown",
        "model": i.model or s.device_kind.value.replace("_", " "),
    }
    if i.serial:
        device["serial_number"] = i.serial
    if i.firmware:
        device["sw_version"] = i.firmware
    if s.location.room:
        device["suggested_area"] = s.location.room
    out = []
    for sensor in SENSORS[s.device_kind]:
        config: dict[str, Any] = {
            "name": sensor.name,
            "unique_id": ident(node, sensor.object_id),
            "object_id": ident(node, sensor.object_id),
            "state_topic": topics.observation(s.location.room, s.device_id),
            "value_template": value_template(sensor.metrics),
            "unit_of_measurement": sensor.unit,
            "state_class": "measurement",
            "availability": [
                {
                    "topic": topics.status(s.location.room, s.device_id),
                    "value_template": _STATUS_AVAILABLE,
                },
                {"topic": gateway_topic, "value_template": "{{ value_json.state }}"},
            ],
            "availability_mode": "all",
            "payload_available": "online",
            "payload_not_available": "offline",
            "device": device,
        }
        if sensor.device_class is not None:
            config["device_class"] = sensor.device_class
        topic = f"{prefix}/sensor/{node}/{sensor.object_id}/config"
        out.append((topic, json.dumps(config, ensure_ascii=False).encode()))
    return out
