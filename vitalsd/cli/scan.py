"""``vitalsd scan``: the serial ports on this machine, and which protocol one of them speaks;
with ``--ble``, the Bluetooth LE advertisers nearby (``vitalsd.cli.ble_scan``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict
from typing import Any, TextIO

from vitalsd.cli.ble_scan import DEFAULT_SCAN_S, cmd_scan_ble
from vitalsd.cli.ble_setup import add_ble_arguments
from vitalsd.errors import VitalsdError
from vitalsd.probe import (
    PortInfo,
    ProbeResult,
    best_match,
    list_serial_ports,
    probe_port,
    serial_drivers,
)
from vitalsd.registry import load_drivers

DEFAULT_LISTEN_S = 3.0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "scan",
        help="list serial ports (--probe: which protocol a port speaks; --ble: BLE devices)",
        description=(
            "Lists serial ports with their /dev/serial/by-id names, USB VID:PID, description "
            "and serial number. With --probe PORT, opens PORT with each serial driver's line "
            "settings in turn and listens (read-only; only a driver's declared identification "
            "query is ever sent, never a command that starts a measurement) and reports which "
            "protocol decoded valid frames. With --ble, listens for Bluetooth LE "
            "advertisements and shows each advertiser's address, name, signal and services "
            "with the driver that would serve it."
        ),
    )
    p.add_argument(
        "--probe",
        metavar="PORT",
        help="a device path, /dev/serial/by-id name or socket://host:port to probe",
    )
    p.add_argument(
        "--listen",
        type=float,
        default=DEFAULT_LISTEN_S,
        metavar="S",
        help=f"seconds to listen per driver (default {DEFAULT_LISTEN_S:g})",
    )
    p.add_argument("--driver", action="append", help="probe only this driver (repeatable)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--ble", action="store_true", help="list Bluetooth LE advertisers instead")
    p.add_argument(
        "--seconds",
        type=float,
        default=DEFAULT_SCAN_S,
        metavar="S",
        help=f"with --ble: seconds to listen (default {DEFAULT_SCAN_S:g})",
    )
    add_ble_arguments(p)
    p.set_defaults(func=cmd_scan)


def cmd_scan(args: argparse.Namespace) -> int:
    if args.ble:
        return cmd_scan_ble(args)
    if args.probe is None:
        return print_ports(list_serial_ports(), args.json, sys.stdout)
    if not args.listen > 0:
        raise VitalsdError(f"--listen {args.listen}: must be above 0 seconds")
    drivers = serial_drivers(load_drivers().plugins)
    if args.driver:
        unknown = sorted(set(args.driver) - set(drivers))
        if unknown:
            raise VitalsdError(
                f"unknown serial driver {', '.join(map(repr, unknown))}; "
                f"installed: {', '.join(drivers) or 'none'}"
            )
        drivers = {n: d for n, d in drivers.items() if n in args.driver}
    if not args.json:
        print(  # noqa: T201
            f"probing {args.probe}: {len(drivers)} drivers, {args.listen:g} s each (read-only)",
            flush=True,
        )
    results = asyncio.run(probe_port(args.probe, drivers, args.listen))
    return print_probe(args.probe, results, args.json, sys.stdout)


def _port_doc(p: PortInfo) -> dict[str, Any]:
    doc = asdict(p)
    doc["by_id"] = list(p.by_id)
    return doc


def print_ports(ports: list[PortInfo], as_json: bool, out: TextIO) -> int:
    if as_json:
        out.write(json.dumps({"ports": [_port_doc(p) for p in ports]}, indent=2) + "\n")
        return 0
    if not ports:
        out.write(
            "no serial ports found (no USB-serial adapter plugged in?); "
            "network serial servers are configured as socket://host:port\n"
        )
        return 0
    for p in ports:
        out.write(f"{p.device}\n")
        for name in p.by_id:
            out.write(f"  by-id:       {name}\n")
        out.write(f"  USB VID:PID: {p.vid_pid or '-'}\n")
        out.write(f"  description: {p.description or '-'}\n")
        if p.manufacturer:
            out.write(f"  maker:       {p.manufacturer}\n")
        out.write(f"  serial:      {p.serial_number or '-'}\n")
    return 0


def _result_doc(r: ProbeResult) -> dict[str, Any]:
    doc = asdict(r)
    doc["sent"] = r.sent.hex(" ") if r.sent is not None else None
    doc["matched"] = r.matched
    return doc


def print_probe(port: str, results: list[ProbeResult], as_json: bool, out: TextIO) -> int:
    """Exit 0 when a protocol answered, 1 when none did."""
    best = best_match(results)
    if as_json:
        doc = {
            "port": port,
            "protocol": best.driver if best else None,
            "results": [_result_doc(r) for r in results],
        }
        out.write(json.dumps(doc, indent=2) + "\n")
        return 0 if best else 1
    for r in results:
        mark = "*" if r is best else ("+" if r.matched else " ")
        detail = r.error or f"{r.bytes_read} bytes, {r.frames} frames, {r.rejected} rejected"
        sent = f", sent {r.sent.hex(' ')}" if r.sent is not None else ""
        out.write(f"{mark} {r.driver:<20} {r.settings:<11} {detail}{sent}\n")
    if best is None:
        out.write(
            f"no protocol decoded valid frames on {port} (device off, idle, polled-only, "
            "or another reader on the port?)\n"
        )
        return 1
    out.write(f"{port} speaks {best.driver} ({best.settings})\n")
    return 0
