"""Open the production serial byte link for a configured port.

``port`` is either a device path (``/dev/ttyUSB0``, ``/dev/serial/by-id/...``, a pty or a
symlink to one) or a pyserial URL. Each form gets the transport that suits it:

- a device path: pyserial opens and configures the tty in a worker thread, then the
  event loop watches the raw fd (``tty.TtyLink``);
- ``socket://host:port`` (raw-TCP serial server): asyncio's own TCP transport with
  keepalive (``tcp.TcpLink``);
- ``rfc2217://host:port[?options]`` and any other pyserial URL: the blocking pyserial
  client behind a reader thread (``threaded.ThreadedLink``), because it has no file
  descriptor an event loop could watch.

Why not pyserial-asyncio(-fast): neither can drive ``rfc2217://`` (no usable fileno; -fast
raises NotImplementedError), so a thread-backed path is needed anyway; drivers want a
pull-style ``await link.read()`` rather than Protocol callbacks; and ``socket://`` is served
better by asyncio's TCP transport than by pyserial's socket handler.

Every failure is a ``LinkError`` (usually ``DeviceUnavailable``) or ``DeviceTimeout`` with a
message that names the port and the likely fix; the original exception is the cause.
"""

from __future__ import annotations

import importlib.util
import re
from urllib.parse import parse_qs, urlsplit

from vitalsd.errors import LinkError
from vitalsd.links.base import ByteLink, SerialSettings
from vitalsd.links.tcp import open_tcp_link
from vitalsd.links.threaded import open_threaded_link
from vitalsd.links.tty import open_tty_link

__all__ = ["open_serial_link"]

RFC2217_FORM = "rfc2217://<host>:<port>[?ign_set_control][&poll_modem][&timeout=<seconds>]"
_RFC2217_OPTIONS = {"ign_set_control", "poll_modem", "timeout", "logging"}
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


async def open_serial_link(port: str, settings: SerialSettings) -> ByteLink:
    """Open ``port`` with ``settings``; see the module docstring for the accepted forms."""
    if not port.strip():
        raise LinkError(
            "empty serial port (expected a device path like /dev/ttyUSB0, "
            "socket://<host>:<port> or rfc2217://<host>:<port>)"
        )
    match = _SCHEME.match(port)
    if match is None:
        return await open_tty_link(port, settings)
    scheme = match.group(1).lower()
    if scheme == "socket":
        return await open_tcp_link(port, settings)
    if scheme == "rfc2217":
        check_rfc2217_url(port)
        return await open_threaded_link(port, settings)
    if _pyserial_knows(scheme):
        return await open_threaded_link(port, settings)
    raise LinkError(
        f"{port}: unknown port type '{scheme}://' (expected a device path like /dev/ttyUSB0, "
        "socket://<host>:<port> or rfc2217://<host>:<port>)"
    )


def check_rfc2217_url(url: str) -> None:
    """Raise a LinkError naming the expected form unless ``url`` is a usable rfc2217 URL."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None or parts.path not in ("", "/"):
        raise LinkError(f"{url}: malformed RFC 2217 address (expected {RFC2217_FORM})")
    unknown = set(parse_qs(parts.query, keep_blank_values=True)) - _RFC2217_OPTIONS
    if unknown:
        raise LinkError(
            f"{url}: unknown option(s) {', '.join(sorted(unknown))} (expected {RFC2217_FORM})"
        )


def _pyserial_knows(scheme: str) -> bool:
    """Whether pyserial ships a URL handler for ``scheme`` (``loop``, ``spy``, ...)."""
    if not scheme.isalnum():
        return False
    return importlib.util.find_spec(f"serial.urlhandler.protocol_{scheme}") is not None
