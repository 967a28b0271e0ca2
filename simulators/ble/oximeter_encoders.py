"""Frame encoders of the proprietary BLE oximeter streams, written from the protocol
descriptions (shared/reference/ble-health.md §3.10, §4.1 and the public sources cited
there), never from vitalsd's decoders.
"""

from __future__ import annotations

# Nonin 3230 Continuous Oximetry characteristic (Nonin 113142-000-02 Rev B field map,
# big-endian): length, status, battery 0.1 V, PAI 0.01 %, counter, SpO2, pulse.
NONIN_WEAK_SIGNAL = 0x02
NONIN_SMARTPOINT = 0x04
NONIN_SEARCHING = 0x08
NONIN_SENSOR_CONNECTED = 0x10
NONIN_LOW_BATTERY = 0x20
NONIN_SPO2_MISSING = 127
NONIN_PULSE_MISSING = 511


def nonin3230_frame(
    *, status: int, battery_dv: int, pai_centi: int, counter: int, spo2: int, pulse: int
) -> bytes:
    return (
        bytes([10, status, battery_dv])
        + pai_centi.to_bytes(2, "big")
        + (counter & 0xFFFF).to_bytes(2, "big")
        + bytes([spo2])
        + pulse.to_bytes(2, "big")
    )


# BerryMed BCI protocol (Adafruit library, bgould/berrymed-pulseox-reader): five bytes,
# only the first with bit 7 set.
BERRYMED_SPO2_INVALID = 127
BERRYMED_PULSE_INVALID = 255


def berrymed_frame(
    *,
    spo2: int,
    pulse: int,
    pleth: int = 50,
    signal: int = 6,
    bar: int = 4,
    beep: bool = False,
    probe_unplugged: bool = False,
    no_finger: bool = False,
    searching: bool = False,
) -> bytes:
    b0 = 0x80 | (signal & 0x0F) | (0x20 if probe_unplugged else 0) | (0x40 if beep else 0)
    b2 = (bar & 0x0F) | (0x10 if no_finger else 0) | (0x20 if searching else 0)
    b2 |= 0x40 if pulse & 0x80 else 0  # pulse bit 7 travels in byte 2
    return bytes([b0, pleth & 0x7F, b2, pulse & 0x7F, spo2 & 0x7F])


# Jumper JPD-500F: "80" + waveform samples, "81 PR SpO2 PI" (PR 255, SpO2 127, PI 0 invalid).
JUMPER_PULSE_INVALID = 255
JUMPER_SPO2_INVALID = 127
JUMPER_PI_INVALID = 0


def jumper_params(*, pulse: int, spo2: int, pi_tenths: int) -> bytes:
    return bytes([0x81, pulse, spo2, pi_tenths])


def jumper_pleth(samples: list[int]) -> bytes:
    return bytes([0x80, *samples])


# Wellue FS20F (github:roger-/FS20F): FE len type ... sum, the sum over the bytes after FE.
FS20F_PULSE_INVALID = 511
FS20F_SPO2_INVALID = 127
FS20F_PI_INVALID = 0


def _fs20f(body: bytes) -> bytes:
    return b"\xfe" + body + bytes([sum(body) & 0xFF])


def fs20f_params(*, pulse: int, spo2: int, pi_milli: int, counter: int) -> bytes:
    body = bytes([0x0A, 0x55]) + pulse.to_bytes(2, "big") + bytes([spo2])
    return _fs20f(body + pi_milli.to_bytes(2, "big") + bytes([counter & 0xFF]))


def fs20f_wave(*, pleth: int, sensor_off: bool, scaled: int, counter: int) -> bytes:
    return _fs20f(bytes([0x08, 0x56, pleth, 0x02 if sensor_off else 0, scaled, counter & 0xFF]))
