"""``vitalsd-sim``: run a simulated device on a pseudo-terminal or a TCP port.

One subcommand per protocol (``vitalsd-sim masimo ...``); each shares the port, pacing
and byte-fault options of ``serial_port`` and ``faults``. The first line on stdout is a
JSON object announcing readiness (later lines announce replugs); logs go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import sys
from collections.abc import Sequence
from datetime import datetime

from simulators import (
    accutorr3,
    barcode_scanner,
    contec,
    detecto_solo,
    ehr_adt,
    ehr_receiver,
    nellcor,
    nonin_ascii,
    nonin_df2,
    sma_scale,
    suntech,
    suretemp,
)
from simulators.faults import FaultInjector, add_fault_arguments, faults_from_args
from simulators.masimo import MasimoDevice, MasimoLineSource, MasimoSettings, normalize_serial
from simulators.serial_port import add_port_arguments, plan_from_args, port_from_args, serve

_LOGGER = logging.getLogger("vitalsd-sim")


def _device_time(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time like 2016-02-22T22:47:45"
        ) from None


def _serial(text: str) -> str:
    try:
        return normalize_serial(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _add_masimo(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "masimo",
        help='Masimo Rad-8 serial output in mode "ASCII 1" (pulse oximeter)',
        description=(
            'A Masimo Rad-8 in serial mode "ASCII 1": one text line per device second with '
            "SpO2, pulse rate and perfusion index, values on a random walk around the "
            "baselines. The device clock starts at --start and gains 1 s per line, whatever "
            "the --rate."
        ),
    )
    add_port_arguments(p)
    dev = p.add_argument_group("device and patient")
    dev.add_argument(
        "--serial",
        type=_serial,
        default="0000056661",
        help="serial number for SN= (up to 10 letters/digits; '-' = never set)",
    )
    dev.add_argument("--spo2", type=int, default=97, help="SpO2 baseline, %% (default 97)")
    dev.add_argument("--bpm", type=int, default=72, help="pulse rate baseline, /min (default 72)")
    dev.add_argument("--pi", type=float, default=3.5, help="perfusion index baseline, %%")
    dev.add_argument("--seed", type=int, help="random seed, for repeatable runs")
    dev.add_argument(
        "--start", type=_device_time, metavar="TIME", help="device clock at the first line"
    )
    add_fault_arguments(p)
    periods = p.add_argument_group("device states (in device seconds, i.e. lines; 0 = never)")
    periods.add_argument(
        "--sensor-off-every",
        type=int,
        default=0,
        metavar="S",
        help="take the sensor off every S s (dashes; EXC sensor off / no sensor in turn)",
    )
    periods.add_argument("--sensor-off-for", type=int, default=5, metavar="S")
    periods.add_argument(
        "--silence-every", type=int, default=0, metavar="S", help="stop sending every S s"
    )
    periods.add_argument("--silence-for", type=int, default=5, metavar="S")
    p.set_defaults(run=_run_masimo)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vitalsd-sim",
        description=(
            "Simulated vital-signs devices speaking their real protocols over a "
            "pseudo-terminal or TCP, with fault injection. Run 'vitalsd-sim PROTOCOL --help'."
        ),
    )
    sub = parser.add_subparsers(dest="protocol", required=True, metavar="PROTOCOL")
    _add_masimo(sub)
    for module in (nonin_df2, nonin_ascii, contec):
        module.register(sub)
    for module in (sma_scale, detecto_solo, nellcor):
        module.register(sub)
    for module in (suntech, suretemp, accutorr3):
        module.register(sub)
    ehr_receiver.register(sub)
    ehr_adt.register(sub)
    barcode_scanner.register(sub)
    if importlib.util.find_spec("bumble") is not None:  # BLE peripherals need bumble (optional)
        from simulators.ble import health_cli, stream_cli

        health_cli.register(sub)
        stream_cli.register(sub)
    return parser


async def _run_masimo(args: argparse.Namespace) -> int:
    settings = MasimoSettings(
        serial=args.serial,
        spo2=args.spo2,
        bpm=args.bpm,
        pi=args.pi,
        start=args.start,
        seed=args.seed,
        sensor_off_every=args.sensor_off_every,
        sensor_off_for=args.sensor_off_for,
        silence_every=args.silence_every,
        silence_for=args.silence_for,
    )
    # A separate seed stream for faults keeps the values of a seeded run the same
    # whether or not faults are switched on.
    fault_seed = None if args.seed is None else args.seed + 1
    device = MasimoDevice(
        MasimoLineSource(settings), FaultInjector(faults_from_args(args), fault_seed)
    )
    return await serve(port_from_args(args), device, plan_from_args(args), "masimo")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is not None:  # simulators with their own entry (ehr)
        code: int = args.func(args)
        return code
    logging.basicConfig(level=logging.INFO, format="vitalsd-sim: %(message)s", stream=sys.stderr)
    try:
        plan_from_args(args)  # check pacing options before anything is opened
        result: int = asyncio.run(args.run(args))
    except ValueError as err:
        parser.error(str(err))  # exits 2 with usage and the message
    except OSError as err:
        _LOGGER.error("%s", err)
        return 1
    except KeyboardInterrupt:
        return 0
    return result


if __name__ == "__main__":
    sys.exit(main())
