"""Issue 8 end to end, as a site runs it: a wristband scan over a pty associates exam3,
and the next blood pressure from the room's cuff reaches the EHR with that patient.

Real processes throughout: `vitalsd-sim barcode` and `vitalsd-sim accutorr3` on
pseudo-terminals, `vitalsd-sim ehr` as the MLLP receiver, `vitalsd run` on a config file.
"""

from __future__ import annotations

import signal
from pathlib import Path

from tests.daemon_harness import config_file, daemon, hl7_output, read_jsonl, simulator, wait_for

WRISTBAND = "^MRN^12345^DOE^JANE^19800101^F"
PATTERN = (
    r"\^MRN\^(?P<id>[^^]+)\^(?P<family_name>[^^]*)\^(?P<given_name>[^^]*)\^"
    r"(?P<birth_date>\d{8})\^(?P<sex>[MFOUAN])"
)


def _config(tmp: Path, cuff: Path, scanner: Path, ehr_port: int, jsonl: Path) -> Path:
    body = f"""
[http]
port = 0  # any free port: other tests' daemons may be running

[[devices]]
id = "exam3-cuff"
driver = "accutorr3"
port = "{cuff}"
room = "exam3"
[devices.options]
poll_interval = 1.0

[[context.sources]]
type = "barcode"
name = "exam3-scanner"
[context.sources.options]
port = "{scanner}"
room = "exam3"
pattern = '{PATTERN}'
assigning_authority = "HOSP"
confirm = "room_label"
confirm_within = 30

"""
    jsonl_output = f'\n[[outputs]]\ntype = "jsonl"\n[outputs.options]\npath = "{jsonl}"\n'
    return config_file(tmp, body + hl7_output(ehr_port) + jsonl_output)


def _segments(doc: dict[str, object]) -> dict[str, list[str]]:
    """The first segment of each type, split into fields (index = field number)."""
    found: dict[str, list[str]] = {}
    for seg in str(doc.get("raw", "")).split("\r"):
        if seg:
            found.setdefault(seg[:3], seg.split("|"))
    return found


def _bp_messages(record: Path) -> list[dict[str, list[str]]]:
    return [
        _segments(doc)
        for doc in read_jsonl(record)
        if "MDC_PRESS_BLD_NONINV_SYS" in str(doc.get("raw", ""))
    ]


def _associated(record: Path) -> list[dict[str, list[str]]]:
    return [m for m in _bp_messages(record) if m["PID"][3].startswith("12345^")]


def test_scan_and_room_label_associate_the_next_bp_reading_at_the_ehr(tmp_path: Path) -> None:
    cuff, scanner = tmp_path / "cuff.tty", tmp_path / "scanner.tty"
    record, jsonl = tmp_path / "ehr.jsonl", tmp_path / "out.jsonl"
    procs = [
        ehr := simulator("ehr", "--port", "0", "--record", str(record)),
        simulator(
            "accutorr3", "--pty", "--link", str(cuff), "--rate", "2", "--nibp-every", "8",
            "--spo2", "0",
        ),
        simulator(
            "barcode", "--pty", "--link", str(scanner), "--aim", "]C1",
            "--wait", "1", "--scan", "NOT A WRISTBAND",
            "--wait", "0.5", "--scan", WRISTBAND,
            "--wait", "1", "--scan", "ROOM:EXAM3",
        ),
    ]  # fmt: skip
    d = None
    try:
        ehr_port = int(ehr.ready()["tcp"].rsplit(":", 1)[1])
        for sim in procs[1:]:
            sim.ready()
        d = daemon("run", "-c", str(_config(tmp_path, cuff, scanner, ehr_port, jsonl)))
        wait_for(lambda: bool(_associated(record)), "a BP ORU for the scanned patient", proc=d)
        msg = _associated(record)[0]
        assert msg["PID"][3] == "12345^^^HOSP^MR"
        assert msg["PID"][5] == "DOE^JANE^^^^^L"
        assert msg["PID"][7:9] == ["19800101", "F"]
        assert msg["PV1"][3] == "FM^exam3^^Test Clinic"
        d.signal(signal.SIGTERM)
        assert d.wait() == 0
        log = d.stderr()
        assert "Traceback" not in log
        assert "rejected: no match" in log  # the stray scan, without its text
        assert "associated exam3" in log
        assert "DOE" not in log and "NOT A WRISTBAND" not in log
    finally:
        if d:
            d.stop()
        for sim in procs:
            sim.stop()
