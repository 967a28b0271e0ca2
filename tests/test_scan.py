"""``vitalsd scan``: listing this machine's ports, and --probe against real simulators on ptys."""

from __future__ import annotations

import json
import os
import select
import tty
from pathlib import Path

import pytest
from serial.tools import list_ports

from tests.daemon_harness import simulator
from vitalsd.cli.main import main
from vitalsd.probe import list_serial_ports
from vitalsd.registry import load_drivers


def test_scan_lists_this_machines_ports_or_says_there_are_none(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["scan"]) == 0
    out = capsys.readouterr().out
    devices = [p.device for p in list_ports.comports()]
    if not devices:
        assert "no serial ports found" in out
    for device in devices:
        assert f"{device}\n" in out
        assert "USB VID:PID:" in out
    assert main(["scan", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert sorted(p["device"] for p in doc["ports"]) == sorted(devices)


def test_by_id_names_are_matched_to_their_device(tmp_path: Path) -> None:
    ports = list_ports.comports()
    if not ports:
        pytest.skip("no serial port on this machine to name")
    by_id = tmp_path / "by-id"
    by_id.mkdir()
    name = by_id / "usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0"
    name.symlink_to(ports[0].device)  # how udev makes them: a symlink to the tty
    found = {p.device: p for p in list_serial_ports(by_id)}
    assert found[ports[0].device].by_id == (str(name),)


@pytest.mark.parametrize(
    ("protocol", "args", "driver"),
    [
        ("masimo", ["--rate", "10", "--seed", "3"], "masimo_ascii1"),
        ("nonin-df2", ["--seed", "3"], "nonin_df2"),  # line rate: 75 frames/s
        ("nellcor", ["--rate", "10", "--seed", "3"], "nellcor"),
        # polled: answers only the driver's read-only identification query (2936, version)
        ("suretemp", [], "suretemp_module"),
    ],
)
def test_probe_names_the_protocol_a_simulator_speaks(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    protocol: str,
    args: list[str],
    driver: str,
) -> None:
    link = tmp_path / "dev.tty"
    sim = simulator(protocol, "--pty", "--link", str(link), *args)
    try:
        sim.ready()
        code = main(["scan", "--probe", str(link), "--listen", "1.0", "--json"])
        doc = json.loads(capsys.readouterr().out)
    finally:
        sim.stop()
    assert code == 0, doc
    assert doc["protocol"] == driver
    by_driver = {r["driver"]: r for r in doc["results"]}
    assert len(by_driver) >= 10  # every installed serial driver was tried
    assert by_driver[driver]["frames"] > 0
    assert by_driver[driver]["rejected"] == 0
    assert [r["driver"] for r in doc["results"] if r["matched"]] == [driver]
    # Only the polled drivers sent anything, and only their read-only queries.
    assert {r["driver"] for r in doc["results"] if r["sent"]} == READ_ONLY_QUERIES


READ_ONLY_QUERIES = {"accutorr3", "sma_scale", "suntech_advantage", "suretemp_module"}


def test_probe_is_read_only_and_says_when_nothing_answers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    master, slave = os.openpty()
    try:
        tty.setraw(slave)
        path = os.ttyname(slave)
        code = main(["scan", "--probe", path, "--listen", "0.2"])
        out = capsys.readouterr().out
        # The "device" received exactly the declared read-only queries, nothing else.
        written = b""
        while select.select([master], [], [], 0)[0]:
            written += os.read(master, 4096)
        drivers = load_drivers().plugins
        expected = b"".join(
            getattr(drivers[name], "probe_command", b"") for name in sorted(READ_ONLY_QUERIES)
        )
        assert written == expected
    finally:
        os.close(slave)
        os.close(master)
    assert code == 1
    assert f"no protocol decoded valid frames on {path}" in out


def test_probe_of_a_missing_port_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["scan", "--probe", str(tmp_path / "ttyUSB9"), "--listen", "0.2"])
    err = capsys.readouterr().err
    assert code == 1
    assert "ttyUSB9" in err
    assert "Traceback" not in err
    assert main(["scan", "--probe", "x", "--driver", "nope"]) == 1
    assert "unknown serial driver 'nope'" in capsys.readouterr().err
