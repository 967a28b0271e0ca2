"""``vitalsd context``: who is associated with which room, through the daemon's local API.

    vitalsd context show
    vitalsd context set --room exam3 --patient-id 12345 --authority HOSP --family Doe ...
    vitalsd context clear --room exam3        (or --device exam3-cuff)
    vitalsd context held list | release ID... | release --all | drop ID...

The token is read from ``--token-file``, else ``VITALSD_CONTEXT__API_TOKEN``, else the
config's ``[context] api_token_file`` (which only the service user can read: run as it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, TextIO

from vitalsd.cli.status import status_url
from vitalsd.errors import VitalsdError

TIMEOUT_S = 10.0
TOKEN_ENV = "VITALSD_CONTEXT__API_TOKEN"  # noqa: S105 - a variable name, not a secret


def _token(args: argparse.Namespace) -> str:
    path: Path | None = Path(args.token_file) if args.token_file else None
    if path is None and os.environ.get(TOKEN_ENV):
        return os.environ[TOKEN_ENV].strip()
    if path is None and args.config:
        from vitalsd.cli.commands import load

        cfg, _drivers, _outputs = load(args.config)
        if cfg.context.api_token:
            return cfg.context.api_token
        path = cfg.context.api_token_file
    if path is None:
        raise VitalsdError(
            f"no API token: pass --token-file, set {TOKEN_ENV}, or -c the config "
            "that names [context] api_token_file"
        )
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as err:
        raise VitalsdError(
            f"cannot read the token file {path}: {err.strerror} (run as the service user?)"
        ) from None


def request(
    args: argparse.Namespace, method: str, path: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    base = status_url(args)
    url = base + path
    if not url.startswith(("http://", "https://")):
        raise VitalsdError(f"{base}: not an http:// URL")
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - checked above
    req.add_header("Authorization", f"Bearer {_token(args)}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:  # noqa: S310
            doc: dict[str, Any] = json.load(resp)
            return doc
    except urllib.error.HTTPError as err:
        try:
            message = json.load(err).get("error", err.reason)
        except ValueError:
            message = err.reason
        raise VitalsdError(f"vitalsd refused ({err.code}): {message}") from None
    except urllib.error.URLError as err:
        raise VitalsdError(
            f"cannot reach vitalsd at {url}: {err.reason} (is the service running?)"
        ) from None
    except (OSError, ValueError) as err:
        raise VitalsdError(f"bad answer from {url}: {err}") from None


def _where(a: dict[str, Any]) -> str:
    if a.get("device"):
        return str(a["device"])
    loc = a.get("location", {})
    bed = f" bed {loc['bed']}" if loc.get("bed") else ""
    return f"{loc.get('room', '?')}{bed}"


def _print_associations(doc: dict[str, Any], out: TextIO) -> None:
    associations = doc.get("associations", [])
    if not associations:
        out.write("no associations: readings go out unassociated\n")
    for a in associations:
        p = a["patient"]
        name = ", ".join(x for x in (p.get("family_name"), p.get("given_name")) if x)
        ident = p["id"] + (f"^{p['assigning_authority']}" if p.get("assigning_authority") else "")
        out.write(
            f"{_where(a)}: {ident} {name or '(no name)'} by {a['source']} since {a['since']}"
            f"{' until ' + a['expires'] if a.get('expires') else ''}\n"
        )


def cmd_context(args: argparse.Namespace, out: TextIO) -> int:
    action = args.action
    if action == "show":
        doc = request(args, "GET", "/context")
        if args.json:
            out.write(json.dumps(doc, indent=1) + "\n")
        else:
            _print_associations(doc, out)
        return 0
    if action == "set":
        patient = {
            k: v
            for k, v in (
                ("id", args.patient_id),
                ("assigning_authority", args.authority),
                ("family_name", args.family),
                ("given_name", args.given),
                ("birth_date", args.birth_date),
                ("sex", args.sex),
                ("visit_number", args.visit),
            )
            if v is not None
        }
        body: dict[str, Any] = {"patient": patient}
        for key in ("room", "device", "bed"):
            if getattr(args, key):
                body[key] = getattr(args, key)
        if args.expires_in:
            body["expires_in"] = args.expires_in
        doc = request(args, "POST", "/context", body)
        _print_associations({"associations": [doc["association"]]}, out)
        return 0
    if action == "clear":
        params = {k: getattr(args, k) for k in ("room", "device", "bed") if getattr(args, k)}
        doc = request(args, "DELETE", "/context?" + urllib.parse.urlencode(params))
        out.write(f"{len(doc['ended'])} association(s) ended\n")
        return 0
    return _held(args, out)


def _held(args: argparse.Namespace, out: TextIO) -> int:
    if args.held_action == "list":
        doc = request(args, "GET", "/context/held")
        if args.json:
            out.write(json.dumps(doc, indent=1) + "\n")
            return 0
        if not doc["held"]:
            out.write("no held readings\n")
        for h in doc["held"]:
            out.write(f"{h['id']}  {h['device_id']}  {h['metric']}  {h['time']}  {h['reason']}\n")
        return 0
    if not args.all and not args.ids:
        raise VitalsdError(f"name the held readings to {args.held_action}, or pass --all")
    body: dict[str, Any] = {"all": True} if args.all else {"ids": args.ids}
    doc = request(args, "POST", f"/context/held/{args.held_action}", body)
    count = doc.get("released", doc.get("dropped", 0))
    verb = "released (sent unassociated)" if args.held_action == "release" else "dropped"
    out.write(f"{count} held reading(s) {verb}\n")
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--config", help="read the [http] address and token file from here")
    p.add_argument("--url", help="endpoint base URL (default http://127.0.0.1:8765)")
    p.add_argument("--token-file", help=f"file with the API token (else ${TOKEN_ENV})")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "context",
        help="show or change which patient each room is associated with",
        description="Patient/room association through the running daemon's local API.",
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="the associations in force")
    _common(show)
    show.add_argument("--json", action="store_true")
    st = actions.add_parser("set", help="associate a patient with a room or device")
    _common(st)
    where = st.add_mutually_exclusive_group(required=True)
    where.add_argument("--room")
    where.add_argument("--device")
    st.add_argument("--bed")
    st.add_argument("--patient-id", required=True, help="PID-3 identifier (MRN)")
    st.add_argument("--authority", help="PID-3 assigning authority")
    st.add_argument("--family", help="family name")
    st.add_argument("--given", help="given name")
    st.add_argument("--birth-date", help="YYYY-MM-DD")
    st.add_argument("--sex", help="F, M, O, U, A or N")
    st.add_argument("--visit", help="visit (encounter) number, PV1-19")
    st.add_argument("--expires-in", help='lifetime, e.g. "2h" (default: [context] timeout)')
    cl = actions.add_parser("clear", help="end the association of a room or device")
    _common(cl)
    cwhere = cl.add_mutually_exclusive_group(required=True)
    cwhere.add_argument("--room")
    cwhere.add_argument("--device")
    cl.add_argument("--bed")
    held = actions.add_parser("held", help="readings held by the stale-record guard")
    held_actions = held.add_subparsers(dest="held_action", required=True, metavar="ACTION")
    hl = held_actions.add_parser("list", help="list held readings")
    _common(hl)
    hl.add_argument("--json", action="store_true")
    for name, text in (
        ("release", "send held readings unassociated"),
        ("drop", "discard held readings (logged)"),
    ):
        hp = held_actions.add_parser(name, help=text)
        _common(hp)
        hp.add_argument("ids", nargs="*", help="held reading ids (see `held list`)")
        hp.add_argument("--all", action="store_true", help="every held reading")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    return cmd_context(args, sys.stdout)


__all__ = ["cmd_context", "register"]
