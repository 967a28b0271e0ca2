"""``vitalsd``: the command line. Every user mistake ends in one clear line, not a traceback."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points

from vitalsd import __version__
from vitalsd.cli import commands, pair, scan, status, tail
from vitalsd.cli import context as context_cli
from vitalsd.cli import outbox as outbox_cli
from vitalsd.errors import ConfigError, VitalsdError

_LOGGER = logging.getLogger(__name__)

COMMANDS_GROUP = "vitalsd.commands"

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2  # bad command line or bad config: the same family to scripts


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vitalsd",
        description=(
            "Vital-signs device integration daemon: reads BP cuffs, pulse oximeters, scales "
            "and thermometers over serial and BLE, and delivers normalized readings to the "
            "EHR (HL7 v2 / IHE PCD-01) and to MQTT."
        ),
    )
    parser.add_argument("--version", action="version", version=f"vitalsd {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the daemon with a config file")
    run.add_argument("-c", "--config", required=True, help="path to vitalsd.toml")
    run.add_argument("--log-level", help="override daemon.log_level (debug, info, ...)")
    run.set_defaults(func=commands.cmd_run)

    check = sub.add_parser("check", help="validate a config file and exit (0 = usable)")
    check.add_argument("-c", "--config", required=True, help="path to vitalsd.toml")
    check.set_defaults(func=commands.cmd_check)

    drivers = sub.add_parser("drivers", help="list installed device drivers")
    drivers.set_defaults(func=commands.cmd_drivers)

    outputs = sub.add_parser("outputs", help="list installed outputs")
    outputs.set_defaults(func=commands.cmd_outputs)

    decode = sub.add_parser(
        "decode",
        help="show what vitalsd makes of bytes captured from a device",
        description=(
            "Decode captured device bytes with a driver and print the normalized observations, "
            "device events and identity as JSON. Nothing is sent anywhere."
        ),
    )
    decode.add_argument("--driver", required=True, help="driver name (see `vitalsd drivers`)")
    src = decode.add_mutually_exclusive_group(required=True)
    src.add_argument("--hex", help='bytes as hex, spaces or colons allowed ("01 81 01 00 83")')
    src.add_argument(
        "--text",
        help=r"bytes as text; escapes like \r \n \x02 are understood",
    )
    src.add_argument("--file", help="a binary capture file")
    decode.add_argument("--timezone", help="zone of the device clock (default: this machine's)")
    decode.add_argument(
        "--characteristic",
        metavar="UUID",
        help=(
            "the bytes are one BLE GATT characteristic value "
            "(16-bit UUID, e.g. 2a35, or a vendor's full 128-bit UUID)"
        ),
    )
    decode.add_argument(
        "--tolerant",
        action="store_true",
        help="with --characteristic: accept documented device quirks (logged)",
    )
    decode.add_argument(
        "--advertisement",
        action="store_true",
        help="the bytes are one BLE advertisement's service-data payload (give --uuid)",
    )
    decode.add_argument(
        "--uuid",
        metavar="UUID",
        help="with --advertisement: the service-data UUID (e.g. 181d, or the full form)",
    )
    decode.set_defaults(func=commands.cmd_decode)

    demo = sub.add_parser(
        "demo",
        help="run simulated devices into the daemon and show the readings",
        description=(
            "Starts simulated devices (the same bytes real devices send, over pseudo-terminals "
            "and a TCP serial server) and runs the daemon on them with an embedded config. "
            "Readings appear on the terminal and in a JSON-lines file."
        ),
    )
    demo.add_argument("--duration", type=float, help="stop after this many seconds")
    demo.add_argument(
        "--mqtt",
        metavar="HOST[:PORT]",
        help="also publish to this MQTT broker (default: localhost:1883 if one answers; "
        "'off' to skip)",
    )
    demo.add_argument(
        "--workdir", help="where to put the demo config and output (default: a temp dir)"
    )
    demo.add_argument(
        "--log-level",
        default="warning",
        help="daemon log level (default: warning; info shows more)",
    )
    demo.set_defaults(func=commands.cmd_demo)
    status.add_parser(sub)
    outbox_cli.register(sub)
    scan.register(sub)
    pair.register(sub)
    tail.register(sub)
    context_cli.register(sub)
    _add_plugin_commands(sub)
    return parser


def _add_plugin_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Plugins may add subcommands (``vitalsd hl7 ...``) through ``vitalsd.commands``.

    Each entry point is ``register(subparsers) -> None`` and sets ``func`` on its parser.
    A broken one is left out with a warning rather than breaking the whole CLI.
    """
    for ep in sorted(entry_points(group=COMMANDS_GROUP), key=lambda e: e.name):
        try:
            ep.load()(sub)
        except Exception as err:  # noqa: BLE001 - one bad plugin must not break the CLI
            print(  # noqa: T201
                f"vitalsd: command plugin {ep.name!r} ({ep.value}) left out: {err}",
                file=sys.stderr,
            )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except ConfigError as err:
        for problem in err.problems:
            print(f"vitalsd: {problem}", file=sys.stderr)  # noqa: T201
        return EXIT_USAGE
    except VitalsdError as err:
        print(f"vitalsd: {err}", file=sys.stderr)  # noqa: T201
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
