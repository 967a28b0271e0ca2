"""``vitalsd-sim ble-oximeter MODEL`` and ``vitalsd-sim ble-mi-scale``: the streaming
oximeters and the advertisement-only Mi scale on a real HCI dongle.

As ``ble-health``: the peripheral runs on an adapter given as a bumble transport
(``usb:0``, ``serial:/dev/ttyACM0``, ``tcp-client:127.0.0.1:9000``); the first line on
stdout is a JSON object announcing readiness; it serves until interrupted. An oximeter
streams its vendor frames to whoever subscribes (ble-health.md §3.10); a Mi scale
broadcasts one weighing at start and then one every ``--every`` seconds (§4.2 #5: it
advertises only while someone stands on it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from bumble.link import LocalLink

from simulators.ble.oximeters import MODELS, OximeterScenario, SimulatedOximeter
from simulators.ble.xiaomi_scale import SimulatedMiScale, Weighing

_LOGGER = logging.getLogger("vitalsd-sim.ble")
Serve = Callable[[argparse.Namespace, LocalLink | None], Coroutine[Any, Any, int]]


def _ready(**fields: object) -> None:
    print(json.dumps({"ready": True, **fields}), flush=True)  # noqa: T201 - readiness line


async def serve_oximeter(args: argparse.Namespace, link: LocalLink | None = None) -> int:
    """Run until cancelled; ``link`` replaces the transport (tests)."""
    scenario = OximeterScenario(
        spo2=args.spo2, pulse=args.pulse, split=args.split, drop_after=args.drop_after
    )
    async with SimulatedOximeter(
        MODELS[args.model],
        link=link,
        transport=None if link is not None else args.transport,
        address=args.address,
        scenario=scenario,
        finger_out=args.finger_out,
    ) as oximeter:
        _ready(model=args.model, address=args.address)
        try:
            await asyncio.Event().wait()
        finally:
            _LOGGER.info("served %d connections", oximeter.connections)
    return 0  # pragma: no cover - only cancellation ends the wait


async def serve_mi_scale(args: argparse.Namespace, link: LocalLink | None = None) -> int:
    """Weigh ``--kg`` now and every ``--every`` seconds until cancelled."""
    async with SimulatedMiScale(
        link=link,
        transport=None if link is not None else args.transport,
        address=args.address,
        model=args.model,
        dwell=args.dwell,
    ) as scale:
        _ready(model=args.model, address=args.address)
        while True:
            now = datetime.now().astimezone().replace(tzinfo=None)
            await scale.weigh(Weighing(args.kg, now.replace(microsecond=0), impedance=455))
            await asyncio.sleep(args.every)


def _common(p: argparse.ArgumentParser, address: str, serve: Serve) -> None:
    p.add_argument("--transport", required=True, help="bumble HCI transport, e.g. usb:0")
    p.add_argument("--address", default=address, help="static random address")
    p.set_defaults(func=lambda args: _main(args, serve))


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds ``ble-oximeter`` and ``ble-mi-scale`` to ``vitalsd-sim``."""
    ox = subparsers.add_parser(
        "ble-oximeter",
        help="a Bluetooth LE oximeter streaming vendor frames (Nonin, BerryMed, ...)",
        description="A simulated streaming BLE pulse oximeter on a real HCI dongle.",
    )
    ox.add_argument("model", choices=sorted(MODELS), help="which oximeter to be")
    ox.add_argument("--spo2", type=int, default=97, help="SpO2 %% to report")
    ox.add_argument("--pulse", type=int, default=72, help="pulse rate /min to report")
    ox.add_argument("--finger-out", action="store_true", help="report no finger")
    faults = ox.add_argument_group("faults")
    faults.add_argument("--drop-after", type=int, help="hang up after N frames, once")
    faults.add_argument("--split", action="store_true", help="split frames over notifications")
    _common(ox, "C0:0B:1E:00:00:01", serve_oximeter)
    mi = subparsers.add_parser(
        "ble-mi-scale",
        help="a Xiaomi Mi scale broadcasting weighings (advertisement only)",
        description="A simulated Mi (body composition) scale on a real HCI dongle.",
    )
    mi.add_argument("--model", choices=("v1", "v2"), default="v2", help="Mi Scale generation")
    mi.add_argument("--kg", type=float, default=72.4, help="the weight to broadcast")
    mi.add_argument("--every", type=float, default=60.0, help="seconds between weighings")
    mi.add_argument("--dwell", type=float, default=0.5, help="seconds per advertised payload")
    _common(mi, "C0:0B:1E:00:00:02", serve_mi_scale)


def _main(args: argparse.Namespace, serve: Serve) -> int:
    logging.basicConfig(level=logging.INFO, format="vitalsd-sim: %(message)s", stream=sys.stderr)
    try:
        return asyncio.run(serve(args, None))
    except KeyboardInterrupt:
        return 0
    except Exception as err:  # noqa: BLE001 - a transport that cannot open, said plainly
        print(f"vitalsd-sim {args.protocol}: {err}", file=sys.stderr)  # noqa: T201
        return 1
