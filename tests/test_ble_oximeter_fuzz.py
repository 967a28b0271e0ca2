"""Proprietary BLE oximeter streams under damage: any re-chunking of a valid stream gives
the same readings, and lost bytes never give a number that no frame carried.

Streams come from the simulators' encoders (written from the protocol descriptions);
values stay in physiological ranges, since without a checksum (Nonin, BerryMed) a
decoder's defence is alignment and consistency checks, not arithmetic certainty.
"""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.ble import berrymed_frames, jumper_frames, nonin3230_frames, wellue_frames
from simulators.ble import oximeter_encoders as enc
from tests.test_ble_oximeter_frames import Reading, readings
from vitalsd.driver import Decoder
from vitalsd.model import DriverReport

values = st.tuples(st.integers(70, 100), st.integers(30, 250), st.integers(1, 200))


def nonin_stream(vals: list[tuple[int, int, int]], start: int) -> tuple[bytes, set[Reading]]:
    frames = b""
    truth: set[Reading] = set()
    for i, (spo2, pulse, pi) in enumerate(vals):
        status = enc.NONIN_SENSOR_CONNECTED | enc.NONIN_SMARTPOINT
        frames += enc.nonin3230_frame(
            status=status,
            battery_dv=29,
            pai_centi=pi * 10,
            counter=start + i,
            spo2=spo2,
            pulse=pulse,
        )
        truth.add((spo2, pulse, Decimal(pi * 10).scaleb(-2)))
    return frames, truth


def berrymed_stream(vals: list[tuple[int, int, int]], start: int) -> tuple[bytes, set[Reading]]:
    # The device repeats its values in every waveform frame: two frames per reading here.
    frames = b"".join(
        enc.berrymed_frame(spo2=s, pulse=p, pleth=(start + 2 * i + k) % 100)
        for i, (s, p, _) in enumerate(vals)
        for k in range(2)
    )
    return frames, {(s, p, None) for s, p, _ in vals}


def fs20f_stream(vals: list[tuple[int, int, int]], start: int) -> tuple[bytes, set[Reading]]:
    out = b""
    for i, (spo2, pulse, pi) in enumerate(vals):
        out += enc.fs20f_wave(
            pleth=(start + i) % 100, sensor_off=False, scaled=4, counter=start + i
        )
        out += enc.fs20f_params(pulse=pulse, spo2=spo2, pi_milli=pi * 37, counter=start + i)
    return out, {(s, p, Decimal(pi * 37).scaleb(-3)) for s, p, pi in vals}


STREAMS = {
    "nonin": (nonin_stream, nonin3230_frames.Nonin3230Decoder),
    "berrymed": (berrymed_stream, berrymed_frames.BerryMedDecoder),
    "fs20f": (fs20f_stream, wellue_frames.Fs20fDecoder),
}


def feed_all(decoder: Decoder, chunks: list[bytes]) -> list[DriverReport]:
    out: list[DriverReport] = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out + decoder.flush()


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


@pytest.mark.parametrize("device", sorted(STREAMS))
@settings(max_examples=60, deadline=None)
@given(
    vals=st.lists(values, min_size=1, max_size=12),
    start=st.integers(0, 0xFFFF),
    cuts=st.lists(st.integers(0, 10_000), max_size=40),
)
def test_rechunking_gives_the_same_readings(
    device: str, vals: list[tuple[int, int, int]], start: int, cuts: list[int]
) -> None:
    make, decoder_class = STREAMS[device]
    stream, _ = make(vals, start)
    whole = readings(feed_all(decoder_class(), [stream]))
    if device == "berrymed":
        assert len(whole) >= len(vals)  # repeated values stay confirmed frame after frame
    else:
        assert len(whole) == len(vals)
    assert readings(feed_all(decoder_class(), chunked(stream, cuts))) == whole


@pytest.mark.parametrize("device", sorted(STREAMS))
@settings(max_examples=150, deadline=None)
@given(
    vals=st.lists(values, min_size=1, max_size=12),
    start=st.integers(0, 0xFFFF),
    lost=st.lists(st.integers(0, 10_000), min_size=1, max_size=6),
    cuts=st.lists(st.integers(0, 10_000), max_size=40),
)
def test_lost_bytes_never_make_a_number_that_was_not_sent(
    device: str, vals: list[tuple[int, int, int]], start: int, lost: list[int], cuts: list[int]
) -> None:
    make, decoder_class = STREAMS[device]
    stream, truth = make(vals, start)
    drop = {i % len(stream) for i in lost}
    damaged = bytes(b for i, b in enumerate(stream) if i not in drop)
    for reading in readings(feed_all(decoder_class(), chunked(damaged, cuts))):
        assert reading in truth


@settings(max_examples=100, deadline=None)
@given(
    vals=st.lists(values, min_size=1, max_size=8),
    pleth=st.lists(st.integers(0, 127), min_size=1, max_size=16),
    lost=st.lists(st.integers(0, 10_000), max_size=4),
)
def test_jumper_lost_bytes_never_make_a_number(
    vals: list[tuple[int, int, int]], pleth: list[int], lost: list[int]
) -> None:
    notifications: list[bytes] = []
    for spo2, pulse, pi in vals:
        notifications += [
            enc.jumper_pleth(pleth),
            enc.jumper_params(pulse=pulse, spo2=spo2, pi_tenths=pi),
        ]
    truth = {(s, p, Decimal(pi).scaleb(-1)) for s, p, pi in vals}
    damaged = []
    for n, data in enumerate(notifications):
        drop = {i % len(data) for i in lost if i // 100 == n % 100}
        damaged.append(bytes(b for i, b in enumerate(data) if i not in drop))
    decoder = jumper_frames.JumperDecoder()
    for reading in readings(feed_all(decoder, damaged)):
        assert reading in truth
