"""The published JSON Schema of the MQTT payloads, generated from ``vitalsd.mqtt.payload``.

``python -m vitalsd.mqtt.schema docs/mqtt-payload.schema.json`` rewrites the file;
``tests/test_mqtt_payload.py`` fails when the committed file differs from this output.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from vitalsd.mqtt.payload import PAYLOAD_ADAPTER, PAYLOAD_VERSION

SCHEMA_ID = "https://vitalsd.example/schemas/mqtt-payload.v1.json"


def payload_schema() -> dict[str, Any]:
    schema = PAYLOAD_ADAPTER.json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"vitalsd MQTT payload, version {PAYLOAD_VERSION}",
        "description": (
            "One JSON document per MQTT message: 'observation' on .../observation, 'status' "
            "(retained) on .../status, 'event' on .../event, 'gateway' (retained, Last Will) "
            "on .../gateway. 'type' tells them apart, 'v' is the payload version."
        ),
        **schema,
    }


def schema_text() -> str:
    return json.dumps(payload_schema(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m vitalsd.mqtt.schema PATH", file=sys.stderr)  # noqa: T201
        return 2
    Path(argv[0]).write_text(schema_text(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
