"""An EHR interface engine sending ADT and SIU over MLLP, and recording the ACKs it gets.

Written from the HL7 v2.5.1 standard only (ch. 2 control and ACK, ch. 3 ADT, ch. 10 SIU;
MLLP release 1: 0x0B message 0x1C 0x0D), never from vitalsd's code. One step per message:

  vitalsd-sim ehr-adt --port 2575 \\
      --send "A01 id=MRN1 family=DOE given=JANE dob=19700101 sex=F room=EXAM1" \\
      --send "A02 id=MRN1 room=EXAM2 prior_room=EXAM1" --send dup --send "A03 id=MRN1"

Step keys: id authority family given dob sex visit | room poc bed facility (PV1-3, or
AIL-3 for SIU) prior_room prior_poc (PV1-6) | merge_id (A40 MRG-1) | start (SIU:
YYYYMMDDHHMMSS[+ZZZZ], ``now``, ``now+15m``, ``now-2h``) status (SCH-25) | control
(MSH-10) processing (MSH-11) version (MSH-12) accept_ack app_ack (MSH-15/16) facility_from
(MSH-4). Values with spaces are quoted: ``"A04 id=M1 facility='Test Clinic' room=x3"``.
``dup`` resends the previous message byte for byte. Each ACK is printed as one JSON line
(and appended to ``--record``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import shlex
import ssl
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

from simulators.standalone import StandaloneCommand

VT, FS, CR = b"\x0b", b"\x1c", b"\x0d"

# HL7 v2.5.1 ch. 3 / ch. 10: the message structure (MSH-9.3) of each trigger.
STRUCTURES = {
    "A01": "ADT_A01", "A02": "ADT_A02", "A03": "ADT_A03", "A04": "ADT_A01", "A05": "ADT_A05",
    "A08": "ADT_A01", "A11": "ADT_A09", "A12": "ADT_A12", "A13": "ADT_A01", "A28": "ADT_A05",
    "A40": "ADT_A39",
}  # fmt: skip
SIU_TRIGGERS = ("S12", "S13", "S14", "S15", "S17", "S26")
_ESCAPES = {"\\": "\\E\\", "|": "\\F\\", "^": "\\S\\", "&": "\\T\\", "~": "\\R\\"}
_OFFSET = re.compile(r"now(?:([+-])(\d+)([smh]))?")


def esc(value: str) -> str:
    """HL7 escaping for the standard delimiters (HL7 v2.5.1 ch. 2.7)."""
    return "".join(_ESCAPES.get(ch, ch) for ch in value)


@dataclass(frozen=True, slots=True)
class Step:
    """One message to send, as the step keys describe it."""

    trigger: str
    values: dict[str, str] = field(default_factory=dict)

    def get(self, key: str, default: str = "") -> str:
        return self.values.get(key, default)


def parse_step(text: str) -> Step:
    try:
        words = shlex.split(text)  # "room='Exam 3'" keeps its space
    except ValueError as err:
        raise ValueError(f"bad step {text!r}: {err}") from None
    if not words:
        raise ValueError("empty step")
    trigger = words[0].upper()
    if trigger != "DUP" and trigger not in STRUCTURES and trigger not in SIU_TRIGGERS:
        raise ValueError(f"unknown trigger {words[0]!r}: want one of {sorted(STRUCTURES)} "
                         f"or {list(SIU_TRIGGERS)} or dup")  # fmt: skip
    values: dict[str, str] = {}
    for word in words[1:]:
        key, sep, value = word.partition("=")
        if not sep:
            raise ValueError(f"bad step word {word!r}: want key=value")
        values[key] = value
    return Step(trigger, values)


def hl7_time(when: datetime) -> str:
    return when.strftime("%Y%m%d%H%M%S%z")


def _start(text: str, now: datetime) -> str:
    found = _OFFSET.fullmatch(text)
    if found is None:
        return text
    sign, amount, unit = found.groups()
    seconds = int(amount) * {"s": 1, "m": 60, "h": 3600}[unit] if unit else 0
    delta = timedelta(seconds=seconds)
    return hl7_time(now + delta if sign != "-" else now - delta)


def _pl(step: Step, prefix: str = "") -> str:
    room = step.get(prefix + "room")
    if not room:
        return ""
    parts = [step.get(prefix + "poc"), room, step.get(prefix + "bed"), step.get("facility")]
    return "^".join(esc(p) for p in parts).rstrip("^")


class Counter:
    def __init__(self) -> None:
        self.n = 0

    def next_id(self) -> str:
        self.n += 1
        return f"EHR{int(time.time()) % 10**8:08d}{self.n:04d}"


def build_message(step: Step, control_id: str, now: datetime | None = None) -> bytes:
    """The ER7 bytes of one step (segments joined by CR)."""
    now = now or datetime.now(UTC)
    t = step.trigger
    s = step.get
    siu = t in SIU_TRIGGERS
    structure = "SIU_S12" if siu else STRUCTURES[t]
    version = s("version", "2.5.1")
    msh = [
        "MSH", "^~\\&", "EPIC_ADT", s("facility_from", "HOSP"), "VITALSD", "CLINIC",
        hl7_time(now), "", f"{'SIU' if siu else 'ADT'}^{t}^{structure}",
        s("control", control_id), s("processing", "P"), version, "", "",
        s("accept_ack"), s("app_ack"),
    ]  # fmt: skip
    segments = ["|".join(msh).rstrip("|")]
    pid = [
        "PID", "1", "",
        f"{esc(s('id'))}^^^{esc(s('authority', 'HOSP'))}^MR" if s("id") else "",
        "", f"{esc(s('family'))}^{esc(s('given'))}" if s("family") or s("given") else "",
        "", s("dob"), s("sex"),
    ]  # fmt: skip
    pv1 = ["PV1", "1", "O", _pl(step), "", "", _pl(step, "prior_"), *[""] * 12, s("visit")]
    if siu:
        start = _start(s("start", "now"), now)
        sch = ["SCH", f"{control_id}^EHR", f"{control_id}^EHR", "", "", "", "^Routine visit"]
        sch += ["", "", "15", "min", f"^^^{start}", *[""] * 13, s("status", "Booked")]
        segments.append("|".join(sch))
        if s("id"):
            segments.append("|".join(pid).rstrip("|"))
        segments.append("RGS|1|A")
        if _pl(step):
            segments.append(f"AIL|1|A|{_pl(step)}|||{start}|||15|min")
        return ("\r".join(segments) + "\r").encode("utf-8")
    segments.append(f"EVN|{t}|{hl7_time(now)}")
    segments.append("|".join(pid).rstrip("|"))
    if t == "A40":
        segments.append(f"MRG|{esc(s('merge_id'))}^^^{esc(s('authority', 'HOSP'))}^MR")
    else:
        segments.append("|".join(pv1).rstrip("|"))
    return ("\r".join(segments) + "\r").encode("utf-8")


def msa_of(ack: bytes) -> tuple[str, str]:
    """MSA-1 and MSA-2 of an acknowledgement (empty when absent)."""
    text = ack.decode("utf-8", errors="replace")
    for segment in re.split(r"\r\n|\r|\n", text):
        if segment.startswith("MSA"):
            fields = segment.split(segment[3]) if len(segment) > 3 else ["MSA"]
            code = fields[1] if len(fields) > 1 else ""
            return code, fields[2].split("^")[0] if len(fields) > 2 else ""
    return "", ""


@dataclass(frozen=True, slots=True)
class Sent:
    control_id: str
    ack_code: str  # "" when no ACK came
    ack_control_id: str
    ack: bytes


class AdtSender:
    """One MLLP connection to the receiver; ``send`` returns the answer to one message."""

    def __init__(self, host: str, port: int, *, tls: ssl.SSLContext | None = None,
                 record: IO[str] | None = None) -> None:  # fmt: skip
        self.host, self.port, self.tls, self.record = host, port, tls, record
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._buf = b""
        self.counter = Counter()
        self.last: bytes | None = None

    async def connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(
            self.host, self.port, ssl=self.tls, server_hostname=self.host if self.tls else None
        )

    async def send_raw(self, data: bytes, timeout: float = 10.0) -> bytes:
        """Write ``data`` as is and return the next frame's body (b"" on close or timeout)."""
        if self._writer is None:
            await self.connect()
        assert self._writer is not None
        assert self._reader is not None
        self._writer.write(data)
        await self._writer.drain()
        try:
            async with asyncio.timeout(timeout):
                while True:
                    start = self._buf.find(VT)
                    end = self._buf.find(FS + CR, start + 1) if start >= 0 else -1
                    if end > 0:
                        body, self._buf = self._buf[start + 1 : end], self._buf[end + 2 :]
                        return body
                    chunk = await self._reader.read(65536)
                    if not chunk:
                        await self.close()
                        return b""
                    self._buf += chunk
        except TimeoutError:
            return b""

    async def send(self, message: bytes, timeout: float = 10.0) -> Sent:
        self.last = message
        control_id = message.split(b"\r", 1)[0].decode("utf-8", "replace").split("|")[9]
        ack = await self.send_raw(VT + message + FS + CR, timeout)
        code, acked = msa_of(ack)
        sent = Sent(control_id, code, acked, ack)
        if self.record is not None:
            self.record.write(json.dumps({"time": time.time(), "control_id": control_id,
                                          "ack_code": code, "ack": ack.decode("utf-8", "replace"),
                                          }) + "\n")  # fmt: skip
            self.record.flush()
        return sent

    async def step(self, step: Step) -> Sent:
        if step.trigger == "DUP":
            if self.last is None:
                raise ValueError("dup before any message")
            return await self.send(self.last)
        return await self.send(build_message(step, self.counter.next_id()))

    async def close(self) -> None:
        writer, self._writer, self._reader, self._buf = self._writer, None, None, b""
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await writer.wait_closed()


