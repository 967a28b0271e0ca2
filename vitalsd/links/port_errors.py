"""Turn what the OS and pyserial say about a port into messages a site admin can act on.

Each function returns the error to raise; the caller raises it ``from`` the original so
the raw text stays available in tracebacks and debug logs.
"""

from __future__ import annotations

import errno

from vitalsd.errors import DeviceError, DeviceTimeout, DeviceUnavailable, LinkError

_MISSING = {errno.ENOENT, errno.ENODEV, errno.ENXIO, errno.ENOTDIR}
_DENIED = {errno.EACCES, errno.EPERM}
_BUSY = {errno.EBUSY, errno.EAGAIN, errno.EWOULDBLOCK}
_GONE = {errno.EIO, errno.ENODEV, errno.ENXIO, errno.EBADF}
_REFUSED = {errno.ECONNREFUSED}
_UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.ENETDOWN}


def _errno_of(err: BaseException) -> int | None:
    """The errno behind an OSError or a pyserial SerialException (an OSError subclass)."""
    code = getattr(err, "errno", None)
    if isinstance(code, int):
        return code
    cause = err.__cause__ or err.__context__
    return _errno_of(cause) if cause is not None else None


def _reason(err: BaseException) -> str:
    """The OS's own words without pyserial's "could not open port ..." wrapping."""
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return str(err) or type(err).__name__


def tty_open_error(port: str, err: BaseException) -> LinkError:
    """Error for a local serial device that could not be opened."""
    code = _errno_of(err)
    if code in _MISSING:
        return DeviceUnavailable(
            f"{port}: no such device (is it plugged in? check /dev/serial/by-id/)"
        )
    if code in _DENIED:
        return LinkError(f"{port}: permission denied (add the service user to the 'dialout' group)")
    if code in _BUSY:
        return DeviceUnavailable(f"{port}: port busy (another program has it open)")
    if code == errno.ENOTTY or code == errno.EINVAL:
        return LinkError(f"{port}: not a serial port ({_reason(err)})")
    return DeviceUnavailable(f"{port}: cannot open serial port: {_reason(err)}")


def io_error(description: str, err: BaseException) -> LinkError:
    """Error for a read or write that failed on an open link."""
    code = _errno_of(err)
    if code in _GONE or isinstance(err, ConnectionError | EOFError):
        return DeviceUnavailable(f"{description}: disconnected ({_reason(err)})")
    return DeviceUnavailable(f"{description}: I/O error: {_reason(err)}")


def disconnected(description: str, how: str = "") -> DeviceUnavailable:
    """The port or peer went away while the link was open."""
    return DeviceUnavailable(f"{description}: disconnected{f' ({how})' if how else ''}")


def connect_error(description: str, err: BaseException) -> DeviceError:
    """Error for a network serial server (``socket://``, ``rfc2217://``) that refused us."""
    code = _errno_of(err)
    if code in _REFUSED:
        return DeviceUnavailable(f"{description}: connection refused")
    if code in _UNREACHABLE:
        return DeviceUnavailable(f"{description}: host unreachable")
    text = str(err)
    if "Connection refused" in text:  # pyserial's rfc2217 flattens the OSError into text
        return DeviceUnavailable(f"{description}: connection refused")
    if "timeout while waiting for option 'control'" in text:
        return DeviceUnavailable(
            f"{description}: server did not acknowledge SET_CONTROL "
            "(some servers, e.g. ser2net, need '?ign_set_control' on the URL)"
        )
    if "does not seem to support RFC2217" in text:
        return DeviceUnavailable(
            f"{description}: server does not speak RFC 2217 "
            "(for a raw TCP port use socket://host:port instead)"
        )
    if isinstance(err, TimeoutError) or "timed out" in text:
        return DeviceTimeout(f"{description}: no answer from the server")
    return DeviceUnavailable(f"{description}: cannot connect: {_reason(err)}")


def open_timeout(description: str, seconds: float) -> DeviceTimeout:
    """Opening did not finish in time (a hung USB driver, a silent server)."""
    return DeviceTimeout(f"{description}: no answer while opening within {seconds:g} s")
