"""The command line as clinic IT uses it: decode captured bytes, list plugins, clear errors."""

from __future__ import annotations

import json

import pytest

from vitalsd.cli.main import main

# Rad-8 line captured with `cat /dev/ttyUSB0`, github:yahnatan/pulseox:README.md
# (shared/reference/serial-protocols.md §1).
RAD8_LINE = (
    "02/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 PI=03.60% SPCO=--.-% SPMET=--.-% "
    "DESAT=-- PIDELTA=+-- ALARM=0000 EXC=000800\\r\\n"
)


def decode(capsys: pytest.CaptureFixture[str], *args: str) -> dict:  # type: ignore[type-arg]
    assert main(["decode", "--driver", "masimo_ascii1", "--timezone", "UTC", *args]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_decode_text_gives_the_golden_values(capsys: pytest.CaptureFixture[str]) -> None:
    result = decode(capsys, "--text", RAD8_LINE)
    values = {o["metric"]: (o["value"], o["unit"]) for o in result["observations"]}
    assert values == {
        "spo2": (98, "%"),
        "pulse_rate_oximeter": (97, "/min"),
        "perfusion_index": (3.6, "%"),
    }
    spo2 = next(o for o in result["observations"] if o["metric"] == "spo2")
    assert spo2["device_time"] == "2016-02-22T22:47:45+00:00"
    assert spo2["code"] == {"mdc": 150456, "mdc_refid": "MDC_PULS_OXIM_SAT_O2", "loinc": "59408-5"}
    assert spo2["flags"] == []
    assert result["identity"]["serial"] == "0000056661"
    assert result["rejected_frames"] == 0


def test_decode_hex_is_the_same_as_text(capsys: pytest.CaptureFixture[str]) -> None:
    raw = RAD8_LINE.replace("\\r\\n", "\r\n").encode()
    by_hex = decode(capsys, "--hex", raw.hex(" "))
    by_text = decode(capsys, "--text", RAD8_LINE)
    assert by_hex["observations"] == by_text["observations"]


def test_decode_no_sensor_line_gives_no_number(capsys: pytest.CaptureFixture[str]) -> None:
    # masimo-capture.py comment, github:remkolems/masimo-datacapture (reference §1)
    line = "03/19/16 13:37:12 SN=0000093112 SPO2=---% BPM=---% DESAT=-- PIDELTA=+-- ALARM=0000 EXC=000001\\r\\n"
    result = decode(capsys, "--text", line)
    assert result["observations"] == []
    assert "no_sensor" in result["events"][0]["conditions"]


def test_decode_file(capsys: pytest.CaptureFixture[str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    capture = tmp_path / "capture.bin"
    capture.write_bytes(RAD8_LINE.replace("\\r\\n", "\r\n").encode() * 2)
    result = decode(capsys, "--file", str(capture))
    assert len(result["observations"]) == 3  # the repeated line is the same reading


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["decode", "--driver", "nope", "--hex", "00"], "unknown driver 'nope'; installed:"),
        (["decode", "--driver", "masimo_ascii1", "--hex", "zz"], "--hex: not hexadecimal"),
        (["decode", "--driver", "masimo_ascii1", "--file", "/nonexistent/x"], "cannot read"),
        (["check", "-c", "/nonexistent/vitalsd.toml"], "/nonexistent/vitalsd.toml"),
    ],
)
def test_user_mistakes_are_one_clear_line(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code = main(args)
    err = capsys.readouterr().err
    assert code in (1, 2)
    assert message in err
    assert "Traceback" not in err


def test_drivers_lists_kinds_and_transports(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["drivers"]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("masimo_ascii1"))
    assert "pulse_oximeter" in line and "serial" in line
