"""What ``vitalsd scan --ble`` and ``vitalsd pair`` share: a central made from the config's
``[ble]`` section (or the defaults: bleak on hci0) and the installed drivers."""

from __future__ import annotations

import argparse
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from vitalsd.config import VitalsdConfig
from vitalsd.config.ble import BleConfig
from vitalsd.driver import Driver
from vitalsd.errors import VitalsdError
from vitalsd.links.ble_pool import CentralFactory, central_factory
from vitalsd.model import Transport
from vitalsd.registry import load_drivers

_ADAPTER = re.compile(r"hci[0-9]{1,2}")


@dataclass(frozen=True, slots=True)
class BleSetup:
    config: VitalsdConfig | None  # None: no -c given, defaults used
    ble: BleConfig
    adapter: str
    drivers: dict[str, type[Driver]]  # the installed BLE drivers


def add_ble_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-c", "--config", help="vitalsd.toml: its [ble] section picks the adapter and stack"
    )
    p.add_argument("--adapter", help="Bluetooth adapter (default: [ble] adapter, else hci0)")


def ble_setup(args: argparse.Namespace) -> BleSetup:
    if args.adapter is not None and not _ADAPTER.fullmatch(args.adapter):
        raise VitalsdError(f"--adapter {args.adapter}: write an adapter name such as hci0")
    drivers = load_drivers().plugins
    config = None
    if args.config:
        from vitalsd.cli.commands import load  # late: commands imports the whole daemon

        config, _drivers, _outputs = load(args.config)
    ble = config.ble if config is not None else BleConfig()
    ble_drivers = {n: d for n, d in drivers.items() if Transport.BLE in d.transports}
    return BleSetup(config, ble, args.adapter or ble.adapter, ble_drivers)


def setup_factory(setup: BleSetup) -> CentralFactory:
    """The central of the config (bumble keeps its bonds in the daemon's state_dir)."""
    state = (
        Path(setup.config.daemon.state_dir)
        if setup.config is not None
        else Path(tempfile.gettempdir()) / "vitalsd-cli"
    )
    return central_factory(setup.ble, state)
