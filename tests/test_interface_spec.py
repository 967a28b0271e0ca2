"""docs/interface-spec.md is what ``python -m hl7.spec`` prints, and ``vitalsd hl7 sample`` works."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hl7.sample import KINDS, sample_message
from hl7.spec import render
from vitalsd.cli.main import main
from vitalsd.normalize.codes import DEVICE_PROFILES, METRIC_CODES

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "interface-spec.md"


def test_committed_interface_spec_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/interface-spec.md is out of date: run "
        "`.venv/bin/python -m hl7.spec > docs/interface-spec.md`"
    )


def test_spec_names_every_code_and_sample() -> None:
    doc = render()
    for code in METRIC_CODES.values():
        assert f"`{code.code}^{code.refid}^MDC`" in doc
        assert f"`{code.unit.code}^{code.unit.refid}^MDC`" in doc
        if code.loinc:
            assert f"`{code.loinc}`" in doc
    for profile in DEVICE_PROFILES.values():
        assert f"`{profile.code}^{profile.refid}^MDC`" in doc
    for kind in KINDS:
        assert sample_message(kind).replace("\r", "\n") in doc


def test_spec_module_runs_as_a_script() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "hl7.spec"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout == render()


@pytest.mark.parametrize("kind", KINDS)
def test_sample_command_prints_segments_on_lines(
    kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["hl7", "sample", "--kind", kind]) == 0
    out = capsys.readouterr().out
    assert out == sample_message(kind).replace("\r", "\n") + "\n"
    assert "\r" not in out


def test_sample_command_unassociated(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hl7", "sample", "--kind", "spo2", "--unassociated"]) == 0
    pid = [line for line in capsys.readouterr().out.splitlines() if line.startswith("PID")]
    assert pid == ["PID|||UNASSOCIATED^^^VITALSD^U||^^^^^^U" + "|" * 26 + "Y"]


def test_sample_command_raw_in_a_real_process() -> None:
    vitalsd = Path(sys.executable).parent / "vitalsd"
    r = subprocess.run(
        [str(vitalsd), "hl7", "sample", "--kind", "bp", "--raw"],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout == sample_message("bp").encode("utf-8")
    assert b"\n" not in r.stdout


def test_sample_command_rejects_an_unknown_kind(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["hl7", "sample", "--kind", "ecg"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
