"""Issue 8 end to end, as a site runs it: the EHR's ADT feed places a patient in a room.

Real processes throughout: two `vitalsd-sim accutorr3` cuffs (exam3, exam4) on
pseudo-terminals, `vitalsd-sim ehr` as the ORU receiver, `vitalsd-sim ehr-adt` as the
EHR's ADT sender, and `vitalsd run` with an `hl7_adt` context source. A01 puts the patient
in exam3 (its BP readings reach the EHR with that PID/PV1), A02 moves the patient to
exam4 (exam3's readings go unassociated, exam4's carry the patient), A03 ends it.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
from pathlib import Path

from tests.daemon_harness import (
    BIN,
    WAIT_S,
    Proc,
    config_file,
    daemon,
    hl7_output,
    read_jsonl,
    simulator,
    wait_for,
)

PATIENT = "id=MRN77 family=ROE given=ANN dob=19800101 sex=F visit=V9 poc=FM"
WHERE = "facility='Test Clinic'"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(
    tmp: Path, cuffs: dict[str, Path], ehr_port: int, adt_port: int, extra: str = ""
) -> Path:
    devices = "".join(
        f'[[devices]]\nid = "{room}-cuff"\ndriver = "accutorr3"\nport = "{tty}"\n'
        f'room = "{room}"\n[devices.options]\npoll_interval = 0.5\n\n'
        for room, tty in cuffs.items()
    )
    body = f"""
{devices}
[[context.sources]]
type = "hl7_adt"
name = "ehr-adt"
[context.sources.options]
bind = "127.0.0.1"
port = {adt_port}
allowed_facilities = ["HOSP"]
{extra}

