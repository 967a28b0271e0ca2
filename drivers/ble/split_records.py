"""Records a device splits over two values: the first part held until the second comes.

Body Composition Measurement 0x2A9C (ble-health.md §2.3): with flags bit 12 set the
record is split over two indications, each with its own flags; the pair is one record.
The two parts are handed on back to back (``weight.parse_body_composition_record`` reads
them so) and fingerprinted together, so the cursor sees one record. A first part whose
second never comes (the link dropped between them) is dropped: the cursor has not
marked it, so the device's next session sends the record again whole.
"""

from __future__ import annotations

import logging

from drivers.ble.weight import is_split_part

_LOGGER = logging.getLogger(__name__)

BODY_COMPOSITION_MEASUREMENT = 0x2A9C


class SplitRecords:
    """Per characteristic, the first part of a split record, waiting for its second."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._first: dict[int, bytes] = {}
        self.incomplete = 0

    def join(self, uuid: int, data: bytes) -> bytes | None:
        """The whole record, or None while it waits for its second part."""
        if uuid != BODY_COMPOSITION_MEASUREMENT:
            return data
        held = self._first.pop(uuid, None)
        if not is_split_part(data):
            if held is not None:
                self._give_up(uuid)
            return data
        if held is None:
            self._first[uuid] = data
            return None
        return held + data

    def close(self) -> None:
        """The session is over: a part still waiting will not be completed."""
        for uuid in list(self._first):
            del self._first[uuid]
            self._give_up(uuid)

    def _give_up(self, uuid: int) -> None:
        self.incomplete += 1
        _LOGGER.warning(
            "%s: %04X record split in two packets arrived incomplete; dropped (the device "
            "sends it again next session)",
            self.name,
            uuid,
        )
