"""``vitalsd pair``: bond a BLE device to this gateway, for clinic IT, with guidance when
it fails (not in pairing mode, bond held by a phone, passkey needing an agent)."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from typing import TextIO

from vitalsd.cli.ble_setup import BleSetup, add_ble_arguments, ble_setup, setup_factory
from vitalsd.errors import BlePairingError, DeviceError, VitalsdError
from vitalsd.links.ble_pool import CentralFactory
from vitalsd.links.gatt import Advertisement, BleTarget

DEFAULT_WAIT_S = 60.0
_ADDRESS = re.compile(r"[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}")

PAIRING_MODE_HINT = (
    "Put the device in pairing mode first: Omron, hold the Bluetooth button until '-P-' "
    "blinks; A&D, hold START until 'Pr' shows; others, see the manual."
)
GUIDANCE = f"""\
If pairing fails:
  - {PAIRING_MODE_HINT}
  - A device bonds to one host at a time: remove it from any phone or tablet (Bluetooth
    settings and the vendor app) and from any other gateway, then retry.
  - A device that shows a passkey needs BlueZ's agent; pair it once by hand:
        bluetoothctl
        agent KeyboardOnly
        default-agent
        pair <address>      (type the passkey the device shows)
        trust <address>
  - Stop the daemon while pairing (systemctl stop vitalsd): one owner per adapter."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "pair",
        help="bond a Bluetooth LE device to this gateway",
        description=(
            "Waits for the device to advertise, connects and pairs (bonding), so that "
            "the daemon can read it later. DEVICE is a configured device id (needs -c) or "
            "a Bluetooth address.\n\n" + GUIDANCE
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("device", metavar="DEVICE", help="device id from the config, or AA:BB:..")
    p.add_argument(
        "--seconds",
        type=float,
        default=DEFAULT_WAIT_S,
        metavar="S",
        help=f"how long to wait for the device to advertise (default {DEFAULT_WAIT_S:g})",
    )
    add_ble_arguments(p)
    p.set_defaults(func=cmd_pair)


def resolve_target(device: str, setup: BleSetup) -> BleTarget:
    """A Bluetooth address as given, or the [devices.ble] of a configured device."""
    if _ADDRESS.fullmatch(device):
        return BleTarget(address=device.replace("-", ":").upper(), adapter=setup.adapter)
    if setup.config is None:
        raise VitalsdError(
            f"'{device}' is not a Bluetooth address (AA:BB:CC:DD:EE:FF); to pair a "
            "configured device by id, give the config with -c"
        )
    ble_ids = [d.id for d in setup.config.devices if d.ble is not None]
    for d in setup.config.devices:
        if d.id == device:
            if d.ble is None:
                raise VitalsdError(f"device '{device}' is a serial device: nothing to pair")
            return d.ble.target(setup.adapter)
    raise VitalsdError(
        f"no device '{device}' in {setup.config.sources[0] if setup.config.sources else '-c'}; "
        f"BLE devices there: {', '.join(ble_ids) or 'none'}"
    )


async def pair_device(
    factory: CentralFactory, target: BleTarget, seconds: float, out: TextIO
) -> Advertisement:
    """Find, connect, pair (bonding) and disconnect; raise ``VitalsdError`` with guidance."""
    central = factory(target.adapter or "hci0")
    try:
        await central.start()
        out.write(f"waiting up to {seconds:g} s for {target.describe()} to advertise ...\n")
        out.flush()
        try:
            async with asyncio.timeout(seconds):
                async for adv in central.advertisements():
                    if target.matches(adv):
                        break
        except TimeoutError:
            raise VitalsdError(
                f"{target.describe()} did not advertise within {seconds:g} s on "
                f"{central.description}. {PAIRING_MODE_HINT} Keep it within a few metres."
            ) from None
        out.write(f"found {adv.address} {adv.name or ''}; connecting ...\n")
        out.flush()
        try:
            conn = await central.connect(adv.address)
        except DeviceError as err:
            raise VitalsdError(f"{err}\n{GUIDANCE}") from None
        try:
            await conn.pair(bond=True)
        except BlePairingError as err:
            raise VitalsdError(f"{err}\n{GUIDANCE}") from None
        except DeviceError as err:
            raise VitalsdError(f"pairing with {adv.address}: {err}\n{GUIDANCE}") from None
        finally:
            await conn.disconnect()
        return adv
    finally:
        await central.close()


def cmd_pair(args: argparse.Namespace) -> int:
    if not args.seconds > 0:
        raise VitalsdError(f"--seconds {args.seconds}: must be above 0")
    setup = ble_setup(args)
    target = resolve_target(args.device, setup)
    adv = asyncio.run(pair_device(setup_factory(setup), target, args.seconds, sys.stdout))
    print(  # noqa: T201
        f"paired and bonded: {adv.address} {adv.name or ''}. The daemon will connect to it "
        "when it next advertises."
    )
    return 0
