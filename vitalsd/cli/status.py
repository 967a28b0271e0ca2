"""``vitalsd status``: the running daemon's status in the terminal, from its HTTP endpoint."""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.request
from typing import Any, TextIO

from vitalsd.config import HttpConfig
from vitalsd.errors import VitalsdError
from vitalsd.supervisor import WAITING_FOR_ADVERTISEMENT

TIMEOUT_S = 5.0


def status_url(args: argparse.Namespace) -> str:
    if args.url:
        return str(args.url).rstrip("/")
    http = HttpConfig()
    if args.config:
        from vitalsd.cli.commands import load  # the same loader as `run`, errors and all

        cfg, _drivers, _outputs = load(args.config)
        if not cfg.http.enabled:
            raise VitalsdError(f"{args.config}: [http] enabled = false: no status endpoint")
        http = cfg.http
    host = "127.0.0.1" if http.bind in ("0.0.0.0", "::", "") else http.bind  # noqa: S104
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{http.port}"


def fetch_status(base: str) -> dict[str, Any]:
    url = f"{base}/status"
    if not url.startswith(("http://", "https://")):
        raise VitalsdError(f"{base}: not an http:// URL")
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as resp:  # noqa: S310 - checked
            doc: dict[str, Any] = json.load(resp)
    except urllib.error.URLError as err:
        raise VitalsdError(
            f"cannot reach vitalsd at {url}: {err.reason} "
            "(is the service running? `systemctl status vitalsd`; is [http] enabled?)"
        ) from None
    except (OSError, ValueError) as err:
        raise VitalsdError(f"bad answer from {url}: {err}") from None
    return doc


def print_status(doc: dict[str, Any], out: TextIO) -> None:
    out.write(f"vitalsd {doc['version']} at site {doc['site']}: {doc['summary']}\n\n")
    rows: list[tuple[str, ...]] = [
        ("DEVICE", "STATE", "LAST READING", "READINGS", "RECONNECTS", "LAST ERROR")
    ]
    for d in doc["devices"]:
        rows.append(
            (
                d["id"],
                d["state"],
                d["last_reading"] or "never",
                str(d["accepted"]),
                str(d["reconnects"]),
                d["last_error"] or "",
            )
        )
    _table(rows, out)
    out.write("\n")
    orows: list[tuple[str, ...]] = [("OUTPUT", "STATE", "QUEUED", "DELIVERED", "LAST ERROR")]
    for o in doc["outputs"]:
        state = "failing" if o["failing"] else "ok"
        orows.append((o["name"], state, str(o["queued"]), str(o["delivered"]), ""))
        if o["failing"]:
            orows[-1] = (*orows[-1][:4], o["last_error"] or "")
    _table(orows, out)


def _table(rows: list[tuple[str, ...]], out: TextIO) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        cells = [c.ljust(w) for c, w in zip(r, widths, strict=False)]
        out.write(("  ".join([*cells, r[-1]])).rstrip() + "\n")


def cmd_status(args: argparse.Namespace, out: TextIO) -> int:
    doc = fetch_status(status_url(args))
    if args.json:
        out.write(json.dumps(doc, indent=1) + "\n")
    else:
        print_status(doc, out)
    # A BLE device between sessions is offline by design: waiting is not a problem.
    offline = [
        d
        for d in doc["devices"]
        if d["state"] != "online" and d.get("last_error") != WAITING_FOR_ADVERTISEMENT
    ]
    failing = [o for o in doc["outputs"] if o["failing"]]
    return 3 if offline or failing else 0  # like `systemctl status`: 0 only when all is well


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "status",
        help="show the running daemon's devices and outputs",
        description=(
            "Ask the running daemon (its local HTTP endpoint) for its status. Exit 0 when every "
            "device is online and every output delivers, 3 when something needs a look, "
            "1 when the daemon cannot be reached."
        ),
    )
    p.add_argument("-c", "--config", help="read the [http] address from this config")
    p.add_argument("--url", help="endpoint base URL (default http://127.0.0.1:8765)")
    p.add_argument("--json", action="store_true", help="print the raw JSON status")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import sys

    return cmd_status(args, sys.stdout)


__all__ = ["add_parser", "cmd_status"]
