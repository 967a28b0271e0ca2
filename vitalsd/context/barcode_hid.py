"""A USB HID ("keyboard wedge") scanner read straight from its evdev node.

Reading ``/dev/input/by-id/...-event-kbd`` ourselves, and grabbing it (EVIOCGRAB), keeps
scans out of whatever desktop session runs on the room PC: a wristband typed into an open
chat window is a privacy incident.

Each read returns whole ``struct input_event`` records (linux/input.h; 64-bit layout:
struct timeval as two longs, then u16 type, u16 code, s32 value = 24 bytes). A scanner
"types" the label: EV_KEY events with value 1 (down), 0 (up), 2 (auto-repeat); Shift is
held for capitals and symbols; Enter ends the scan. Key codes are those of
linux/input-event-codes.h, mapped with the US layout (scanners are set to it by default).
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import logging
import os
import struct

from vitalsd.context.barcode_reader import MAX_SCAN_BYTES, ScannerUnavailable, ScanReader

_LOGGER = logging.getLogger(__name__)

EVENT = struct.Struct("@llHHi")  # struct input_event on a 64-bit kernel: 24 bytes
EV_KEY = 0x01  # linux/input-event-codes.h
KEY_DOWN, KEY_UP, KEY_REPEAT = 1, 0, 2
EVIOCGRAB = 0x40044590  # _IOW('E', 0x90, int), linux/input.h
UNMAPPED = "\ufffd"  # a key with no character: the scan is then unreadable

KEY_ENTER, KEY_KPENTER = 28, 96
KEY_LEFTSHIFT, KEY_RIGHTSHIFT = 42, 54

# key code -> (unshifted, shifted), US layout; codes from linux/input-event-codes.h.
_ROWS: list[tuple[int, str, str]] = [
    (2, "1234567890-=", "!@#$%^&*()_+"),  # KEY_1 (2) .. KEY_EQUAL (13)
    (15, "\tqwertyuiop[]", "\tQWERTYUIOP{}"),  # KEY_TAB (15) .. KEY_RIGHTBRACE (27)
    (30, "asdfghjkl;'`", 'ASDFGHJKL:"~'),  # KEY_A (30) .. KEY_GRAVE (41)
    (43, "\\zxcvbnm,./", "|ZXCVBNM<>?"),  # KEY_BACKSLASH (43) .. KEY_SLASH (53)
]
KEYMAP: dict[int, tuple[str, str]] = {}
for _start, _plain, _shifted in _ROWS:
    for _i, (_p, _s) in enumerate(zip(_plain, _shifted, strict=True)):
        KEYMAP[_start + _i] = (_p, _s)
KEYMAP[57] = (" ", " ")  # KEY_SPACE
# Keypad (NumLock on, as scanners that "type on the keypad" assume).
_KEYPAD = {71: "7", 72: "8", 73: "9", 74: "-", 75: "4", 76: "5", 77: "6", 78: "+",
           79: "1", 80: "2", 81: "3", 82: "0", 83: ".", 55: "*", 98: "/"}  # fmt: skip
for _code, _char in _KEYPAD.items():
    KEYMAP[_code] = (_char, _char)
# Keys that change nothing in the text (the other modifiers; Ctrl/Alt combos are not
# label characters and are dropped with their key).
_IGNORED = {1, 29, 56, 58, 97, 100, 125, 126}  # ESC, CTRLs, ALTs, CAPSLOCK, METAs


class KeyDecoder:
    """``input_event`` bytes in, scans out. Partial records wait for the rest."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._text: list[str] = []
        self._shift: set[int] = set()
        self._ctrl = False

    def feed(self, data: bytes) -> list[str]:
        self._buf += data
        scans: list[str] = []
        whole = len(self._buf) - len(self._buf) % EVENT.size
        for _sec, _usec, type_, code, value in EVENT.iter_unpack(bytes(self._buf[:whole])):
            if type_ != EV_KEY:
                continue  # EV_SYN, EV_MSC (scan codes), LEDs
            scan = self._key(code, value)
            if scan is not None:
                scans.append(scan)
        del self._buf[:whole]
        return scans

    def _key(self, code: int, value: int) -> str | None:
        if code in (KEY_LEFTSHIFT, KEY_RIGHTSHIFT):
            if value == KEY_UP:
                self._shift.discard(code)
            else:
                self._shift.add(code)
            return None
        if code in (29, 97):  # KEY_LEFTCTRL, KEY_RIGHTCTRL
            self._ctrl = value != KEY_UP
            return None
        if value != KEY_DOWN:
            return None  # releases; auto-repeat never happens within a scan
        if code in (KEY_ENTER, KEY_KPENTER):
            text, self._text = "".join(self._text), []
            return text or None
        if code in _IGNORED or self._ctrl:
            return None
        chars = KEYMAP.get(code)
        if len(self._text) < MAX_SCAN_BYTES:
            self._text.append(UNMAPPED if chars is None else chars[1 if self._shift else 0])
        return None


