"""The local context API: who is in which room, set by an EHR launch, a kiosk or a script.

    GET    /context                      the associations in force
    POST   /context                      {"room"|"device", "bed"?, "patient": {...}, "expires_in"?}
    DELETE /context?room=exam3[&bed=1]   or ?device=exam3-cuff
    GET    /context/held                 readings held by the stale-record guard
    POST   /context/held/release         {"ids": [...]} or {"all": true}: sent unassociated
    POST   /context/held/drop            {"ids": [...]} or {"all": true}

Every request needs ``Authorization: Bearer <token>`` (the token of ``[context]
api_token_file`` or ``VITALSD_CONTEXT__API_TOKEN``); with no token configured the API
answers 403 and changes nothing. Bad requests get a 400 naming the field.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from pydantic_core import PydanticCustomError

from vitalsd.config.schema import parse_duration
from vitalsd.context.codec import association_doc, patient_from_doc
from vitalsd.errors import ContextError, ContextRejected
from vitalsd.model import Location

if TYPE_CHECKING:
    from vitalsd.app import Daemon

_LOGGER = logging.getLogger(__name__)

JSON = "application/json"
SOURCE_NAME = "api"
_POST_FIELDS = ("room", "device", "bed", "point_of_care", "patient", "expires_in")


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: dict[str, Any]

    def encoded(self) -> tuple[int, str, bytes]:
        return self.status, JSON, json.dumps(self.body, indent=1).encode() + b"\n"


def _error(status: int, message: str, **extra: Any) -> Reply:
    return Reply(status, {"error": message, **extra})


class ContextApi:
    def __init__(self, daemon: Daemon) -> None:
        self._daemon = daemon

    def handle(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, str, bytes]:
        try:
            reply = self._handle(method, path, query, headers, body)
        except Exception:  # a bug answers 500 and is logged; the daemon and readings go on
            _LOGGER.exception("context API: %s %s failed", method, path)
            reply = _error(500, "internal error; see the vitalsd log")
        return reply.encoded()

    def _handle(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> Reply:
        service = self._daemon.context
        if service.token.token is None:
            return _error(
                403,
                "the context API is closed: no token is configured (set [context] "
                "api_token_file, or VITALSD_CONTEXT__API_TOKEN)",
            )
        auth = headers.get("authorization", "")
        scheme, _, presented = auth.partition(" ")
        if scheme.lower() != "bearer" or not service.token.accepts(presented.strip()):
            _LOGGER.warning("context API: request without a valid token refused")
            return _error(401, "missing or wrong token: send Authorization: Bearer <token>")
        routes = {
            ("GET", "/context"): lambda: self._list(),
            ("POST", "/context"): lambda: self._associate(body),
            ("DELETE", "/context"): lambda: self._clear(query),
            ("GET", "/context/held"): lambda: self._held(),
            ("POST", "/context/held/release"): lambda: self._held_action(body, release=True),
            ("POST", "/context/held/drop"): lambda: self._held_action(body, release=False),
        }
        route = routes.get((method, path.rstrip("/") or "/"))
        if route is None:
            allowed = sorted(m for m, p in routes if p == path.rstrip("/"))
            if allowed:
                return _error(405, f"{method} not allowed here; use {', '.join(allowed)}")
            return _error(404, f"no such resource {path}; try /context or /context/held")
        try:
            return route()
        except ContextRejected as err:
            return _error(400, str(err))
        except ContextError as err:
            return _error(404 if "no held reading" in str(err) else 409, str(err))

    # --- associations ----------------------------------------------------------------

    def _list(self) -> Reply:
        return Reply(
            200,
            {
                "associations": [association_doc(a) for a in self._daemon.context.store.snapshot()],
                "rooms": self._daemon.context.known_rooms(),
            },
        )

    def _json(self, body: bytes) -> dict[str, Any]:
        try:
            doc = json.loads(body or b"{}")
        except (ValueError, UnicodeDecodeError) as err:
            raise ContextRejected(f"body is not JSON: {err}") from None
        if not isinstance(doc, dict):
            raise ContextRejected("body must be a JSON object")
        return doc

    @staticmethod
    def _text(doc: dict[str, Any], key: str) -> str | None:
        value = doc.get(key)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str) or not value.strip():
            raise ContextRejected(f"{key}: must be a non-empty string")
        return value.strip()

    def _room(self, room: str, bed: str | None, point_of_care: str | None) -> Location:
        matches = [
            loc
            for loc in self._daemon.context.rooms
            if loc.room == room and (point_of_care is None or loc.point_of_care == point_of_care)
        ]
        if not matches:
            raise _Unknown(f"unknown room '{room}'")
        units = {loc.point_of_care for loc in matches}
        if len(units) > 1:
            raise ContextRejected(
                f"room '{room}' exists in more than one unit ({', '.join(sorted(map(str, units)))})"
                "; name point_of_care"
            )
        first = matches[0]
        return Location(first.facility, first.point_of_care, room, bed)

    def _device(self, device_id: str) -> Location:
        for d in self._daemon.config.devices:
            if d.id == device_id and d.enabled:
                return d.location
        raise _Unknown(f"unknown device '{device_id}'")

    def _associate(self, body: bytes) -> Reply:
        doc = self._json(body)
        unknown = sorted(set(doc) - set(_POST_FIELDS))
        if unknown:
            raise ContextRejected(f"{unknown[0]}: unknown field (known: {', '.join(_POST_FIELDS)})")
        room, device = self._text(doc, "room"), self._text(doc, "device")
        if (room is None) == (device is None):
            raise ContextRejected("room, device: name exactly one of them")
        if "patient" not in doc:
            raise ContextRejected("patient: missing")
        patient = patient_from_doc(doc["patient"])
        expires_after = self._expires(doc.get("expires_in"))
        bed, unit = self._text(doc, "bed"), self._text(doc, "point_of_care")
        reference = uuid.uuid4().hex[:16]
        store = self._daemon.context.store
        try:
            if room is not None:
                location = self._room(room, bed, unit)
                assoc = store.associate(
                    patient,
                    source=SOURCE_NAME,
                    location=location,
                    expires_after=expires_after,
                    reference=reference,
                )
            else:
                assert device is not None
                assoc = store.associate(
                    patient,
                    source=SOURCE_NAME,
                    device_id=device,
                    device_location=self._device(device),
                    expires_after=expires_after,
                    reference=reference,
                )
        except _Unknown as err:
            return self._unknown(str(err))
        return Reply(201, {"association": association_doc(assoc)})

    @staticmethod
    def _expires(value: object) -> timedelta | None:
        if value is None:
            return None
        try:
            seconds = parse_duration(value)
        except PydanticCustomError as err:
            raise ContextRejected(f"expires_in: {err.message()}") from None
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0:
            raise ContextRejected('expires_in: a positive number of seconds or e.g. "2h"')
        return timedelta(seconds=seconds)

    def _unknown(self, message: str) -> Reply:
        service = self._daemon.context
        devices = sorted(d.id for d in self._daemon.config.devices if d.enabled)
        return _error(
            404,
            f"{message}; known rooms: {', '.join(service.known_rooms()) or 'none'}",
            rooms=service.known_rooms(),
            devices=devices,
        )

    def _clear(self, query: str) -> Reply:
        params = {k: v[-1] for k, v in parse_qs(query).items()}
        unknown = sorted(set(params) - {"room", "device", "bed", "point_of_care"})
        if unknown:
            raise ContextRejected(f"{unknown[0]}: unknown parameter (use room, bed or device)")
        room, device = params.get("room"), params.get("device")
        if (room is None) == (device is None):
            raise ContextRejected("room, device: name exactly one of them (?room=exam3)")
        store = self._daemon.context.store
        try:
            if room is not None:
                location = self._room(room, params.get("bed"), params.get("point_of_care"))
                ended = store.clear(location=location)
            else:
                assert device is not None
                self._device(device)
                ended = store.clear(device_id=device)
        except _Unknown as err:
            return self._unknown(str(err))
        return Reply(200, {"ended": [association_doc(a) for a in ended]})

    # --- held readings ---------------------------------------------------------------

    def _held(self) -> Reply:
        held = self._daemon.context.held
        entries = [h.doc() for h in held.entries()] if held is not None else []
        return Reply(200, {"held": entries, "policy": self._daemon.config.context.stale_records})

    def _held_action(self, body: bytes, *, release: bool) -> Reply:
        doc = self._json(body)
        ids = doc.get("ids")
        if doc.get("all") is True and ids is None:
            selected: list[str] | None = None
        elif isinstance(ids, list) and ids and all(isinstance(i, str) for i in ids):
            selected = ids
        else:
            raise ContextRejected('ids: a list of held reading ids, or {"all": true}')
        service = self._daemon.context
        if release:
            count = service.release(selected, self._daemon.publish)
            return Reply(200, {"released": count})
        return Reply(200, {"dropped": service.drop(selected)})


class _Unknown(ContextRejected):
    """A room or device the config does not know (404 with the list of known ones)."""
