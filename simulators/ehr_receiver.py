"""An EHR interface engine's MLLP listener, with scripted acknowledgement behaviour.

Written from the protocol definition only (MLLP release 1: 0x0B message 0x1C 0x0D; HL7 v2
MSH/MSA/ERR), never from vitalsd's code, so a bug in the sender cannot hide behind the
same bug here. Every message is recorded as one JSON line (number, time, MSH-10, raw
text) before it is answered, so tests can check "every message at least once, in order,
duplicates only as identical bytes".

Behaviours (``--mode`` for every message, ``--script 3=AE,7=drop`` for single ones, by
the number of the message as received, counting from 1):
  AA CA         positive acknowledgement (original / enhanced mode)
  AE CE         application / commit error, with an ERR segment (``--err-code``)
  AR CR         reject, with an ERR segment
  noack         read the message, answer nothing
  late          answer AA after ``--late-delay`` seconds
  wrong         answer AA for a different MSH-10 only
  wrong+AA      an AA for a different MSH-10, then the right one
  drop          close the connection half-way through reading the message
  garbage       answer bytes that are not HL7
  AA+junk       AA followed by stray CR/LF and junk outside any frame
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import ssl
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from simulators.standalone import StandaloneCommand

VT, FS, CR = b"\x0b", b"\x1c", b"\x0d"
MODES = (
    "AA", "CA", "AE", "CE", "AR", "CR", "noack", "late", "wrong", "wrong+AA", "drop",
    "garbage", "AA+junk",
)  # fmt: skip


def parse_script(text: str) -> dict[int, str]:
    script: dict[int, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        number, _, mode = part.partition("=")
        if not number.isdigit() or mode not in MODES:
            raise ValueError(f"bad script entry {part!r}: want N=MODE with MODE one of {MODES}")
        script[int(number)] = mode
    return script


def msh_fields(message: bytes) -> list[str]:
    """MSH split on its own field separator (MSH-1 is the separator itself)."""
    first = message.split(CR, 1)[0].decode("utf-8", errors="replace")
    if not first.startswith("MSH") or len(first) < 4:
        return []
    sep = first[3]
    return ["MSH", sep, *first[4:].split(sep)]


def build_ack(message: bytes, code: str, *, control_id: str | None = None, err: str = "") -> bytes:
    f = msh_fields(message)

    def get(n: int) -> str:
        return f[n] if len(f) > n else ""

    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")  # no zone, like many real engines
    own_id = f"ACK{time.monotonic_ns() % 10**16}"
    segments = [
        f"MSH|^~\\&|{get(5)}|{get(6)}|{get(3)}|{get(4)}|{stamp}||ACK^R01^ACK|{own_id}|P|2.6",
        f"MSA|{code}|{get(10) if control_id is None else control_id}",
    ]
    if code not in ("AA", "CA"):
        hl7_code, _, text = (err or "207:Application internal error").partition(":")
        segments.append(f"ERR|||{hl7_code}^{text}^HL70357|E||||{text}")
    return ("\r".join(segments) + "\r").encode()


class Receiver:
    def __init__(
        self, mode: str, script: dict[int, str], record: IO[str] | None, *,
        late_delay: float, err: str,
    ) -> None:  # fmt: skip
        self.mode = mode
        self.script = script
        self.record = record
        self.late_delay = late_delay
        self.err = err
        self.count = 0  # messages begun, including ones we dropped half-way
        self.tasks: set[asyncio.Task[None]] = set()

    def next_mode(self) -> str:
        return self.script.get(self.count + 1, self.mode)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        buf = b""
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    return
                buf += data
                while True:
                    start = buf.find(VT)
                    if start < 0:
                        buf = b""
                        break
                    buf = buf[start:]
                    if self.next_mode() == "drop":
                        self.count += 1
                        self._log({"n": self.count, "dropped": True})
                        return
                    end = buf.find(FS + CR)
                    if end < 0:
                        break
                    message, buf = buf[1:end], buf[end + 2 :]
                    await self.answer(message, writer)
        except (ConnectionError, OSError):
            return
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def answer(self, message: bytes, writer: asyncio.StreamWriter) -> None:
        self.count += 1
        mode = self.script.get(self.count, self.mode)
        f = msh_fields(message)
        self._log(
            {
                "n": self.count,
                "time": time.time(),
                "control_id": f[10] if len(f) > 10 else None,
                "mode": mode,
                "raw": message.decode("utf-8", errors="replace"),
            }
        )
        out: bytes | None
        if mode in ("AA", "CA", "AE", "CE", "AR", "CR"):
            out = VT + build_ack(message, mode, err=self.err) + FS + CR
        elif mode == "AA+junk":
            out = VT + build_ack(message, "AA") + FS + CR + b"\r\n\n junk \r\n"
        elif mode == "wrong":
            out = VT + build_ack(message, "AA", control_id="NOT-YOURS") + FS + CR
        elif mode == "wrong+AA":
            out = (VT + build_ack(message, "AA", control_id="NOT-YOURS") + FS + CR
                   + VT + build_ack(message, "AA") + FS + CR)  # fmt: skip
        elif mode == "garbage":
            out = VT + b"\x00\xff this is not HL7 \x07" + FS + CR
        elif mode == "late":
            task = asyncio.create_task(self._late(message, writer), name="ehr.late-ack")
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
            out = None
        else:  # noack
            out = None
        if out is not None:
            writer.write(out)
            await writer.drain()

    async def _late(self, message: bytes, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(self.late_delay)
        with contextlib.suppress(ConnectionError, OSError, RuntimeError):
            writer.write(VT + build_ack(message, "AA") + FS + CR)
            await writer.drain()

    def _log(self, doc: dict[str, object]) -> None:
        if self.record is not None:
            self.record.write(json.dumps(doc) + "\n")
            self.record.flush()


def _server_ssl(cert: str | None, key: str | None, client_ca: str | None) -> ssl.SSLContext | None:
    if cert is None:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    if client_ca:
        ctx.load_verify_locations(client_ca)
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


async def run(args: argparse.Namespace) -> int:
    record = Path(args.record).open("a", encoding="utf-8") if args.record else None  # noqa: ASYNC230, SIM115
    receiver = Receiver(
        args.mode, parse_script(args.script), record, late_delay=args.late_delay, err=args.err_code
    )
    server = await asyncio.start_server(
        receiver.serve, args.host, args.port,
        ssl=_server_ssl(args.tls_cert, args.tls_key, args.tls_client_ca),
    )  # fmt: skip
    host, port = server.sockets[0].getsockname()[:2]
    print(json.dumps({"ready": True, "protocol": "ehr", "tcp": f"{host}:{port}"}), flush=True)  # noqa: T201
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()
    for task in list(receiver.tasks):
        task.cancel()
    if record is not None:
        record.close()
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2575, help="0 picks a free port")
    parser.add_argument("--mode", default="AA", choices=MODES, help="answer to every message")
    parser.add_argument("--script", default="", help="per-message answers: '3=AE,5=noack'")
    parser.add_argument("--record", help="append every received message here (JSON lines)")
    parser.add_argument("--late-delay", type=float, default=5.0, help="seconds, for 'late'")
    parser.add_argument(
        "--err-code", default="207:Application internal error", help="ERR-3 as CODE:TEXT"
    )
    parser.add_argument("--tls-cert", help="serve TLS with this certificate (PEM)")
    parser.add_argument("--tls-key", help="the certificate's key (PEM)")
    parser.add_argument("--tls-client-ca", help="require client certificates from this CA")


COMMAND = StandaloneCommand(
    name="ehr",
    prog="ehr_receiver",
    help="an EHR's MLLP receiver with scripted ACKs",
    description=__doc__.split("\n")[0],
    add_arguments=add_arguments,
    check=lambda args: parse_script(args.script),
    run=run,
    network_failure=lambda _args, err: f"cannot listen: {err.strerror or err}",
)
register = COMMAND.register  # adds ``ehr`` to ``vitalsd-sim``
main = COMMAND.main


if __name__ == "__main__":
    sys.exit(main())
