"""Config for BLE devices: [devices.ble] instead of port, the [ble] section, and a
file:line message for every way of getting it wrong."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.test_ble_daemon import BleThermoDriver
from tests.test_config import FakeDriver
from vitalsd.config import VitalsdConfig, load_config
from vitalsd.driver import Driver
from vitalsd.errors import ConfigError
from vitalsd.links.gatt import BleTarget, uuid16
from vitalsd.outputs.jsonl import JsonlOutput

DRIVERS: dict[str, type[Driver]] = {"test_ble_thermo": BleThermoDriver, "fake_ox": FakeDriver}


def load(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> VitalsdConfig:
    path = tmp_path / "v.toml"
    path.write_text(textwrap.dedent(text))
    return load_config(
        path,
        environ=environ or {},
        drivers=DRIVERS,
        outputs={"jsonl": JsonlOutput},
        context_sources={},
    )


def problems(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text, environ)
    where = str(tmp_path / "v.toml")
    return [str(p).replace(where, "v.toml") for p in caught.value.problems]


HEAD = '[site]\nid = "s"\n'
BLE_DEVICE = 'id = "t1"\ndriver = "test_ble_thermo"\nroom = "1"\n'


def test_ble_device_by_address_or_by_what_it_advertises(tmp_path: Path) -> None:
    cfg = load(
        tmp_path,
        HEAD
        + f'[ble]\nadapter = "hci1"\nmax_connections = 2\n[[devices]]\n{BLE_DEVICE}'
        + '[devices.ble]\naddress = "c0-11-22-33-44-55"\n'
        + f"[[devices]]\n{BLE_DEVICE.replace('t1', 't2')}"
        + '[devices.ble]\nname = "TH-*"\nservice = 1809\nadapter = "hci0"\n',
    )
    one, two = cfg.devices
    assert one.port is None and one.ble is not None
    assert one.ble.target(cfg.ble.adapter) == BleTarget(address="C0:11:22:33:44:55", adapter="hci1")
    assert two.ble is not None
    assert two.ble.target(cfg.ble.adapter) == BleTarget(
        name="TH-*", service=uuid16(0x1809), adapter="hci0"
    )
    assert one.where == "BLE C0:11:22:33:44:55"
    assert cfg.ble.backend == "bleak" and cfg.ble.max_connections == 2


def test_transport_mistakes_point_at_the_line(tmp_path: Path) -> None:
    text = (
        HEAD
        + f"[[devices]]\n{BLE_DEVICE}"  # line 3: BLE driver, nothing to say which device
        + '[[devices]]\nid = "t2"\ndriver = "test_ble_thermo"\nroom = "1"\nport = "/dev/ttyUSB0"\n'
        + '[[devices]]\nid = "o1"\ndriver = "fake_ox"\nroom = "1"\n[devices.ble]\naddress = "C0:11:22:33:44:55"\n'
        + '[[devices]]\nid = "o2"\ndriver = "fake_ox"\nroom = "1"\n'
        + f'[[devices]]\n{BLE_DEVICE.replace("t1", "t3")}[devices.ble]\nadapter = "hci0"\n'
        + f'[[devices]]\n{BLE_DEVICE.replace("t1", "t4")}[devices.ble]\naddress = "C0:11"\nservice = "heart"\nadapter = "bt0"\n'
    )
    assert problems(tmp_path, text) == [
        "v.toml:3 devices[1].ble: driver 'test_ble_thermo' is a Bluetooth LE driver: add "
        '[devices.ble] with address = "AA:BB:CC:DD:EE:FF", or name = "pattern*" and/or '
        'service = "1810"',
        "v.toml:11 devices[2].port: driver 'test_ble_thermo' talks Bluetooth LE, not serial: "
        'remove port and add [devices.ble] with address = "AA:BB:CC:DD:EE:FF" (or name/service)',
        "v.toml:16 devices[3].ble: driver 'fake_ox' is a serial driver: remove [devices.ble], "
        "set port",
        "v.toml:18 devices[4].port: missing required key",
        "v.toml:26 devices[5].ble: says nothing about which device: give address = "
        '"AA:BB:CC:DD:EE:FF", or name = "pattern*" and/or service = "1810"',
        "v.toml:33 devices[6].ble.address: 'C0:11' is not a Bluetooth address: write six hex "
        "pairs, AA:BB:CC:DD:EE:FF (vitalsd scan --ble lists them)",
        "v.toml:34 devices[6].ble.service: 'heart' is not a Bluetooth service UUID: write the "
        'SIG short form ("1810" blood pressure, "1809" thermometer, "181d" scale) or the full '
        "128-bit form",
        "v.toml:35 devices[6].ble.adapter: 'bt0' is not an adapter name: write e.g. \"hci0\" "
        "(see `hciconfig`)",
    ]


def test_ble_section_mistakes(tmp_path: Path) -> None:
    device = f'[[devices]]\n{BLE_DEVICE}[devices.ble]\naddress = "C0:11:22:33:44:55"\n'
    assert problems(tmp_path, HEAD + '[ble]\nbackend = "bumble"\n' + device) == [
        'v.toml:3 ble: backend = "bumble" needs transport = "usb:0" (the HCI dongle bumble '
        "drives; see bumble's transport names)"
    ]
    assert problems(tmp_path, HEAD + '[ble]\ntransport = "usb:0"\nmax_conections = 3\n' + device)[
        0
    ].startswith("v.toml:5 ble.max_conections: unknown key")
    cfg = load(
        tmp_path,
        HEAD + device,
        {"VITALSD_BLE__BACKEND": "bumble", "VITALSD_BLE__TRANSPORT": "usb:1"},
    )
    assert (cfg.ble.backend, cfg.ble.transport) == ("bumble", "usb:1")
