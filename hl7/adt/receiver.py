"""One inbound ADT/SIU message in, its acknowledgement out: decode, check, de-duplicate, apply.

Resends after a lost ACK carry the same MSH-10 and the same bytes; the receiver remembers
the last control ids per sender and answers them again without applying them twice. A
message that reuses a control id with other content is applied (and logged): the sender
broke the uniqueness rule, but the newer content is what it means.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from hl7.adt.ack import AckHeader, answer_code, build_ack, header_of
from hl7.adt.er7 import Delimiters, Er7Message, parse_er7
from hl7.adt.errors import (
    APPLICATION_INTERNAL_ERROR,
    REQUIRED_FIELD_MISSING,
    UNSUPPORTED_EVENT_CODE,
    UNSUPPORTED_MESSAGE_TYPE,
    UNSUPPORTED_PROCESSING_ID,
    UNSUPPORTED_VERSION_ID,
    AdtMessageError,
    ErrorLocation,
    MessageNotApplied,
    MessageRejected,
)
from hl7.adt.options import AdtOptions
from hl7.adt.triggers import TriggerContext, apply
from vitalsd.context.store import ContextStore
from vitalsd.errors import ContextError
from vitalsd.model import Location

__all__ = ["AdtReceiver", "Outcome"]

_LOGGER = logging.getLogger(__name__)
_REMEMBERED = 2000  # control ids kept for duplicate detection (hours of ADT for a clinic)
_MESSAGE_TYPES = ("ADT", "SIU")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one message: its ACK code (AA/AE/AR) and a summary without patient data."""

    code: str
    summary: str
    error: AdtMessageError | None = None
    acted: bool = False  # changed the context store


def _now() -> datetime:
    return datetime.now(UTC)


def _decode(data: bytes) -> str:
    first = data.split(b"\r", 1)[0]
    if b"8859" in first:  # MSH-18 8859/1 (or /15 ...): Latin script, one byte per char
        return data.decode("latin-1")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # Undeclared Latin-1 is the commonest legacy case, and any byte decodes.
        _LOGGER.debug("message is not UTF-8 and declares no charset: read as ISO 8859-1")
        return data.decode("latin-1")


def _salvage_header(text: str) -> AckHeader:
    """An ACK header for a message whose body could not be parsed (its MSH may be fine)."""
    first = text.replace("\n", "\r").split("\r", 1)[0]
    try:
        return header_of(parse_er7(first))
    except MessageRejected:
        return AckHeader(delimiters=Delimiters())


