"""``vitalsd-sim ble-health KIND``: a simulated health device on a real HCI dongle.

For bench tests of a gateway with its own adapter: the peripheral runs on a second
adapter given as a bumble transport (``usb:0``, ``serial:/dev/ttyACM0``,
``tcp-client:127.0.0.1:9000``) and holds a few stored records (one a failed, all-NaN
try) plus one taken just now. The first line on stdout is a JSON object announcing
readiness; the device serves sessions until interrupted. With ``--advertise-window`` it
advertises only in a window after start and after each SIGUSR1 (its button), as a real
cuff or scale does (ble-health.md §4.2 #1).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from datetime import datetime, timedelta

from bumble.link import LocalLink

from simulators.ble import health_records as rec
from simulators.ble.health_devices import KINDS, running
from simulators.ble.health_peripheral import Knobs, StoredRecord
from simulators.ble.sig_fields import Number, Special

_LOGGER = logging.getLogger("vitalsd-sim.ble-health")


def demo_records(kind: str, now: datetime) -> list[StoredRecord]:
    """Two readings from yesterday, a failed try where the device keeps them, one fresh."""
    times = [now - timedelta(days=1, hours=2), now - timedelta(days=1), now - timedelta(minutes=1)]
    nan = Special.NAN
    values: list[bytes]
    if kind in ("blood_pressure", "and_ua651ble", "omron_bp"):
        readings: tuple[tuple[Number, Number, Number, Number], ...] = (
            (128, 82, 97, 66),
            (nan, nan, nan, nan),
            (121, 79, 93, 70),
        )
        values = [
            rec.blood_pressure(s, d, m, time=t, pulse=p)
            for (s, d, m, p), t in zip(readings, times, strict=True)
        ]
    elif kind == "thermometer":
        values = [
            rec.temperature(v, time=t, site=6)
            for v, t in zip(("36.8", "37.1", "36.6"), times, strict=True)
        ]
    elif kind in ("weight_scale", "and_uc352ble"):
        values = [
            rec.weight(v, time=t) for v, t in zip(("81.25", "81.4", "80.95"), times, strict=True)
        ]
    elif kind == "body_composition_scale":
        composition = [
            rec.body_composition("24.5", time=t, user=1, impedance_ohm="455.0", kilograms=v)
            for v, t in zip(("81.25", "81.4", "80.95"), times, strict=True)
        ]
        return [
            StoredRecord(data, n, characteristic=0x2A9C) for n, data in enumerate(composition, 1)
        ]
    elif kind == "pulse_oximeter":
        values = [
            rec.plx_spot_check(s, p, time=t)
            for (s, p), t in zip(((97, 64), (95, 71), (98, 68)), times, strict=True)
        ]
    else:
        values = [
            rec.glucose(n, t, v)
            for n, (v, t) in enumerate(zip((96, 131, 104), times, strict=True), 1)
        ]
    return [StoredRecord(data, n) for n, data in enumerate(values, 1)]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds ``ble-health`` to ``vitalsd-sim``."""
    p = subparsers.add_parser(
        "ble-health",
        help="a Bluetooth LE health device (SIG profiles, A&D, Omron) on an HCI dongle",
        description="A simulated Bluetooth LE health device on a real HCI dongle, for "
        "bench tests of a gateway: stored records (one a failed, all-NaN try) and a fresh one.",
    )
    p.add_argument("kind", choices=KINDS, help="which device to be")
    p.add_argument("--transport", required=True, help="bumble HCI transport, e.g. usb:0")
    p.add_argument("--address", default="C0:11:22:33:44:55", help="static random address")
    p.add_argument("--name", help="advertised name (default: the device's own style)")
    faults = p.add_argument_group("faults")
    faults.add_argument("--drop-after", type=int, help="hang up after N records, once")
    faults.add_argument("--racp-error", type=lambda t: int(t, 0), help="answer RACP with CODE")
    faults.add_argument("--record-delay", type=float, default=0.0, help="seconds per record")
    faults.add_argument(
        "--split", action="store_true", help="send Body Composition records as two packets"
    )
    p.add_argument(
        "--advertise-window",
        type=float,
        default=None,
        metavar="SECONDS",
        help="advertise only this long after start and after each SIGUSR1 (the device's "
        "button), as real devices do; default: advertise always",
    )
    p.set_defaults(func=main_args)


async def serve(args: argparse.Namespace, *, link: LocalLink | None = None) -> int:
    """Run until cancelled; ``link`` replaces the transport (tests)."""
    knobs = Knobs(
        drop_after=args.drop_after,
        racp_error=args.racp_error,
        record_delay=args.record_delay,
        advertise_window=args.advertise_window,
        split_body_composition=args.split,
    )
    now = datetime.now().astimezone().replace(tzinfo=None)
    async with running(
        link,
        args.kind,
        transport=None if link is not None else args.transport,
        address=args.address,
        name=args.name,
        stored=demo_records(args.kind, now),
        knobs=knobs,
    ) as peripheral:
        button = asyncio.Event()
        loop = asyncio.get_running_loop()
        if link is None:  # a bench user presses the button with ``kill -USR1``
            loop.add_signal_handler(signal.SIGUSR1, button.set)
        ready = {"ready": True, "kind": args.kind, "address": args.address}
        print(json.dumps(ready), flush=True)  # noqa: T201 - the readiness line
        try:
            while True:
                await button.wait()
                button.clear()
                await peripheral.press_button()
        finally:
            _LOGGER.info("served %d connections", peripheral.recorded.connections)
            if link is None:
                loop.remove_signal_handler(signal.SIGUSR1)


def main_args(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="vitalsd-sim: %(message)s", stream=sys.stderr)
    try:
        return asyncio.run(serve(args))
    except KeyboardInterrupt:
        return 0
    except Exception as err:  # noqa: BLE001 - a transport that cannot open, said plainly
        print(f"vitalsd-sim ble-health: {err}", file=sys.stderr)  # noqa: T201
        return 1
