"""``vitalsd scan --ble`` and ``vitalsd pair`` against the virtual radio (their central is
injected); and their plain failures on this machine, which has no BlueZ."""

from __future__ import annotations

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from bumble.link import LocalLink

from tests.ble.bleak_backend import VirtualAdapter
from tests.ble.peripherals import ADDRESS, NAME, thermometer_peripheral
from tests.test_ble_daemon import BleThermoDriver
from vitalsd.cli.ble_scan import print_advertisers, scan_ble
from vitalsd.cli.ble_setup import BleSetup
from vitalsd.cli.main import main
from vitalsd.cli.pair import pair_device, resolve_target
from vitalsd.config import load_config
from vitalsd.config.ble import BleConfig
from vitalsd.errors import VitalsdError
from vitalsd.links.ble_bleak import BleakCentral
from vitalsd.links.ble_bumble import BumbleCentral
from vitalsd.links.gatt import BleTarget, GattCentral, uuid16
from vitalsd.outputs.jsonl import JsonlOutput
from vitalsd.supervisor import WAITING_FOR_ADVERTISEMENT


async def test_scan_names_the_driver_and_the_configured_device(ble_radio: LocalLink) -> None:
    async with (
        thermometer_peripheral(ble_radio),
        thermometer_peripheral(ble_radio, address="C0:00:00:00:00:07", name="SOMETHING"),
    ):
        where, found = await scan_ble(
            lambda _a: BumbleCentral(link=ble_radio),
            "hci0",
            1.5,
            {"test_ble_thermo": BleThermoDriver},
            {"exam1-thermo": BleTarget(address=ADDRESS)},
        )
    assert where == "bumble virtual radio"
    by_address = {a.adv.address: a for a in found}
    thermo = by_address[ADDRESS]
    assert thermo.adv.name == NAME
    assert thermo.drivers == ("test_ble_thermo",)  # it advertises 1809
    assert thermo.devices == ("exam1-thermo",)
    assert by_address["C0:00:00:00:00:07"].devices == ()

    out = io.StringIO()
    assert print_advertisers(where, 1.5, found, False, out) == 0
    text = out.getvalue()
    assert f"{ADDRESS}   -50 dBm  {NAME}\n" in text
    assert "  services: 1809\n" in text
    assert "  driver:   test_ble_thermo\n" in text
    assert "  configured as: exam1-thermo\n" in text
    assert "2 advertiser(s) in 1.5 s on bumble virtual radio" in text

    out = io.StringIO()
    print_advertisers(where, 1.5, found, True, out)
    doc = json.loads(out.getvalue())
    first = next(a for a in doc["advertisers"] if a["address"] == ADDRESS)
    assert first["services"] == ["1809"] and first["manufacturer_ids"] == ["0x020E"]


async def test_scan_with_nobody_there_says_why(ble_radio: LocalLink) -> None:
    where, found = await scan_ble(lambda _a: BumbleCentral(link=ble_radio), "hci0", 0.3, {})
    out = io.StringIO()
    print_advertisers(where, 0.3, found, False, out)
    assert "advertise only for a short while" in out.getvalue()


@pytest.mark.parametrize("stack", ["bumble", "bleak"])
async def test_pair_bonds(ble_radio: LocalLink, stack: str) -> None:
    adapter = VirtualAdapter(ble_radio)

    def factory(_adapter: str) -> GattCentral:
        if stack == "bumble":
            return BumbleCentral(link=ble_radio)
        scanner, client = adapter.backends()
        return BleakCentral(scanner_backend=scanner, client_backend=client)

    out = io.StringIO()
    try:
        async with thermometer_peripheral(ble_radio) as thermo:
            adv = await pair_device(factory, BleTarget(address=ADDRESS), 10, out)
            assert adv.address == ADDRESS
            keystore = thermo.device.keystore
            assert keystore is not None
            keys = await keystore.get_all()  # the peripheral kept a bond
            assert len(keys) == 1
    finally:
        await adapter.close()
    assert "waiting up to 10 s for BLE C0:11:22:33:44:55 to advertise" in out.getvalue()


