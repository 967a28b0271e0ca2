"""``vitalsd scan --ble``: who advertises nearby, and which driver (and configured device)
would serve each."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, TextIO

from vitalsd.cli.ble_setup import ble_setup, setup_factory
from vitalsd.driver import Driver
from vitalsd.errors import VitalsdError
from vitalsd.links.ble_hints import short_uuid
from vitalsd.links.ble_pool import CentralFactory
from vitalsd.links.gatt import Advertisement, BleTarget

DEFAULT_SCAN_S = 10.0


@dataclass(frozen=True, slots=True)
class Advertiser:
    adv: Advertisement  # everything seen from it, merged
    reports: int
    drivers: tuple[str, ...]  # drivers whose ble_advertised patterns match
    devices: tuple[str, ...]  # configured device ids whose [devices.ble] matches


def merge(old: Advertisement | None, new: Advertisement) -> Advertisement:
    """One view of a device from many reports: adverts and scan responses carry
    different fields, and a later report lacking a field does not erase it."""
    if old is None:
        return new
    return replace(
        new,
        name=new.name or old.name,
        rssi=new.rssi if new.rssi is not None else old.rssi,
        service_uuids=tuple(dict.fromkeys((*old.service_uuids, *new.service_uuids))),
        service_data={**old.service_data, **new.service_data},
        manufacturer_data={**old.manufacturer_data, **new.manufacturer_data},
    )


def serving_drivers(adv: Advertisement, drivers: Mapping[str, type[Driver]]) -> tuple[str, ...]:
    return tuple(
        sorted(name for name, d in drivers.items() if any(t.matches(adv) for t in d.ble_advertised))
    )


async def scan_ble(
    factory: CentralFactory,
    adapter: str,
    seconds: float,
    drivers: Mapping[str, type[Driver]],
    devices: Mapping[str, BleTarget] | None = None,
) -> tuple[str, list[Advertiser]]:
    """Listen for ``seconds``; return the central's description and what was seen,
    strongest signal first."""
    central = factory(adapter)
    seen: dict[str, Advertisement] = {}
    counts: dict[str, int] = {}
    try:
        await central.start()
        stream = central.advertisements()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                async for adv in stream:
                    seen[adv.address] = merge(seen.get(adv.address), adv)
                    counts[adv.address] = counts.get(adv.address, 0) + 1
    finally:
        await central.close()
    found = [
        Advertiser(
            adv,
            counts[address],
            serving_drivers(adv, drivers),
            tuple(sorted(i for i, t in (devices or {}).items() if t.matches(adv))),
        )
        for address, adv in seen.items()
    ]
    found.sort(key=lambda a: (-(a.adv.rssi if a.adv.rssi is not None else -999), a.adv.address))
    return central.description, found


def _services(adv: Advertisement) -> list[str]:
    return [short_uuid(u) for u in dict.fromkeys((*adv.service_uuids, *adv.service_data))]


def advertiser_doc(a: Advertiser) -> dict[str, Any]:
    return {
        "address": a.adv.address,
        "name": a.adv.name,
        "rssi": a.adv.rssi,
        "services": _services(a.adv),
        "manufacturer_ids": [f"0x{k:04X}" for k in a.adv.manufacturer_data],
        "reports": a.reports,
        "drivers": list(a.drivers),
        "configured_as": list(a.devices),
    }


def print_advertisers(
    where: str, seconds: float, found: list[Advertiser], as_json: bool, out: TextIO
) -> int:
    if as_json:
        doc = {
            "adapter": where,
            "seconds": seconds,
            "advertisers": [advertiser_doc(a) for a in found],
        }
        out.write(json.dumps(doc, indent=2) + "\n")
        return 0
    if not found:
        out.write(
            f"no BLE advertisers heard in {seconds:g} s on {where}: most medical devices "
            "advertise only for a short while after a measurement or a button press\n"
        )
        return 0
    for a in found:
        rssi = f"{a.adv.rssi} dBm" if a.adv.rssi is not None else "? dBm"
        out.write(f"{a.adv.address}  {rssi:>8}  {a.adv.name or '(no name)'}\n")
        services = _services(a.adv)
        if services:
            out.write(f"  services: {' '.join(services)}\n")
        if a.adv.manufacturer_data:
            ids = " ".join(f"0x{k:04X}" for k in a.adv.manufacturer_data)
            out.write(f"  manufacturer: {ids}\n")
        out.write(f"  driver:   {', '.join(a.drivers) if a.drivers else '(none installed)'}\n")
        if a.devices:
            out.write(f"  configured as: {', '.join(a.devices)}\n")
    out.write(f"{len(found)} advertiser(s) in {seconds:g} s on {where}\n")
    return 0


def cmd_scan_ble(args: argparse.Namespace) -> int:
    if not args.seconds > 0:
        raise VitalsdError(f"--seconds {args.seconds}: must be above 0")
    setup = ble_setup(args)
    devices = {}
    if setup.config is not None:
        devices = {
            d.id: d.ble.target(setup.ble.adapter) for d in setup.config.devices if d.ble is not None
        }
    if not args.json:
        print(f"listening {args.seconds:g} s on {setup.adapter} ...", flush=True)  # noqa: T201
    where, found = asyncio.run(
        scan_ble(setup_factory(setup), setup.adapter, args.seconds, setup.drivers, devices)
    )
    return print_advertisers(where, args.seconds, found, args.json, sys.stdout)
