"""``vitalsd tail``: follow live observations on the broker, for a site or one room.

Reads the same topics the mqtt output writes (``vitalsd.mqtt.topics``) and prints one
line per reading; ``--json`` prints the payloads as they are. Reconnects on its own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

import aiomqtt

from vitalsd.backoff import Backoff
from vitalsd.mqtt.client import TlsFiles, client_ssl_context, describe
from vitalsd.mqtt.topics import Topics


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "tail",
        help="follow live observations on the MQTT broker for a site or room",
        description="Subscribes to the observations vitalsd publishes and prints them.",
    )
    p.add_argument("--site", required=True, help="site id ([site] id in the config)")
    p.add_argument("--room", help="only this room")
    p.add_argument("--host", default="localhost")
    p.add_argument("--port", type=int, help="default 1883, or 8883 with --ca-file")
    p.add_argument("--base-topic", default="vitalsd")
    p.add_argument("--username")
    p.add_argument("--password")
    p.add_argument("--ca-file", type=Path, help="use TLS, trusting this CA")
    p.add_argument("--cert-file", type=Path, help="TLS client certificate")
    p.add_argument("--key-file", type=Path, help="TLS client key")
    p.add_argument("--json", action="store_true", help="print the payloads as JSON lines")
    p.add_argument("--count", type=int, help="exit after this many observations")
    p.set_defaults(func=cmd_tail)


def format_line(doc: dict[str, Any]) -> str:
    """One reading per line: time, room, device, metric, value and unit, flags."""
    room = doc.get("context", {}).get("location", {}).get("room") or "-"
    flags = f"  [{', '.join(doc['flags'])}]" if doc.get("flags") else ""
    return (
        f"{doc.get('time', '?')}  {room:<10} {doc.get('device_id', '?'):<16} "
        f"{doc.get('metric', '?'):<20} {doc.get('value')} {doc.get('unit', '')}{flags}"
    )


async def _tail(args: argparse.Namespace) -> int:
    topics = Topics(args.base_topic, args.site)
    tls = None
    if args.ca_file or args.cert_file:
        tls = client_ssl_context(TlsFiles(args.ca_file, args.cert_file, args.key_file))
    port = args.port or (8883 if tls else 1883)
    seen = 0
    backoff = Backoff(0.5, 10.0)
    last_error = None
    while True:
        try:
            async with aiomqtt.Client(
                args.host,
                port,
                username=args.username,
                password=args.password,
                tls_context=tls,
            ) as client:
                await client.subscribe(topics.observations_filter(args.room), qos=1)
                print(f"# following {topics.observations_filter(args.room)}", file=sys.stderr)  # noqa: T201
                backoff.reset()
                last_error = None
                async for message in client.messages:
                    try:
                        doc = json.loads(message.payload)
                    except (TypeError, ValueError):
                        continue  # not one of ours
                    print(json.dumps(doc) if args.json else format_line(doc), flush=True)  # noqa: T201
                    seen += 1
                    if args.count and seen >= args.count:
                        return 0
        except aiomqtt.MqttError as err:
            what = describe(err)
            if what != last_error:
                print(f"vitalsd tail: {args.host}:{port}: {what}; retrying", file=sys.stderr)  # noqa: T201
                last_error = what
        await asyncio.sleep(backoff.next_delay())


def cmd_tail(args: argparse.Namespace) -> int:
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(_tail(args))
    return 130
