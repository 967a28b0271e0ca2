"""The EHR receiver simulator on its own, over raw sockets (no vitalsd code in the loop)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

from tests.test_mllp import Ehr

MSG = b"MSH|^~\\&|APP|FAC|EHR|HOSP|20250314103012+0000||ORU^R01^ORU_R01|CTRL1|P|2.6\rPID|||1\r"


def _exchange(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = b""
        try:
            while not chunks.endswith(b"\x1c\r"):
                chunk = s.recv(4096)
                if not chunk:
                    break
                chunks += chunk
        except TimeoutError:
            pass
        return chunks


def test_ready_line_ack_and_record(tmp_path: Path) -> None:
    ehr = Ehr(tmp_path, "--script", "2=AE", "--err-code", "204:Unknown patient")
    try:
        ack = _exchange(ehr.port, b"\r\n\x0b" + MSG + b"\x1c\r")
        assert ack.startswith(b"\x0bMSH|^~\\&|EHR|HOSP|APP|FAC|") and b"\rMSA|AA|CTRL1\r" in ack
        ae = _exchange(ehr.port, b"\x0b" + MSG + b"\x1c\r")
        assert b"\rMSA|AE|CTRL1\rERR|||204^Unknown patient^HL70357|E||||Unknown patient\r" in ae
        got = ehr.received()
        assert [(d["n"], d["control_id"], d["raw"].encode()) for d in got] == [
            (1, "CTRL1", MSG),
            (2, "CTRL1", MSG),
        ]
    finally:
        ehr.stop()


def test_drop_closes_mid_frame_and_wrong_answers_another_id(tmp_path: Path) -> None:
    ehr = Ehr(tmp_path, "--script", "1=drop,2=wrong")
    try:
        assert _exchange(ehr.port, b"\x0b" + MSG + b"\x1c\r") == b""
        assert b"MSA|AA|NOT-YOURS" in _exchange(ehr.port, b"\x0b" + MSG + b"\x1c\r")
        lines = [json.loads(x) for x in ehr.record.read_text().splitlines()]
        assert lines[0] == {"n": 1, "dropped": True}
    finally:
        ehr.stop()


def test_bad_script_is_one_clear_line() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "simulators.ehr_receiver", "--port", "0", "--script", "1=MAYBE"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert r.returncode == 2
    assert r.stderr.startswith("vitalsd-sim ehr: bad script entry '1=MAYBE'")
    assert "Traceback" not in r.stderr
