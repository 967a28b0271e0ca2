"""What the daemon is doing right now, as one JSON-able document and one status line.

No readings' values here: this is shown to clinic IT and in ``systemctl status``, so
it says when a device last read, never what. The one exception is the current patient
of each room (id and name, never birth date): the medical assistant checks on the local
page that the room is associated with the right person. It never goes into a log or the
status line.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from vitalsd import __version__
from vitalsd.context.lifetime import where
from vitalsd.model import DeviceState

if TYPE_CHECKING:
    from vitalsd.app import Daemon


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.astimezone(UTC).isoformat(timespec="seconds")


def status_snapshot(daemon: Daemon) -> dict[str, Any]:
    devices = []
    for s in daemon.sessions:
        st = s.status
        ident = s.identity
        devices.append(
            {
                "id": s.device_id,
                "driver": s.spec.profile.driver,
                "kind": s.spec.profile.kind.value,
                "port": s.spec.where,  # the serial port, or "BLE AA:BB:..." for BLE
                "state": st.state.value,
                "since": _iso(st.since),
                "last_error": st.reason,
                "last_reading": _iso(s.last_reading),
                "accepted": s.accepted,
                "rejected": s.rejected,
                "reconnects": s.reconnects,
                "decode_errors": s.decode_errors,
                "identity": {"make": ident.make, "model": ident.model, "serial": ident.serial},
            }
        )
    pending = daemon.bus.pending()
    health = daemon.bus.health()
    outputs = [
        {
            "name": name,
            "queued": pending.get(name, 0),
            "outbox": health[name].queued,
            "dead_letters": health[name].dead_letters,
            "connected": health[name].connected,
            "last_ack": _iso(health[name].last_ack),
            "last_ack_code": health[name].last_ack_code,
            "delivered": st.delivered,
            "rejected": st.rejected,
            "overflowed": st.overflowed,
            "retries": st.retries,
            "failing": st.failing_since is not None,
            "last_error": st.last_error,
        }
        for name, st in daemon.bus.outputs.items()
    ]
    service = daemon.context
    held = service.held
    context = {
        "associations": [
            {
                "where": where(a),
                "scope": a.scope.value,
                "room": a.location.room,
                "bed": a.location.bed,
                "device": a.device_id,
                "patient_id": a.patient.id,
                "patient_name": ", ".join(
                    n for n in (a.patient.family_name, a.patient.given_name) if n
                ),
                "visit_number": a.patient.visit_number,
                "source": a.source,
                "since": _iso(a.since),
                "expires": _iso(a.expires),
            }
            for a in service.store.snapshot()
        ],
        "rooms": service.known_rooms(),
        "held": held.count() if held is not None else 0,
        "stale_records": daemon.config.context.stale_records,
        "api": service.token.token is not None,
        "save_error": service.lifetime.last_save_error,
        "sources": [r.health_doc() for r in service.runners],
    }
    return {
        "site": daemon.config.site.id,
        "version": __version__,
        "time": _iso(datetime.now(UTC)),
        "running": daemon.started.is_set(),
        "summary": status_line(daemon),
        "devices": devices,
        "outputs": outputs,
        "context": context,
    }


def status_line(daemon: Daemon) -> str:
    """One line for ``systemctl status`` (sd_notify STATUS=) and the page title."""
    online = sum(1 for s in daemon.sessions if s.status.state == DeviceState.ONLINE)
    queued = sum(daemon.bus.pending().values())
    failing = [n for n, st in daemon.bus.outputs.items() if st.failing_since is not None]
    line = f"{online}/{len(daemon.sessions)} devices online, outbox {queued}"
    if failing:
        line += f", failing: {', '.join(failing)}"
    return line