class AdtReceiver:
    def __init__(
        self,
        options: AdtOptions,
        store: ContextStore,
        rooms: tuple[Location, ...],
        *,
        source: str,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.options = options
        self.store = store
        self.rooms = rooms
        self.source = source
        self._clock = clock
        self._seen: OrderedDict[tuple[str, str, str], tuple[bytes, Outcome]] = OrderedDict()
        self.received = 0
        # What the source last *did* (for /status): a busy feed of messages for other
        # rooms must not hide it.
        self.last_applied: Outcome | None = None
        self.last_applied_time: datetime | None = None
        self.last_error: str | None = None

    async def handle(self, data: bytes, peer: str) -> bytes | None:
        """The ACK bytes (unframed) for one received message, or None if none is wanted."""
        now = self._clock()
        text = _decode(data)
        try:
            msg = parse_er7(text)
        except MessageRejected as err:
            header = _salvage_header(text)
            outcome = Outcome("AR", "unreadable message", err)
        else:
            header = header_of(msg)
            outcome = self._once(msg, header, data, now, peer)
        self._record(outcome, header, now, peer)
        code = answer_code(header, outcome.code)
        return None if code is None else build_ack(header, code, now, outcome.error)

    def _once(
        self, msg: Er7Message, header: AckHeader, data: bytes, now: datetime, peer: str
    ) -> Outcome:
        key = (header.sending_application, header.sending_facility, header.control_id)
        digest = hashlib.sha256(data).digest()
        seen = self._seen.get(key)
        if seen is not None and header.control_id:
            if seen[0] == digest:
                _LOGGER.info(
                    "%s: MSH-10 %s from %s again (a resend): acknowledged, not applied twice",
                    self.source, header.control_id, peer,
                )  # fmt: skip
                return replace(seen[1], summary="a resend, acknowledged again", acted=False)
            _LOGGER.warning(
                "%s: MSH-10 %s from %s reused for different content: applied as new",
                self.source, header.control_id, peer,
            )  # fmt: skip
        outcome = self._apply(msg, header, now)
        if header.control_id:
            self._seen[key] = (digest, outcome)
            self._seen.move_to_end(key)
            while len(self._seen) > _REMEMBERED:
                self._seen.popitem(last=False)
        return outcome

    def _apply(self, msg: Er7Message, header: AckHeader, now: datetime) -> Outcome:
        trigger = header.trigger or msg.get("EVN", 1)
        try:
            self._check_header(msg, trigger)
            ctx = TriggerContext(
                msg=msg, options=self.options, rooms=self.rooms, store=self.store,
                source=self.source, reference=header.control_id, now=now,
            )  # fmt: skip
            summary = apply(ctx, trigger)
        except AdtMessageError as err:
            return Outcome(err.ack_code, f"{msg.get('MSH', 9)}^{trigger} not applied", err)
        except ContextError as err:
            wrapped = MessageNotApplied(str(err), code=APPLICATION_INTERNAL_ERROR)
            return Outcome("AE", f"{msg.get('MSH', 9)}^{trigger} not applied", wrapped)
        except Exception:  # a bug here must not kill the connection or hide the message
            _LOGGER.exception("%s: applying MSH-10 %s failed", self.source, header.control_id)
            bug = MessageNotApplied(
                "internal error in vitalsd while applying the message (see its log)",
                code=APPLICATION_INTERNAL_ERROR,
            )
            return Outcome("AE", "internal error", bug)
        if not summary:
            return Outcome("AA", f"{msg.get('MSH', 9)}^{trigger}: not for the rooms served here")
        return Outcome("AA", summary, acted=True)

    def _check_header(self, msg: Er7Message, trigger: str) -> None:
        """AR conditions: the header says this message is not for this receiver."""

        def reject(text: str, code: str, field: int) -> MessageRejected:
            return MessageRejected(text, code=code, location=ErrorLocation("MSH", 1, field))

        kind = msg.get("MSH", 9).upper()
        if not msg.get("MSH", 10):
            raise reject("MSH-10 (message control id) is empty", REQUIRED_FIELD_MISSING, 10)
        if kind not in _MESSAGE_TYPES:
            raise reject(
                f"message type {kind[:10]!r} is not taken here (ADT and SIU only)",
                UNSUPPORTED_MESSAGE_TYPE,
                9,
            )
        if not trigger:
            raise reject("MSH-9.2 (trigger event) is empty", UNSUPPORTED_EVENT_CODE, 9)
        processing = msg.get("MSH", 11).upper()
        if processing != self.options.processing_id:
            raise reject(
                f"processing id {processing[:3]!r}: this receiver takes "
                f"{self.options.processing_id!r} only",
                UNSUPPORTED_PROCESSING_ID,
                11,
            )
        version = msg.get("MSH", 12)
        if not version.startswith("2."):
            raise reject(f"version {version[:10]!r} is not HL7 v2.x", UNSUPPORTED_VERSION_ID, 12)
        allowed = self.options.allowed_facilities
        facility = msg.get("MSH", 4)
        if allowed and facility not in allowed:
            raise reject(
                f"sending facility {facility[:20]!r} is not in allowed_facilities",
                APPLICATION_INTERNAL_ERROR,
                4,
            )

    def _record(self, outcome: Outcome, header: AckHeader, now: datetime, peer: str) -> None:
        self.received += 1
        if outcome.acted:
            self.last_applied, self.last_applied_time = outcome, now
        cid = header.control_id or "?"
        if outcome.error is not None:
            self.last_error = f"{outcome.code} for MSH-10 {cid}: {outcome.error}"
            _LOGGER.warning(
                "%s: MSH-10 %s from %s answered %s: %s", self.source, cid, peer, outcome.code,
                outcome.error,
            )  # fmt: skip
        elif outcome.acted:
            _LOGGER.info("%s: %s (MSH-10 %s)", self.source, outcome.summary, cid)
        else:
            _LOGGER.debug("%s: %s (MSH-10 %s)", self.source, outcome.summary, cid)
