"""``vitalsd hl7 ...``: HL7 tools for the interface analyst (entry point ``vitalsd.commands``)."""

from __future__ import annotations

import argparse
import sys

from hl7.sample import KINDS, sample_message

__all__ = ["register"]

_KIND_HELP = ", ".join(KINDS)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``hl7`` with its subcommands to the ``vitalsd`` command line."""
    hl7 = subparsers.add_parser("hl7", help="HL7 v2 (IHE PCD-01) tools: sample messages")
    sub = hl7.add_subparsers(dest="hl7_command", required=True, metavar="SUBCOMMAND")
    sample = sub.add_parser(
        "sample",
        help="print a sample ORU^R01 as vitalsd sends it",
        description=(
            "Print the ORU^R01 vitalsd sends for a sample reading, built by the real encoder "
            "from the sample device reports. Segments are printed one per line; --raw "
            "prints them joined by CR as on the wire (without MLLP framing)."
        ),
    )
    sample.add_argument("--kind", required=True, choices=KINDS, help=f"one of: {_KIND_HELP}")
    sample.add_argument(
        "--unassociated", action="store_true", help="no patient: placeholder PID and location"
    )
    sample.add_argument("--raw", action="store_true", help="segments joined by CR, as sent")
    sample.set_defaults(func=cmd_sample)


def cmd_sample(args: argparse.Namespace) -> int:
    message = sample_message(args.kind, associated=not args.unassociated)
    if args.raw:
        sys.stdout.write(message)
    else:
        sys.stdout.write(message.replace("\r", "\n") + "\n")
    sys.stdout.flush()
    return 0