def grab(fd: int, path: str) -> bool:
    """Take the device for ourselves, so its keystrokes reach no desktop. False if not."""
    try:
        fcntl.ioctl(fd, EVIOCGRAB, 1)
    except OSError as err:
        if err.errno == errno.EBUSY:
            _LOGGER.warning(
                "barcode scanner %s: another program has grabbed it; scans may also "
                "be typed into the desktop",
                path,
            )
        else:  # ENOTTY/EINVAL: not an evdev node (a FIFO in tests, a replay file)
            _LOGGER.debug("barcode scanner %s: not grabbed (%s)", path, err.strerror)
        return False
    return True


def open_error(path: str, err: OSError) -> ScannerUnavailable:
    if err.errno in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
        return ScannerUnavailable(
            f"barcode scanner {path}: not there (unplugged? check /dev/input/by-id/)"
        )
    if err.errno in (errno.EACCES, errno.EPERM):
        return ScannerUnavailable(
            f"barcode scanner {path}: permission denied (add the service user to the "
            "'input' group, or install the udev rule)"
        )
    return ScannerUnavailable(f"barcode scanner {path}: cannot open: {err.strerror or err}")


class HidScanReader(ScanReader):
    """An evdev keyboard node (or anything carrying ``input_event`` records)."""

    def __init__(self, path: str, fd: int, grabbed: bool) -> None:
        self.description = path
        self.path = path
        self.grabbed = grabbed
        self._fd = fd
        self._decoder = KeyDecoder()
        self._ready: list[str] = []
        self._loop = asyncio.get_running_loop()

    @classmethod
    async def open(cls, path: str, *, want_grab: bool = True) -> HidScanReader:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as err:
            raise open_error(path, err) from err
        return cls(path, fd, grab(fd, path) if want_grab else False)

    async def next_scan(self) -> str:
        while not self._ready:
            data = await self._read()
            self._ready.extend(self._decoder.feed(data))
        return self._ready.pop(0)

    async def _read(self) -> bytes:
        woken = False
        while True:
            if self._fd < 0:
                raise ScannerUnavailable(f"barcode scanner {self.path}: closed")
            try:
                data = os.read(self._fd, EVENT.size * 64)
            except BlockingIOError:
                data = None
            except OSError as err:  # ENODEV: the scanner was unplugged
                raise ScannerUnavailable(
                    f"barcode scanner {self.path}: disconnected ({err.strerror or err})"
                ) from err
            if data:
                return data
            # A FIFO with no writer yet reads as end of file at once; only "readable
            # yet empty" after a wake-up means the writer (the scanner) went away.
            if woken and data is not None:
                raise ScannerUnavailable(f"barcode scanner {self.path}: disconnected")
            await self._readable()
            woken = True

    async def _readable(self) -> None:
        waiter: asyncio.Future[None] = self._loop.create_future()

        def wake() -> None:
            if not waiter.done():
                waiter.set_result(None)

        fd = self._fd
        self._loop.add_reader(fd, wake)
        try:
            await waiter
        finally:
            self._loop.remove_reader(fd)

    async def close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            # Closing the fd also releases the grab.
            os.close(fd)
