#!/bin/sh
# Install vitalsd on a Debian 12 mini PC from this source tree:
#   sudo systemd/install.sh
# Creates /opt/vitalsd/venv, the vitalsd user (sysusers), /etc/vitalsd with a starter
# config, and the systemd unit. The service stays DISABLED until `vitalsd check` passes
# on the edited config; run this script again (or the commands it prints) to enable it.
set -eu

PREFIX=/opt/vitalsd
CONF=/etc/vitalsd/vitalsd.toml
SRC=$(cd "$(dirname "$0")/.." && pwd)

[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root (sudo $0)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "install.sh: python3 missing: apt-get install python3 python3-venv" >&2; exit 1; }

echo "==> virtual environment in $PREFIX/venv"
python3 -m venv "$PREFIX/venv" || { echo "install.sh: apt-get install python3-venv" >&2; exit 1; }
"$PREFIX/venv/bin/pip" install --quiet --upgrade pip
"$PREFIX/venv/bin/pip" install --quiet "$SRC"
mkdir -p "$PREFIX/docs" && cp "$SRC/README.md" "$SRC/docs/"*.md "$PREFIX/docs/" 2>/dev/null || true

echo "==> user, directories, unit"
install -m 0644 "$SRC/systemd/vitalsd.sysusers.conf" /usr/lib/sysusers.d/vitalsd.conf
install -m 0644 "$SRC/systemd/vitalsd.tmpfiles.conf" /usr/lib/tmpfiles.d/vitalsd.conf
systemd-sysusers vitalsd.conf
systemd-tmpfiles --create vitalsd.conf
install -m 0644 "$SRC/systemd/vitalsd.service" /etc/systemd/system/vitalsd.service
# BLE: let the vitalsd user call BlueZ over the system bus (dbus-daemon rereads system.d).
install -m 0644 "$SRC/systemd/vitalsd-bluez.conf" /etc/dbus-1/system.d/vitalsd.conf
if [ ! -e /etc/udev/rules.d/99-vitalsd-serial.rules ]; then
    install -m 0644 "$SRC/systemd/99-vitalsd-serial.rules" /usr/share/doc/vitalsd-99-vitalsd-serial.rules.example 2>/dev/null || true
fi
systemctl daemon-reload

if [ ! -e "$CONF" ]; then
    echo "==> starter config $CONF (edit it: site id, devices, outputs)"
    install -m 0640 -g vitalsd "$SRC/config/vitalsd.toml" "$CONF"
fi

echo "==> checking $CONF"
if runuser -u vitalsd -- "$PREFIX/venv/bin/vitalsd" check -c "$CONF"; then
    systemctl enable --now vitalsd.service
    echo "vitalsd enabled and started: systemctl status vitalsd; $PREFIX/venv/bin/vitalsd status"
else
    echo "vitalsd NOT enabled: fix $CONF, then: $PREFIX/venv/bin/vitalsd check -c $CONF && systemctl enable --now vitalsd" >&2
    exit 2
fi
