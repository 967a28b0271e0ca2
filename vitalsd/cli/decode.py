"""``vitalsd decode``: what vitalsd makes of bytes captured in the field."""

from __future__ import annotations

import argparse
import codecs
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfoNotFoundError

from vitalsd.app import device_kind
from vitalsd.clock import zone
from vitalsd.driver import Driver
from vitalsd.errors import VitalsdError
from vitalsd.jsondoc import event_doc, identity_doc, observation_doc
from vitalsd.links.gatt import BASE_UUID_SUFFIX, normalize_uuid
from vitalsd.model import DeviceEvent, DeviceIdentity, DriverReport, Location, Measurement
from vitalsd.normalize import DeviceProfile, NormalizationPolicy, Normalizer
from vitalsd.registry import load_drivers

_HEX_SEPARATORS = re.compile(r"[\s:,-]|0x", re.IGNORECASE)


def capture_bytes(args: argparse.Namespace) -> bytes:
    if args.hex is not None:
        digits = _HEX_SEPARATORS.sub("", args.hex)
        try:
            return bytes.fromhex(digits)
        except ValueError:
            raise VitalsdError(
                "--hex: not hexadecimal bytes (expected pairs like '01 81 0a' or '01810a')"
            ) from None
    if args.text is not None:
        try:
            # Escapes let a line with its CR LF be pasted on one shell line.
            return codecs.decode(args.text, "unicode_escape").encode("latin-1")
        except (UnicodeError, ValueError) as err:
            raise VitalsdError(f"--text: bad escape sequence ({err})") from None
    path = Path(args.file)
    try:
        return path.read_bytes()
    except OSError as err:
        raise VitalsdError(f"cannot read {path}: {err.strerror or err}") from None


def _decode_characteristic(
    driver: type[Driver], args: argparse.Namespace, data: bytes
) -> list[DriverReport]:
    # The core may not import BLE drivers by name: it asks the driver class.
    decode = getattr(driver, "decode_characteristic", None)
    if decode is None:
        raise VitalsdError(f"driver {args.driver!r} does not decode BLE characteristics")
    text = args.characteristic.lower().removeprefix("0x")
    if len(text) == 36 and not text.endswith(BASE_UUID_SUFFIX):
        # A vendor's 128-bit characteristic (Nonin, BerryMed, Jumper ...).
        decode_vendor = getattr(driver, "decode_notification", None)
        if decode_vendor is None:
            raise VitalsdError(f"driver {args.driver!r} decodes no vendor characteristic")
        vendor_reports: list[DriverReport] = decode_vendor(text, data)
        return vendor_reports
    if len(text) == 36:
        text = text[4:8]  # the SIG short form inside the base UUID
    try:
        uuid = int(text, 16)
    except ValueError:
        uuid = -1
    if not 0 <= uuid <= 0xFFFF:
        raise VitalsdError(
            f"--characteristic: expected a 16-bit UUID in hex (2a35), got {args.characteristic!r}"
        )
    reports: list[DriverReport] = decode(uuid, data, tolerant=args.tolerant)
    return reports


def _decode_advertisement(
    driver: type[Driver], args: argparse.Namespace, data: bytes
) -> list[DriverReport]:
    decode = getattr(driver, "decode_advertisement", None)
    if decode is None:
        raise VitalsdError(f"driver {args.driver!r} does not decode BLE advertisements")
    if args.uuid is None:
        raise VitalsdError("--advertisement needs --uuid: the service-data UUID (e.g. 181d)")
    if args.characteristic is not None:
        raise VitalsdError("give either --advertisement or --characteristic, not both")
    try:
        uuid = normalize_uuid(args.uuid)
    except ValueError:
        raise VitalsdError(f"--uuid: not a Bluetooth UUID: {args.uuid!r}") from None
    reports: list[DriverReport] = decode(uuid, data)
    return reports


def decode_capture(args: argparse.Namespace, out: TextIO) -> int:
    drivers = load_drivers().plugins
    driver = drivers.get(args.driver)
    if driver is None:
        raise VitalsdError(
            f"unknown driver {args.driver!r}; installed: {', '.join(sorted(drivers)) or 'none'}"
        )
    data = capture_bytes(args)
    try:
        tz = zone(args.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise VitalsdError(f"--timezone: unknown time zone {args.timezone!r}") from None
    profile = DeviceProfile(
        device_id="decode",
        driver=args.driver,
        kind=device_kind(driver),
        location=Location(),
        timezone=tz,
    )
    if getattr(args, "advertisement", False):
        reports, rejected = _decode_advertisement(driver, args, data), 0
    elif getattr(args, "uuid", None) is not None:
        raise VitalsdError("--uuid goes with --advertisement")
    elif args.characteristic is not None:
        reports, rejected = _decode_characteristic(driver, args, data), 0
    else:
        decoder = driver.new_decoder()
        reports = decoder.feed(data) + decoder.flush()
        rejected = decoder.errors
    # A capture is old by nature: its clock says nothing about the device's drift now.
    normalizer = Normalizer(NormalizationPolicy(max_clock_skew=None))
    received = datetime.now(UTC)
    identity = DeviceIdentity()
    observations: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for report in reports:
        if isinstance(report, DeviceIdentity):
            identity = report
        elif isinstance(report, DeviceEvent):
            events.append(event_doc(report))
        elif isinstance(report, Measurement):
            obs = normalizer.normalize(profile, identity, report, received)
            if obs is not None:
                doc = observation_doc(obs)
                for key in ("id", "device_id", "receive_time", "location"):
                    doc.pop(key)  # meaningless for a capture
                observations.append(doc)
    result = {
        "driver": args.driver,
        "bytes": len(data),
        "identity": identity_doc(identity),
        "observations": observations,
        "events": events,
        "rejected_frames": rejected,
    }
    out.write(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return 0