async def test_pair_refused_gives_guidance(ble_radio: LocalLink) -> None:
    async with thermometer_peripheral(ble_radio, pairable=False):
        with pytest.raises(VitalsdError) as err:
            await pair_device(
                lambda _a: BumbleCentral(link=ble_radio),
                BleTarget(address=ADDRESS),
                10,
                io.StringIO(),
            )
    text = str(err.value)
    assert "pairing mode" in text
    assert "remove it from any phone" in text
    assert "agent KeyboardOnly" in text


async def test_pair_device_not_advertising(ble_radio: LocalLink) -> None:
    with pytest.raises(VitalsdError, match=r"did not advertise within 0\.3 s"):
        await pair_device(
            lambda _a: BumbleCentral(link=ble_radio),
            BleTarget(service=uuid16(0x1810)),
            0.3,
            io.StringIO(),
        )


CONFIG = """
[site]
id = "t"
[[devices]]
id = "exam1-thermo"
driver = "test_ble_thermo"
room = "1"
[devices.ble]
name = "TEST-*"
service = "1809"
adapter = "hci1"
[[outputs]]
type = "jsonl"
"""


def test_pair_target_from_config_or_address(tmp_path: Path) -> None:
    path = tmp_path / "v.toml"
    path.write_text(CONFIG)
    config = load_config(
        path,
        environ={},
        drivers={"test_ble_thermo": BleThermoDriver},
        outputs={"jsonl": JsonlOutput},
        context_sources={},
    )
    setup = BleSetup(config, config.ble, "hci0", {})
    target = resolve_target("exam1-thermo", setup)
    assert target == BleTarget(name="TEST-*", service=uuid16(0x1809), adapter="hci1")
    assert resolve_target("c0-11-22-33-44-55", setup).address == ADDRESS
    with pytest.raises(VitalsdError, match="BLE devices there: exam1-thermo"):
        resolve_target("exam2", setup)
    with pytest.raises(VitalsdError, match="give the config with -c"):
        resolve_target("exam1-thermo", BleSetup(None, BleConfig(), "hci0", {}))


def test_no_bluez_here_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "--ble", "--seconds", "0.2"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("vitalsd: cannot scan on Bluetooth adapter hci0")
    assert "Traceback" not in err
    assert main(["pair", "AA:BB:CC:DD:EE:FF", "--seconds", "0.2"]) == 1
    assert "D-Bus" in capsys.readouterr().err
    assert main(["scan", "--ble", "--adapter", "bt0"]) == 1
    assert "--adapter bt0" in capsys.readouterr().err


def _serve_status(doc: dict[str, object]) -> tuple[ThreadingHTTPServer, str]:
    body = json.dumps(doc).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, name="test.status-http", daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def device(state: str, reason: str | None) -> dict[str, object]:
    return {
        "id": "exam3-cuff",
        "driver": "and_ua651ble",
        "kind": "blood_pressure",
        "port": "BLE 5C:31:3E:01:23:45",
        "state": state,
        "since": None,
        "last_error": reason,
        "last_reading": None,
        "accepted": 0,
        "rejected": 0,
        "reconnects": 0,
        "decode_errors": 0,
    }


@pytest.mark.parametrize(
    ("state", "reason", "code"),
    [
        ("offline", WAITING_FOR_ADVERTISEMENT, 0),  # between sessions: all is well
        ("offline", "connecting to 5C:31:3E:01:23:45: ...", 3),
    ],
)
def test_status_does_not_alarm_on_a_waiting_ble_device(
    state: str, reason: str, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    server, url = _serve_status({"devices": [device(state, reason)], "outputs": []})
    try:
        assert main(["status", "--url", url, "--json"]) == code
    finally:
        server.shutdown()
        server.server_close()
    capsys.readouterr()
