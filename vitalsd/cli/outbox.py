"""``vitalsd outbox list|show|retry|drop``: what waits for delivery, for clinic IT.

Reads the same SQLite file the daemon writes (``state_dir/outbox.sqlite3``, found through
``-c vitalsd.toml``); safe while the daemon runs (WAL, busy timeout). Never creates it.
"""

from __future__ import annotations

import argparse
from datetime import datetime

from vitalsd.cli.commands import load
from vitalsd.logsetup import setup_logging
from vitalsd.outbox import Outbox, OutboxError, OutboxMessage


def _out(text: str = "") -> None:
    print(text)  # noqa: T201 - this is the command's output


def _when(t: datetime | None) -> str:
    return "-" if t is None else t.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _open(args: argparse.Namespace) -> Outbox:
    setup_logging("warning")
    cfg, _drivers, _outputs = load(args.config)
    return Outbox.open(cfg.daemon.state_dir, create=False)


def cmd_list(args: argparse.Namespace) -> int:
    box = _open(args)
    try:
        stats = box.stats()
        if not stats:
            _out(f"{box.path}: empty, nothing waits for delivery")
            return 0
        for s in stats:
            _out(
                f"{s.destination}: {s.pending} pending, {s.dead} dead letter(s), {s.bytes} bytes"
                + (f", oldest pending from {_when(s.oldest_pending)}" if s.oldest_pending else "")
            )
        rows = box.messages(destination=args.destination, state=args.state, limit=args.limit)
        _out()
        _out(f"{'ID':>8}  {'DESTINATION':<12} {'STATE':<7} {'CONTROL ID':<20} {'CREATED':<19} "
             f"{'TRIES':>5}  LAST ERROR")  # fmt: skip
        for m in rows:
            _out(
                f"{m.id:>8}  {m.destination:<12} {m.state:<7} {m.control_id:<20} "
                f"{_when(m.created):<19} {m.attempts:>5}  {(m.last_error or '')[:60]}"
            )
    finally:
        box.close()
    return 0


def _describe(m: OutboxMessage) -> list[str]:
    return [
        f"id:           {m.id}",
        f"destination:  {m.destination}",
        f"kind:         {m.kind}",
        f"control id:   {m.control_id}",
        f"state:        {m.state}",
        f"created:      {_when(m.created)}",
        f"attempts:     {m.attempts} (last {_when(m.last_attempt)})",
        f"last error:   {m.last_error or '-'}",
        *([f"dead since:   {_when(m.dead_at)}: {m.dead_reason}"] if m.state == "dead" else []),
        f"size:         {m.size} bytes",
    ]


def cmd_show(args: argparse.Namespace) -> int:
    box = _open(args)
    try:
        m = box.get(args.id)
    finally:
        box.close()
    if m is None:
        raise OutboxError(f"no message {args.id} in the outbox (delivered or dropped?)")
    for line in _describe(m):
        _out(line)
    _out()
    # Segments end with CR on the wire; one per line here so a terminal shows them all.
    _out(m.payload.decode("utf-8", errors="replace").replace("\r", "\n").rstrip("\n"))
    return 0


def cmd_retry(args: argparse.Namespace) -> int:
    box = _open(args)
    try:
        new = box.retry(args.id)
    finally:
        box.close()
    _out(f"message {args.id} queued again as {new}, behind what is already waiting")
    return 0


def cmd_drop(args: argparse.Namespace) -> int:
    box = _open(args)
    try:
        m = box.drop(args.id)
    finally:
        box.close()
    _out(f"dropped message {m.id} ({m.control_id} to {m.destination}); it will not be sent")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "outbox",
        help="list, show, retry or drop messages waiting for delivery",
        description="Inspect the durable outbox (HL7, MQTT) of a configured daemon.",
    )
    actions = parser.add_subparsers(dest="outbox_command", required=True, metavar="ACTION")

    def action(name: str, help_text: str, func: object, *, with_id: bool) -> None:
        p = actions.add_parser(name, help=help_text)
        p.add_argument("-c", "--config", required=True, help="path to vitalsd.toml")
        if with_id:
            p.add_argument("id", type=int, help="message id (from `vitalsd outbox list`)")
        p.set_defaults(func=func)
        if name == "list":
            p.add_argument("--destination", help="only this output")
            p.add_argument("--state", choices=("pending", "dead"), help="only this state")
            p.add_argument("--limit", type=int, default=50, help="rows to show (default 50)")

    action("list", "counts per destination and the oldest messages", cmd_list, with_id=False)
    action("show", "one message with its history and content", cmd_show, with_id=True)
    action(
        "retry", "queue a dead letter again (same bytes, same control id)", cmd_retry, with_id=True
    )
    action("drop", "remove a message for good", cmd_drop, with_id=True)
