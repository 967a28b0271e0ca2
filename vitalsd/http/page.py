"""The status page for clinic IT: plain server-rendered HTML that reloads itself.

No JavaScript on purpose: it works in any browser a clinic has, and a meta refresh keeps
working when a fetch-based page would silently freeze on a stale error.
"""

from __future__ import annotations

from html import escape
from typing import Any

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em;margin:0 0 .2em} .summary{color:#555;margin-bottom:1em}
table{border-collapse:collapse;margin-bottom:1.5em;min-width:40em}
th,td{border-bottom:1px solid #ddd;padding:.35em .7em;text-align:left}
th{background:#f3f3f3} .state{font-weight:600;border-radius:.3em;padding:.1em .5em}
.online{background:#d8f5d8;color:#145214} .offline,.failing{background:#fbdada;color:#7a1010}
.connecting,.starting{background:#fff1c9;color:#6b4b00} .stopped{background:#e5e5e5}
.ok{background:#d8f5d8;color:#145214}
"""


def _cell(value: object) -> str:
    return f"<td>{escape('' if value is None else str(value))}</td>"


def _state(value: str) -> str:
    v = escape(value)
    return f'<td><span class="state {v}">{v}</span></td>'


def render_page(status: dict[str, Any], refresh: float) -> str:
    rows = []
    for d in status["devices"]:
        ident = " ".join(p for p in (d["identity"]["make"], d["identity"]["model"]) if p)
        rows.append(
            f'<tr class="device" data-device="{escape(d["id"])}" data-state="{escape(d["state"])}">'
            + _cell(d["id"])
            + _state(d["state"])
            + _cell(d["last_reading"] or "never")
            + _cell(d["accepted"])
            + _cell(d["reconnects"])
            + _cell(ident or d["driver"])
            + _cell(d["port"])
            + _cell(d["last_error"])
            + "</tr>"
        )
    outs = []
    for o in status["outputs"]:
        state = "failing" if o["failing"] else "ok"
        outs.append(
            f'<tr class="output" data-output="{escape(o["name"])}" data-state="{state}">'
            + _cell(o["name"])
            + _state(state)
            + _cell(o["queued"])
            + _cell(o["delivered"])
            + _cell(o["last_error"])
            + "</tr>"
        )
    no_devices = '<tr><td colspan="8">no devices configured</td></tr>'
    ctx = status["context"]
    assoc = [
        f'<tr class="context" data-where="{escape(a["where"])}">'
        + _cell(a["where"])
        + _cell(a["patient_name"] or "(no name)")
        + _cell(a["patient_id"])
        + _cell(a["source"])
        + _cell(a["since"])
        + _cell(a["expires"] or "never")
        + "</tr>"
        for a in ctx["associations"]
    ]
    idle = [r for r in ctx["rooms"] if r not in {a["room"] for a in ctx["associations"]}]
    assoc += [
        f'<tr class="context" data-where="{escape(r)}">'
        + _cell(r)
        + '<td colspan="5">no patient: readings go out unassociated</td></tr>'
        for r in idle
    ]
    sources = [
        f'<tr class="source" data-source="{escape(x["name"])}">'
        + _cell(x["name"])
        + _state("online" if x["state"] == "running" else "failing")
        + _cell(x["last_event_summary"])
        + _cell(x["last_error"])
        + "</tr>"
        for x in ctx["sources"]
    ]
    held_note = (
        f'<div id="held">{ctx["held"]} reading(s) held by the stale-record guard '
        "(vitalsd context held list)</div>"
        if ctx["held"]
        else ""
    )
    site = escape(status["site"])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{refresh:g}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vitalsd {site}: {escape(status["summary"])}</title><style>{_STYLE}</style></head>
<body><h1>vitalsd &middot; {site}</h1>
<div class="summary" id="summary">{escape(status["summary"])} &middot; version
{escape(status["version"])} &middot; updated {escape(status["time"])}
(refreshes every {refresh:g} s)</div>
<h2>Devices</h2>
<table id="devices"><thead><tr><th>Device</th><th>State</th><th>Last reading</th>
<th>Readings</th><th>Reconnects</th><th>Make / model</th><th>Port</th><th>Last error</th>
</tr></thead><tbody>{"".join(rows) or no_devices}</tbody></table>
<h2>Outputs</h2>
<table id="outputs"><thead><tr><th>Output</th><th>State</th><th>Queued</th>
<th>Delivered</th><th>Last error</th></tr></thead><tbody>{"".join(outs)}</tbody></table>
<h2>Patients</h2>{held_note}
<table id="context"><thead><tr><th>Room / device</th><th>Patient</th><th>Patient id</th>
<th>Associated by</th><th>Since</th><th>Ends</th></tr></thead>
<tbody>{"".join(assoc)}</tbody></table>
{
        '<h2>Context sources</h2><table id="sources"><thead><tr><th>Source</th><th>State</th>'
        "<th>Last event</th><th>Last error</th></tr></thead><tbody>"
        + "".join(sources)
        + "</tbody></table>"
        if sources
        else ""
    }
</body></html>
"""
