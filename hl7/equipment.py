"""OBX-18 Equipment Instance Identifier of the device (MDS) row.

PCD-01 expects the device's EUI-64 (shared/reference/hl7-pcd01.md §1.6, §1.8), written
``<EUI-64>^^<EUI-64>^EUI-64``. In order of preference:

1. the EUI-64 the device reported (11073-20601 System-Id, BLE DIS System ID);
2. an EUI-64 derived from a 48-bit MAC address (the IEEE EUI-48 → EUI-64 mapping, FFFE
   inserted after the OUI), which is stable for as long as the device keeps its address;
3. the site's device id from the config under the sending application's namespace
   (``exam3-cuff^VITALSD``): stable and unique per site, and honest — it is never passed
   off as an EUI-64. Ids longer than the 16 characters receivers keep (§4.8) are replaced
   by a stable hash of the id.
"""

from __future__ import annotations

import hashlib
import re

from hl7.escape import escape
from vitalsd.model import DeviceIdentity

__all__ = ["equipment_id", "eui64_of"]

_EI1_LENGTH = 16  # Gazelle PCD-01 profile: EI-1 ≤ 16 (§1.5, §4.8)
_SEPARATORS = re.compile(r"[\s:.\-]")
_HEX16 = re.compile(r"[0-9A-F]{16}")
_HEX12 = re.compile(r"[0-9A-F]{12}")


def eui64_of(identity: DeviceIdentity) -> str | None:
    """The device's EUI-64 as 16 upper-case hex digits, or None if it has none we trust."""
    if identity.eui64:
        digits = _SEPARATORS.sub("", identity.eui64).upper()
        if _HEX16.fullmatch(digits):
            return digits
    if identity.address:
        digits = _SEPARATORS.sub("", identity.address).upper()
        if _HEX12.fullmatch(digits):
            return f"{digits[:6]}FFFE{digits[6:]}"
    return None


def equipment_id(identity: DeviceIdentity, device_id: str, namespace: str) -> str:
    """OBX-18 of the device row (already escaped)."""
    eui = eui64_of(identity)
    if eui is not None:
        return f"{eui}^^{eui}^EUI-64"
    local = device_id
    if len(local) > _EI1_LENGTH or not local.isascii():
        local = "D" + hashlib.sha256(device_id.encode()).hexdigest()[: _EI1_LENGTH - 1].upper()
    return f"{escape(local)}^{escape(namespace)}"
