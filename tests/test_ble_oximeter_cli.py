"""`vitalsd decode` on captured proprietary oximeter notifications: by the vendor's
128-bit characteristic UUID, the SIG short form (FS20F's ffe4), or as a raw stream."""

from __future__ import annotations

import json

import pytest

from vitalsd.cli.main import main

NONIN_CHAR = "0AAD7EA0-0D60-11E2-8E3C-0002A5D5C51B"
# Derived (ble-health.md §3.10): Nonin 113142-000-02 field map.
NONIN = "0A 14 1E 00 64 00 2A 62 00 48"
# Real: github:roger-/FS20F sample_raw_data.hex.
FS20F = "FE 0A 55 00 4F 63 14 BF 39 1D"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["decode", "--timezone", "UTC", *args])
    out, err = capsys.readouterr()
    return code, out, err


def values(out: str) -> list[tuple[str, float]]:
    return [(o["metric"], o["value"]) for o in json.loads(out)["observations"]]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("--driver", "nonin_3230", "--characteristic", NONIN_CHAR, "--hex", NONIN),
            [("spo2", 98), ("pulse_rate_oximeter", 72), ("perfusion_index", 1)],
        ),
        (
            (
                "--driver",
                "berrymed_bm1000",
                "--characteristic",
                "49535343-1e4d-4bd9-ba61-23c647249616",
                "--hex",
                "C6 50 46 16 61",  # Derived (§3.10): pulse 150 via byte 2 bit 6
            ),
            [("spo2", 97), ("pulse_rate_oximeter", 150)],
        ),
        (
            (
                "--driver",
                "jumper_jpd500f",
                "--characteristic",
                "cdeacb81-5235-4c07-8846-93a37ee6b86d",
                "--hex",
                "81 38 63 44",  # Real (§3.10), public Flutter driver
            ),
            [("spo2", 99), ("pulse_rate_oximeter", 56), ("perfusion_index", 6.8)],
        ),
        (
            ("--driver", "wellue_fs20f", "--characteristic", "ffe4", "--hex", FS20F),
            [("spo2", 99), ("pulse_rate_oximeter", 79), ("perfusion_index", 5.311)],
        ),
        (
            # A raw capture through the stream decoder (no --characteristic).
            ("--driver", "wellue_fs20f", "--hex", "FE 08 56 3A 00 09 13 B4 " + FS20F),
            [("spo2", 99), ("pulse_rate_oximeter", 79), ("perfusion_index", 5.311)],
        ),
    ],
)
def test_vendor_notifications_decode(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], expected: list[tuple[str, float]]
) -> None:
    code, out, _ = run(capsys, *args)
    assert code == 0
    assert values(out) == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--driver", "wellue_fs20f", "--characteristic", "ffe4", "--hex", FS20F[:-2] + "1E"),
            "checksum 0x1e, expected 0x1d",
        ),
        (
            ("--driver", "nonin_3230", "--characteristic", "2a5f", "--hex", NONIN),
            "decodes characteristic 0aad7ea0",
        ),
        (
            ("--driver", "ble_thermometer", "--characteristic", NONIN_CHAR, "--hex", NONIN),
            "decodes no vendor characteristic",
        ),
        (
            (
                "--driver",
                "jumper_jpd500f",
                "--characteristic",
                "cdeacb81-5235-4c07-8846-93a37ee6b86d",
                "--hex",
                "81 38 63",
            ),
            "3 bytes, expected 4",
        ),
    ],
)
def test_clear_errors(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    code, _, err = run(capsys, *args)
    assert code != 0 and message in err and "Traceback" not in err


def test_stream_counts_rejected_frames(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--driver", "wellue_fs20f", "--hex", FS20F[:-2] + "1E " + FS20F)
    assert code == 0
    doc = json.loads(out)
    assert doc["rejected_frames"] == 1
    assert len(doc["observations"]) == 3
