"""A Datascope Accutorr 3 PC interface, written from the protocol definition.

Source: shared/reference/serial-protocols.md §9 (Accutorr 3 service manual pp.1-37,
1-52, 1-53). Plain ASCII, 8N1, no checksum. At power-up (here: when the cable is first
connected) the monitor sends ``ACCUTORR PC Interface is ready`` and a ``>`` prompt;
single-letter commands follow: ``P`` patient data, ``L`` alarm limits, ``C`` prompt.

Field padding copies the manual's one example, ``P:--,85,120, 45, 80,000,010,000, 5``:
SpO2 and pulse unpadded, pressures 3 wide with spaces, status bytes 3 digits, minutes
2 wide. Other characters are not documented: they get a new prompt. Must not import
vitalsd.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from dataclasses import dataclass

from simulators.faults import FaultInjector, FaultSettings, add_fault_arguments, faults_from_args
from simulators.serial_port import add_port_arguments, plan_from_args, port_from_args, serve

_LOGGER = logging.getLogger(__name__)

BANNER = b"ACCUTORR PC Interface is ready\r\n>"
LIMITS = b"L:100, 90,120, 50,200, 80,150, 60,110, 40\r\n>"  # plausible factory limits


def patient_line(
    spo2: int | None,
    pulse: int | None,
    nibp: tuple[int, int, int] | None,
    status: tuple[int, int, int],
    minutes: int | None,
) -> bytes:
    """A ``P:`` reply (with its CR LF, without the following prompt)."""
    sys_, mean, dia = (f"{v:3d}" for v in nibp) if nibp else ("--", "--", "--")
    fields = [
        "--" if spo2 is None else str(spo2),
        "--" if pulse is None else str(pulse),
        sys_,
        mean,
        dia,
        *(f"{s:03d}" for s in status),
        "--" if minutes is None else f"{minutes:2d}",
    ]
    return ("P:" + ",".join(fields) + "\r\n").encode("ascii")


@dataclass(frozen=True, slots=True)
class AccutorrSettings:
    spo2: int | None = 97  # None: no SpO2 sensor (dashes)
    pulse: int = 72
    sys: int = 120
    dia: int = 80
    nibp_every: int = 0  # ticks between NIBP measurements (0: only the first one)
    minute_ticks: int = 60  # ticks in one device minute

    def __post_init__(self) -> None:
        if not 40 <= self.dia < self.sys <= 280:
            raise ValueError(f"--sys {self.sys} / --dia {self.dia}: need 40 <= dia < sys <= 280")
        if self.spo2 is not None and not 50 <= self.spo2 <= 100:
            raise ValueError(f"--spo2 {self.spo2}: expected 50 to 100")
        if self.minute_ticks < 1 or self.nibp_every < 0:
            raise ValueError("--minute-ticks must be at least 1, --nibp-every not negative")


class Accutorr3Monitor:
    def __init__(
        self,
        settings: AccutorrSettings,
        send: Callable[[bytes], None] | None = None,
        *,
        faults: FaultInjector | None = None,
    ) -> None:
        self.settings = settings
        self.send = send or (lambda data: None)
        self.faults = faults or FaultInjector(FaultSettings())
        self._ticks = 0
        self._since_nibp = 0
        self.nibp_count = 1  # one NIBP was taken just before power-up
        self._booted = False

    def _out(self, data: bytes) -> None:
        wire, faults = self.faults.apply(data)
        if faults:
            _LOGGER.debug("reply: injected %s", ", ".join(map(str, faults)))
        self.send(wire)

    def nibp(self) -> tuple[int, int, int]:
        s = self.settings
        # A fresh measurement moves a little, so each one is told apart by its values.
        sys_ = s.sys + self.nibp_count % 3
        dia = s.dia + self.nibp_count % 2
        return sys_, round(dia + (sys_ - dia) / 3), dia

    def patient(self) -> bytes:
        s = self.settings
        return patient_line(
            s.spo2, s.pulse, self.nibp(), (0, 0, 0), self._since_nibp // s.minute_ticks
        )

    def on_input(self, data: bytes) -> None:
        for char in data:
            if char in b"Pp":
                self._out(self.patient() + b">")
            elif char in b"Ll":
                self._out(LIMITS)
            elif char not in b"\r\n":
                self._out(b">")  # "C", and anything undocumented: a fresh prompt

    def next_frame(self) -> bytes | None:
        self._ticks += 1
        self._since_nibp += 1
        every = self.settings.nibp_every
        if every and self._ticks % every == 0:
            self.nibp_count += 1
            self._since_nibp = 0
        if not self._booted:
            self._booted = True
            return BANNER
        return None


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "accutorr3",
        help="Datascope Accutorr 3 PC interface (NIBP and SpO2, polled)",
        description="An Accutorr 3 answering P, L and C; a new NIBP every --nibp-every ticks.",
    )
    add_port_arguments(p)
    dev = p.add_argument_group("patient and device")
    dev.add_argument("--spo2", type=int, default=97, help="SpO2, %% (0: no SpO2 sensor)")
    dev.add_argument("--pulse", type=int, default=72, help="pulse rate, /min")
    dev.add_argument("--sys", type=int, default=120, help="systolic, mmHg")
    dev.add_argument("--dia", type=int, default=80, help="diastolic, mmHg")
    dev.add_argument("--nibp-every", type=int, default=300, metavar="TICKS")
    dev.add_argument("--minute-ticks", type=int, default=60, metavar="TICKS")
    add_fault_arguments(p)
    p.set_defaults(run=_run)


async def _run(args: argparse.Namespace) -> int:
    settings = AccutorrSettings(
        spo2=args.spo2 or None,
        pulse=args.pulse,
        sys=args.sys,
        dia=args.dia,
        nibp_every=args.nibp_every,
        minute_ticks=args.minute_ticks,
    )
    monitor = Accutorr3Monitor(settings, faults=FaultInjector(faults_from_args(args)))
    port = port_from_args(args)
    port.on_input = monitor.on_input
    monitor.send = port.write
    return await serve(port, monitor, plan_from_args(args), "accutorr3")
