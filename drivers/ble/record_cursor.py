"""What a BLE device already delivered: the per-device cursor behind de-duplication.

Two facts per device, in the link's ``CursorStore``: the highest RACP sequence number
handed to the core (glucose records carry one, so the next download asks only for what
follows), and fingerprints of the last records seen (cuffs and scales resend their whole
memory and their records carry no sequence number). The cursor is saved after every
record handed on, so a drop mid-transfer neither loses nor repeats a record.
"""

from __future__ import annotations

import hashlib
import logging

from vitalsd.links.gatt import CursorStore

_LOGGER = logging.getLogger(__name__)

VERSION = 1
KEEP = 512  # more than any device's memory (A&D UA-651BLE keeps 40 readings)


def fingerprint(characteristic: str, data: bytes) -> str:
    """A stable name for one record value: the same stored record gives the same bytes."""
    digest = hashlib.sha256(characteristic.encode() + b"\x00" + data).hexdigest()
    return digest[:24]


class RecordCursor:
    """Loaded once per session; ``deliver`` marks a record handed on and saves."""

    def __init__(self, store: CursorStore) -> None:
        self.store = store
        state = store.load()
        if state.get("version") not in (None, VERSION):
            _LOGGER.warning("BLE cursor version %r unknown; starting afresh", state.get("version"))
            state = {}
        sequence = state.get("sequence")
        self.sequence: int | None = sequence if isinstance(sequence, int) else None
        seen = state.get("seen")
        self.seen: list[str] = (
            [s for s in seen if isinstance(s, str)][-KEEP:] if isinstance(seen, list) else []
        )
        self._seen_set = set(self.seen)
        self._save_failed = False

    def is_new(self, record: str) -> bool:
        return record not in self._seen_set

    def deliver(self, record: str, sequence: int | None = None) -> None:
        """Remember a record the core now has, and persist at once."""
        if record not in self._seen_set:
            self.seen.append(record)
            self._seen_set.add(record)
            if len(self.seen) > KEEP:
                self._seen_set.discard(self.seen.pop(0))
        if sequence is not None and (self.sequence is None or sequence > self.sequence):
            self.sequence = sequence
        self.save()

    def save(self) -> None:
        state: dict[str, object] = {"version": VERSION, "seen": self.seen}
        if self.sequence is not None:
            state["sequence"] = self.sequence
        try:
            self.store.save(state)
        except OSError as err:
            # The record is already with the core; an unsaved cursor costs repeats next
            # session (normalization de-duplicates those), never a reading.
            if not self._save_failed:
                _LOGGER.warning("cannot save the BLE record cursor: %s", err)
            self._save_failed = True
        else:
            self._save_failed = False
