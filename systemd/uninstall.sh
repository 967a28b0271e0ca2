#!/bin/sh
# Remove vitalsd: sudo systemd/uninstall.sh [--purge]
# Keeps /var/lib/vitalsd (the HL7 outbox: readings not yet ACKed by the EHR) and
# /etc/vitalsd unless --purge is given. Check `vitalsd status` shows outbox 0 first.
set -eu
[ "$(id -u)" -eq 0 ] || { echo "uninstall.sh: run as root" >&2; exit 1; }
PURGE=no
[ "${1:-}" = "--purge" ] && PURGE=yes

systemctl disable --now vitalsd.service 2>/dev/null || true
rm -f /etc/systemd/system/vitalsd.service /usr/lib/tmpfiles.d/vitalsd.conf
rm -f /etc/dbus-1/system.d/vitalsd.conf
systemctl daemon-reload
rm -rf /opt/vitalsd
if [ "$PURGE" = yes ]; then
    rm -rf /var/lib/vitalsd /etc/vitalsd
    rm -f /usr/lib/sysusers.d/vitalsd.conf
    userdel vitalsd 2>/dev/null || true
    echo "vitalsd removed, with its outbox, config and user"
else
    echo "vitalsd removed; kept /var/lib/vitalsd (outbox) and /etc/vitalsd (config)."
    echo "Remove them too with: $0 --purge"
fi