"""
    return config_file(tmp, body + hl7_output(ehr_port))


def _bp(record: Path, after: int = 0) -> list[dict[str, list[str]]]:
    """BP messages the EHR received after the first ``after``: first segment of each type."""
    out = []
    for doc in read_jsonl(record)[after:]:
        raw = str(doc.get("raw", ""))
        if "MDC_PRESS_BLD_NONINV_SYS" in raw:
            segs: dict[str, list[str]] = {}
            for seg in raw.split("\r"):
                if seg:
                    segs.setdefault(seg[:3], seg.split("|"))
            out.append(segs)
    return out


def _room(msg: dict[str, list[str]]) -> str:
    return msg["PV1"][3].split("^")[1]


def _is_patient(msg: dict[str, list[str]]) -> bool:
    return msg["PID"][3] == "MRN77^^^HOSP^MR"


def _adt(port: int, *steps: str) -> list[dict[str, str]]:
    args = [str(BIN / "vitalsd-sim"), "ehr-adt", "--port", str(port)]
    for step in steps:
        args += ["--send", step]
    r = subprocess.run(args, capture_output=True, text=True, timeout=WAIT_S, check=False)
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines()]


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_adt_admit_transfer_discharge_drive_the_oru_patient(tmp_path: Path) -> None:
    record = tmp_path / "ehr.jsonl"
    cuffs = {"exam3": tmp_path / "exam3.tty", "exam4": tmp_path / "exam4.tty"}
    procs: list[Proc] = [ehr := simulator("ehr", "--port", "0", "--record", str(record))]
    for tty in cuffs.values():
        cuff = ("accutorr3", "--pty", "--link", str(tty), "--rate", "4", "--nibp-every", "4")
        procs.append(simulator(*cuff, "--spo2", "0"))
    d = None
    try:
        ehr_port = int(ehr.ready()["tcp"].rsplit(":", 1)[1])
        for sim in procs[1:]:
            sim.ready()
        adt_port = _free_port()
        d = daemon("run", "-c", str(_config(tmp_path, cuffs, ehr_port, adt_port)))
        wait_for(lambda: _listening(adt_port), "the ADT listener", proc=d)

        # A01: exam3's readings carry the patient, with the right PID and PV1.
        acks = _adt(adt_port, f"A01 {PATIENT} room=exam3 {WHERE}")
        assert [a["ack_code"] for a in acks] == ["AA"]
        wait_for(
            lambda: any(_is_patient(m) and _room(m) == "exam3" for m in _bp(record)),
            "a BP ORU from exam3 for the admitted patient",
            proc=d,
        )
        msg = next(m for m in _bp(record) if _is_patient(m))
        assert msg["PID"][5] == "ROE^ANN^^^^^L"
        assert msg["PID"][7:9] == ["19800101", "F"]
        assert msg["PV1"][3] == "FM^exam3^^Test Clinic"
        assert msg["PV1"][19].startswith("V9^")

        # A02 to exam4: exam4 now carries the patient, exam3 goes unassociated.
        mark = len(read_jsonl(record))
        acks = _adt(adt_port, f"A02 {PATIENT} room=exam4 prior_room=exam3 {WHERE}")
        assert [a["ack_code"] for a in acks] == ["AA"]
        wait_for(
            lambda: (
                any(_is_patient(m) and _room(m) == "exam4" for m in _bp(record, mark))
                and any(not _is_patient(m) and _room(m) == "exam3" for m in _bp(record, mark))
            ),
            "exam4 with the patient and exam3 without, after the transfer",
            proc=d,
        )

        # A03: the next readings from exam4 go unassociated.
        mark = len(read_jsonl(record))
        acks = _adt(adt_port, "A03 id=MRN77", "dup")  # a resend is acknowledged again
        assert [a["ack_code"] for a in acks] == ["AA", "AA"]
        wait_for(
            lambda: any(
                _room(m) == "exam4" and m["PID"][3].startswith("UNASSOCIATED^")
                for m in _bp(record, mark)
            ),
            "an unassociated exam4 reading after the discharge",
            proc=d,
        )
        # Messages for other rooms and other facilities' senders change nothing.
        acks = _adt(
            adt_port,
            f"A01 {PATIENT} room=ward9 {WHERE}",
            f"A01 {PATIENT} room=exam3 {WHERE} facility_from=OTHER",
        )
        assert [a["ack_code"] for a in acks] == ["AA", "AR"]

        d.signal(signal.SIGTERM)
        assert d.wait() == 0
        log = d.stderr()
        assert "Traceback" not in log
        assert "A01 associated a patient with FM/exam3" in log
        assert "A02 associated a patient with FM/exam4" in log
        assert "A03 ended the association in FM/exam4 (discharged)" in log
        assert "ROE" not in log and "MRN77" not in log  # no patient data at INFO
    finally:
        if d:
            d.stop()
        for sim in procs:
            sim.stop()


def test_config_check_names_a_missing_bind(tmp_path: Path) -> None:
    cfg = _config(tmp_path, {"exam3": tmp_path / "none.tty"}, 1, 2)
    text = cfg.read_text(encoding="utf-8").replace('bind = "127.0.0.1"\n', "")
    cfg.write_text(text, encoding="utf-8")
    r = subprocess.run(
        [str(BIN / "vitalsd"), "check", "-c", str(cfg)],
        capture_output=True, text=True, timeout=WAIT_S, check=False,
    )  # fmt: skip
    assert r.returncode == 2
    assert "context.sources[1].options.bind: missing required key" in r.stderr
    assert "Traceback" not in r.stderr


def test_an_admission_without_discharge_times_out(tmp_path: Path) -> None:
    record = tmp_path / "ehr.jsonl"
    cuffs = {"exam3": tmp_path / "exam3.tty"}
    procs: list[Proc] = [ehr := simulator("ehr", "--port", "0", "--record", str(record))]
    cuff = ("accutorr3", "--pty", "--link", str(cuffs["exam3"]), "--rate", "4")
    procs.append(simulator(*cuff, "--nibp-every", "4", "--spo2", "0"))
    d = None
    try:
        ehr_port = int(ehr.ready()["tcp"].rsplit(":", 1)[1])
        procs[1].ready()
        adt_port = _free_port()
        config = _config(tmp_path, cuffs, ehr_port, adt_port, 'timeout = "8s"')
        d = daemon("run", "-c", str(config))
        wait_for(lambda: _listening(adt_port), "the ADT listener", proc=d)
        assert _adt(adt_port, f"A04 {PATIENT} room=exam3 {WHERE}")[0]["ack_code"] == "AA"

        def first_associated() -> int | None:
            flags = [_is_patient(m) for m in _bp(record)]
            return flags.index(True) if True in flags else None

        wait_for(lambda: first_associated() is not None, "an associated reading", proc=d)
        # No A03 comes: after the source's timeout the readings go unassociated again.
        wait_for(
            lambda: any(not _is_patient(m) for m in _bp(record)[(first_associated() or 0) :]),
            "an unassociated reading after the association timed out",
            proc=d,
        )
        d.signal(signal.SIGTERM)
        assert d.wait() == 0
        assert "association ended (expired)" in d.stderr()
    finally:
        if d:
            d.stop()
        for sim in procs:
            sim.stop()
