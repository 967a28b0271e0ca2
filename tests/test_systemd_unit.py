"""The shipped systemd files, checked with systemd's own tools (package `systemd`)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

SYSTEMD = Path(__file__).resolve().parent.parent / "systemd"
UNIT = SYSTEMD / "vitalsd.service"
MAX_EXPOSURE = 3.0  # "OK" in systemd-analyze security's words


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} not found: install the Debian package 'systemd' (apt-get install systemd)"
        )
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


def test_unit_verifies(tmp_path: Path) -> None:
    # verify insists that ExecStart exists; the venv is only there after install.sh.
    unit = tmp_path / "vitalsd.service"
    unit.write_text(
        UNIT.read_text().replace(
            "/opt/vitalsd/venv/bin/vitalsd", shutil.which("true") or "/bin/true"
        )
    )
    r = run(tool("systemd-analyze"), "verify", str(unit))
    assert r.returncode == 0, r.stderr
    assert "vitalsd.service" not in r.stderr, r.stderr  # no warnings about our unit either


def test_security_exposure_is_ok() -> None:
    # --threshold compares against exposure x 10 and fails the command above it.
    r = run(
        tool("systemd-analyze"),
        "security",
        "--offline=true",
        f"--threshold={int(MAX_EXPOSURE * 10)}",
        "--no-pager",
        str(UNIT),
    )
    m = re.search(r"Overall exposure level for vitalsd\.service: (\d+\.\d+) (\w+)", r.stdout)
    assert m, r.stdout + r.stderr
    assert r.returncode == 0, f"exposure {m.group(1)} {m.group(2)} above {MAX_EXPOSURE}"
    assert float(m.group(1)) <= MAX_EXPOSURE


def test_unit_keeps_what_serial_and_ble_need() -> None:
    text = UNIT.read_text()
    for line in (
        "Type=notify",
        "SupplementaryGroups=dialout",
        "PrivateDevices=no",
        "DeviceAllow=char-ttyUSB rw",
        "StateDirectory=vitalsd",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ):
        assert line in text.splitlines(), line
    families = re.search(r"^RestrictAddressFamilies=(.*)$", text, re.M)
    assert families and "AF_UNIX" in families.group(1).split()  # D-Bus to BlueZ
    assert re.search(r"^WatchdogSec=\d+s$", text, re.M)


def test_sysusers_creates_the_user_in_dialout(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (etc / "group").write_text("root:x:0:\ndialout:x:20:\n")
    r = run(tool("systemd-sysusers"), f"--root={tmp_path}", str(SYSTEMD / "vitalsd.sysusers.conf"))
    assert r.returncode == 0, r.stderr
    assert re.search(
        r"^vitalsd:x:\d+:\d+:vitalsd gateway:/var/lib/vitalsd:", (etc / "passwd").read_text(), re.M
    )
    assert re.search(r"^dialout:x:20:vitalsd$", (etc / "group").read_text(), re.M)


def test_tmpfiles_creates_state_and_config_dirs(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "passwd").write_text(
        "root:x:0:0::/root:/bin/sh\nvitalsd:x:990:990::/var/lib/vitalsd:/usr/sbin/nologin\n"
    )
    (etc / "group").write_text("root:x:0:\nvitalsd:x:990:\n")
    r = run(
        tool("systemd-tmpfiles"),
        "--create",
        f"--root={tmp_path}",
        str(SYSTEMD / "vitalsd.tmpfiles.conf"),
    )
    assert r.returncode == 0, r.stderr
    state = tmp_path / "var/lib/vitalsd"
    assert state.is_dir() and oct(state.stat().st_mode & 0o777) == "0o750"
    assert (tmp_path / "etc/vitalsd/conf.d").is_dir()


def test_udev_example_is_well_formed() -> None:
    rule = re.compile(r'^[A-Z]+(\{[^}]+\})?(==|\+=|=)"[^"]*"$')
    for n, line in enumerate((SYSTEMD / "99-vitalsd-serial.rules").read_text().splitlines(), 1):
        if line.strip() and not line.startswith("#"):
            for part in line.split(", "):
                assert rule.match(part), f"line {n}: {part!r}"


def test_install_scripts_parse_and_ship_existing_files() -> None:
    root = SYSTEMD.parent
    for script in ("install.sh", "uninstall.sh"):
        r = run("sh", "-n", str(SYSTEMD / script))
        assert r.returncode == 0, f"{script}: {r.stderr}"
    text = (SYSTEMD / "install.sh").read_text()
    for rel in re.findall(r'"\$SRC/([^"]+)"', text):
        assert (root / rel).exists(), f"install.sh copies {rel}, which is not in the repo"
    # The outbox survives an uninstall unless asked.
    un = (SYSTEMD / "uninstall.sh").read_text()
    assert un.index('if [ "$PURGE" = yes ]') < un.index("rm -rf /var/lib/vitalsd")