def _client_ssl(args: argparse.Namespace) -> ssl.SSLContext | None:
    if not args.tls_ca:
        return None
    ctx = ssl.create_default_context(cafile=args.tls_ca)
    if args.tls_cert:
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
    return ctx


async def run(args: argparse.Namespace) -> int:
    steps = [parse_step(text) for text in args.send]
    record = Path(args.record).open("a", encoding="utf-8") if args.record else None  # noqa: ASYNC230, SIM115
    sender = AdtSender(args.host, args.port, tls=_client_ssl(args), record=record)
    missing = 0
    try:
        for step in steps:
            sent = await sender.step(step)
            missing += not sent.ack_code
            print(json.dumps({"control_id": sent.control_id, "ack_code": sent.ack_code,  # noqa: T201
                              "ack_control_id": sent.ack_control_id}), flush=True)  # fmt: skip
    finally:
        await sender.close()
        if record is not None:
            record.close()
    return 1 if missing else 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2575)
    parser.add_argument(
        "--send", action="append", default=[], metavar="STEP",
        help="'TRIGGER key=value ...' or 'dup' (repeatable, sent in order)",
    )  # fmt: skip
    parser.add_argument("--record", help="append every ACK here (JSON lines)")
    parser.add_argument("--tls-ca", help="connect with TLS, verifying the server with this CA")
    parser.add_argument("--tls-cert", help="client certificate (PEM), for mutual TLS")
    parser.add_argument("--tls-key", help="the client certificate's key (PEM)")


def _check(args: argparse.Namespace) -> None:
    for text in args.send:
        parse_step(text)


COMMAND = StandaloneCommand(
    name="ehr-adt",
    prog="ehr_adt",
    help="an EHR sending scripted ADT/SIU over MLLP",
    description=__doc__.split("\n")[0],
    add_arguments=add_arguments,
    check=_check,
    run=run,
    network_failure=lambda args, err: f"cannot reach {args.host}:{args.port}: {err}",
)
register = COMMAND.register  # adds ``ehr-adt`` to ``vitalsd-sim``
main = COMMAND.main


if __name__ == "__main__":
    sys.exit(main())
