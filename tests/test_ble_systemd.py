"""What a gateway needs for BLE beyond the unit: the D-Bus policy that lets the vitalsd
user call BlueZ, parsed by a real dbus-daemon, and installed and removed by the scripts."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

SYSTEMD = Path(__file__).resolve().parent.parent / "systemd"


def test_bluez_policy_parses_in_a_real_dbus_daemon(tmp_path: Path) -> None:
    daemon = shutil.which("dbus-daemon")
    assert daemon, "dbus-daemon is needed to check the D-Bus policy"
    (tmp_path / "system.d").mkdir()
    shutil.copy(SYSTEMD / "vitalsd-bluez.conf", tmp_path / "system.d" / "vitalsd.conf")
    (tmp_path / "bus.conf").write_text(
        '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"\n'
        ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n'
        f"<busconfig><type>custom</type><listen>unix:path={tmp_path}/sock</listen>"
        '<policy context="default"><allow user="*"/></policy>'
        f"<includedir>{tmp_path}/system.d</includedir></busconfig>\n"
    )
    proc = subprocess.Popen(
        [daemon, f"--config-file={tmp_path}/bus.conf", "--nofork", "--print-address"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("unix:")  # config read, bus up
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    # dbus-daemon skips an unparsable system.d file with only a message: look for it.
    assert "Encountered error" not in err, err


def test_policy_only_lets_vitalsd_call_bluez() -> None:
    text = (SYSTEMD / "vitalsd-bluez.conf").read_text()
    assert '<policy user="vitalsd">' in text
    assert '<allow send_destination="org.bluez"/>' in text
    assert "own=" not in text.split("-->")[-1]  # never owns a name


def test_install_and_uninstall_handle_the_policy() -> None:
    install = (SYSTEMD / "install.sh").read_text()
    assert '"$SRC/systemd/vitalsd-bluez.conf" /etc/dbus-1/system.d/vitalsd.conf' in install
    assert "rm -f /etc/dbus-1/system.d/vitalsd.conf" in (SYSTEMD / "uninstall.sh").read_text()
    unit = (SYSTEMD / "vitalsd.service").read_text()
    assert "After=" in unit and "bluetooth.service" in unit
