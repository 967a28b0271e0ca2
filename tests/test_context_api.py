"""The local context API end to end: a real daemon in this process, a device on a real TCP
serial server, real HTTP requests, and the ORU^R01 files it writes (PID/PV1 checked)."""

from __future__ import annotations

import asyncio
import json
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.daemon_harness import read_jsonl
from tests.status_harness import free_port
from vitalsd.app import Daemon
from vitalsd.config import load_config
from vitalsd.driver import Decoder, Driver, DriverOptions
from vitalsd.model import DeviceKind, DriverReport, Measurement, Metric, Transport, Unit
from vitalsd.registry import load_drivers, load_outputs
from vitalsd.service import serve

TOKEN = "s3cret-token-for-tests"
PATIENT = {
    "id": "MRN1",
    "assigning_authority": "HOSP",
    "family_name": "Doe",
    "given_name": "Alice",
    "birth_date": "1980-02-03",
    "sex": "F",
    "visit_number": "V77",
}
WAIT_S = 30.0


def masimo_line(t: datetime, spo2: int = 97) -> bytes:
    stamp = t.astimezone(UTC).strftime("%m/%d/%y %H:%M:%S")
    return (
        f"{stamp} SN=0000056661 SPO2={spo2:03d}% BPM=072 PI=03.60% SPCO=--.-% SPMET=--.-% "
        "DESAT=-- PIDELTA=+-- ALARM=0000 EXC=000800\r\n"
    ).encode()


class MemoryCuffDecoder(Decoder):
    """``R|<device time, ISO, no zone>|<sys>|<dia>|<stored 0/1>`` per line: a cuff that can
    replay its memory, the way BLE cuffs do with a record-access download."""

    def __init__(self) -> None:
        self._buf = b""
        self._n = 0

    def feed(self, data: bytes) -> list[DriverReport]:
        self._buf += data
        out: list[DriverReport] = []
        while b"\n" in self._buf:
            line, self._buf = self._buf.split(b"\n", 1)
            _r, when, sys_, dia, stored = line.decode().strip().split("|")
            self._n += 1
            t = datetime.fromisoformat(when)
            for metric, value in ((Metric.BP_SYSTOLIC, sys_), (Metric.BP_DIASTOLIC, dia)):
                out.append(
                    Measurement(
                        metric,
                        Decimal(value),
                        Unit.MMHG,
                        device_time=t,
                        group=f"r{self._n}",
                        stored=stored == "1",
                        sequence=self._n,
                    )
                )
        return out


class MemoryCuff(Driver):
    name = "test_memory_cuff"
    summary = "test cuff with a memory"
    kinds = frozenset({DeviceKind.BLOOD_PRESSURE})
    transports = frozenset({Transport.SERIAL})

    @classmethod
    def new_decoder(cls, options: DriverOptions | None = None) -> Decoder:
        return MemoryCuffDecoder()


def cuff_record(t: datetime, systolic: int, *, stored: bool) -> bytes:
    naive = t.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
    return f"R|{naive}|{systolic}|80|{int(stored)}\n".encode()


def config_text(
    tmp: Path, serial_port: int, http_port: int, extra: str, driver: str = "masimo_ascii1"
) -> str:
    token_file = tmp / "token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    return f"""
[site]
id = "test-site"
facility = "Clinic"
point_of_care = "FM"
timezone = "UTC"

[daemon]
state_dir = "{tmp / "state"}"

[http]
port = {http_port}

[context]
api_token_file = "{token_file}"
{extra}

[[devices]]
id = "exam3-ox"
driver = "{driver}"
port = "socket://127.0.0.1:{serial_port}"
room = "exam3"
[devices.options]
silence_timeout = 120.0

[[outputs]]
type = "hl7_file"
[outputs.options]
directory = "{tmp / "hl7"}"
oximeter_summary_interval = 0.2
group_window = 0.2

[[outputs]]
type = "jsonl"
[outputs.options]
path = "{tmp / "out.jsonl"}"
"""


@dataclass
class Site:
    tmp: Path
    base: str
    daemon: Daemon
    device: asyncio.StreamWriter

    async def call(
        self, method: str, path: str, body: object = None, token: str | None = TOKEN
    ) -> tuple[int, dict[str, Any]]:
        def go() -> tuple[int, dict[str, Any]]:
            data = json.dumps(body).encode() if body is not None else None
            req = urllib.request.Request(self.base + path, data=data, method=method)
            if token is not None:
                req.add_header("Authorization", f"Bearer {token}")
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:
                    return resp.status, json.load(resp)
            except urllib.error.HTTPError as err:
                return err.code, json.load(err)

        return await asyncio.to_thread(go)

    async def page(self) -> str:
        def go() -> str:
            with urllib.request.urlopen(self.base + "/", timeout=10) as resp:
                return resp.read().decode()  # type: ignore[no-any-return]

        return await asyncio.to_thread(go)

    async def send(self, line: bytes) -> None:
        self.device.write(line)
        await self.device.drain()

    def messages(self) -> list[dict[str, list[str]]]:
        """Each ORU file as {segment id: fields} (first segment of each kind)."""
        found = []
        folder = self.tmp / "hl7"
        for f in sorted(folder.glob("*.hl7"), key=lambda p: p.stat().st_mtime_ns):
            segs: dict[str, list[str]] = {}
            for seg in f.read_bytes().decode().split("\r"):
                if seg:
                    segs.setdefault(seg[:3], seg.split("|"))
            found.append(segs)
        return found

    def docs(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in read_jsonl(self.tmp / "out.jsonl") if d["type"] == kind]


async def until(predicate: Callable[[], bool], what: str) -> None:
    try:
        async with asyncio.timeout(WAIT_S):
            while not predicate():
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


@asynccontextmanager
async def running(tmp: Path, extra: str = "", driver: str = "masimo_ascii1") -> AsyncIterator[Site]:
    connected: asyncio.Queue[asyncio.StreamWriter] = asyncio.Queue()

    async def accept(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await connected.put(w)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    serial_port = server.sockets[0].getsockname()[1]
    http_port = free_port()
    path = tmp / "vitalsd.toml"
    path.write_text(config_text(tmp, serial_port, http_port, extra, driver))
    drivers: dict[str, type[Driver]] = {**load_drivers().plugins, MemoryCuff.name: MemoryCuff}
    outputs = load_outputs().plugins
    cfg = load_config(path, environ={}, drivers=drivers, outputs=outputs)
    daemon = Daemon(cfg, drivers=drivers, outputs=outputs)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(daemon, stop=stop), name="test.daemon")
    writer = None
    try:
        async with asyncio.timeout(WAIT_S):
            writer = await connected.get()
            await daemon.started.wait()
        site = Site(tmp, f"http://127.0.0.1:{http_port}", daemon, writer)
        for _ in range(200):  # the status endpoint starts listening before READY
            try:
                await site.call("GET", "/context")
                break
            except OSError:
                await asyncio.sleep(0.05)
        yield site
    finally:
        stop.set()
        await task
        if writer is not None:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_api_association_ends_up_in_pid_and_pv1(tmp_path: Path) -> None:
    async with running(tmp_path) as site:
        # refusals first: no token, wrong token, unknown room, bad field
        assert (await site.call("GET", "/context", token=None))[0] == 401
        assert (await site.call("POST", "/context", {"room": "exam3"}, token="nope"))[0] == 401
        code, doc = await site.call("POST", "/context", {"room": "exam9", "patient": PATIENT})
        assert code == 404 and doc["rooms"] == ["exam3"] and "exam3" in doc["error"]
        bad = {**PATIENT, "birth_date": "03/02/1980"}
        code, doc = await site.call("POST", "/context", {"room": "exam3", "patient": bad})
        assert code == 400 and doc["error"].startswith("patient.birth_date:")
        code, doc = await site.call("POST", "/context", {"room": "exam3", "patent": PATIENT})
        assert code == 400 and doc["error"].startswith("patent: unknown field")
        assert site.daemon.context.store.snapshot() == ()

        code, doc = await site.call(
            "POST", "/context", {"room": "exam3", "patient": PATIENT, "expires_in": "2h"}
        )
        assert code == 201, doc
        assoc = doc["association"]
        assert assoc["source"] == "api" and assoc["location"]["room"] == "exam3"
        since = datetime.fromisoformat(assoc["since"])
        assert datetime.fromisoformat(assoc["expires"]) - since == timedelta(hours=2)

        # a live reading after the association: the patient's
        await site.send(masimo_line(datetime.now(UTC) + timedelta(seconds=2)))
        await until(lambda: len(site.messages()) >= 1, "an ORU for the patient")
        msg = site.messages()[0]
        assert msg["PID"][3] == "MRN1^^^HOSP^MR"
        assert msg["PID"][5] == "Doe^Alice^^^^^L"
        assert msg["PV1"][3].split("^")[:2] == ["FM", "exam3"]
        assert msg["PV1"][19] == "V77^^^HOSP^VN"
        (obs, *_) = site.docs("observation")
        assert obs["patient"]["id"] == "MRN1" and obs["association"]["source"] == "api"

        # a reading timed before the association began never goes to her
        await site.send(masimo_line(since - timedelta(seconds=60), spo2=91))
        await until(lambda: len(site.messages()) >= 2, "an unassociated ORU")
        msg = site.messages()[1]
        assert "MRN1" not in "|".join(msg["PID"])
        assert msg["PID"][31] == "Y"
        assert msg["PV1"][3].split("^")[:2] == ["FM", "exam3"]
        stale = [d for d in site.docs("observation") if d.get("unassociated_reason")]
        assert stale and "patient" not in stale[0]
        assert stale[0]["unassociated_reason"] == "reading taken before the association began"

        # the MA sees who is in the room on the local page
        page = await site.page()
        assert "Doe, Alice" in page and "MRN1" in page

        code, doc = await site.call("DELETE", "/context?room=exam3")
        assert code == 200 and len(doc["ended"]) == 1
        assert (await site.call("GET", "/context"))[1]["associations"] == []
        code, doc = await site.call("DELETE", "/context?room=exam9")
        assert code == 404


async def test_unset_device_clock_gives_one_device_event(tmp_path: Path) -> None:
    async with running(tmp_path) as site:
        code, _ = await site.call("POST", "/context", {"room": "exam3", "patient": PATIENT})
        assert code == 201
        for second in range(3):
            await site.send(masimo_line(datetime(2000, 1, 1, 0, 0, second, tzinfo=UTC)))
        await until(lambda: len(site.docs("observation")) >= 6, "three lines of readings")
        events = [e for e in site.docs("event") if e["code"] == "clock_unset"]
        assert len(events) == 1 and events[0]["severity"] == "warning"
        assert all(d.get("patient") is None for d in site.docs("observation"))
        assert {d["unassociated_reason"] for d in site.docs("observation")} == {
            "device clock unset"
        }
        # someone sets the clock, an hour wrong: a change, so one more event
        for second in range(2):
            await site.send(masimo_line(datetime.now(UTC) + timedelta(hours=1, seconds=second)))
        await until(lambda: len(site.docs("observation")) >= 10, "two more lines")
        assert [e["code"] for e in site.docs("event") if e["code"].startswith("clock")] == [
            "clock_unset",
            "clock_skew",
        ]


async def test_an_association_ends_on_its_timeout(tmp_path: Path) -> None:
    async with running(tmp_path) as site:
        body = {"room": "exam3", "patient": PATIENT, "expires_in": 1}
        assert (await site.call("POST", "/context", body))[0] == 201
        await until(lambda: site.daemon.context.store.snapshot() == (), "the timeout")
        await site.send(masimo_line(datetime.now(UTC) + timedelta(seconds=1)))
        await until(lambda: len(site.messages()) >= 1, "an ORU")
        assert site.messages()[0]["PID"][31] == "Y"
        saved = json.loads((tmp_path / "state" / "context.json").read_text())
        assert saved["associations"] == []


async def test_no_token_configured_means_the_api_is_closed(tmp_path: Path) -> None:
    async with running(tmp_path) as site:
        site.daemon.context.token = type(site.daemon.context.token)(None, "not configured")
        code, doc = await site.call("POST", "/context", {"room": "exam3", "patient": PATIENT})
        assert code == 403 and "no token is configured" in doc["error"]
        assert site.daemon.context.store.snapshot() == ()


async def test_held_readings_listed_and_released_unassociated_by_the_cli(tmp_path: Path) -> None:
    async with running(tmp_path, 'stale_records = "hold"') as site:
        code, doc = await site.call("POST", "/context", {"room": "exam3", "patient": PATIENT})
        assert code == 201
        since = datetime.fromisoformat(doc["association"]["since"])
        await site.send(masimo_line(since - timedelta(seconds=90), spo2=93))
        await until(lambda: site.daemon.normalizer.held >= 1, "the stale reading held")
        assert site.messages() == []
        status = await site.call("GET", "/context/held")
        assert len(status[1]["held"]) >= 1

        async def cli(*args: str) -> str:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "vitalsd.cli.main",
                "context",
                *args,
                "--url",
                site.base,
                "--token-file",
                str(tmp_path / "token"),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await proc.communicate()
            assert proc.returncode == 0, err.decode()
            return out.decode()

        listing = await cli("held", "list")
        assert "exam3-ox" in listing and "before the association" in listing
        shown = await cli("show")
        assert shown.startswith("exam3: MRN1^HOSP Doe, Alice by api")
        released = await cli("held", "release", "--all")
        assert "released (sent unassociated)" in released
        await until(lambda: len(site.messages()) >= 1, "the released reading as an ORU")
        msg = site.messages()[0]
        assert msg["PID"][31] == "Y" and "MRN1" not in "|".join(msg["PID"])
        assert site.daemon.context.held is not None and site.daemon.context.held.count() == 0


async def test_association_survives_a_daemon_restart(tmp_path: Path) -> None:
    async with running(tmp_path) as site:
        code, _ = await site.call("POST", "/context", {"room": "exam3", "patient": PATIENT})
        assert code == 201
    async with running(tmp_path) as site:
        (assoc,) = (await site.call("GET", "/context"))[1]["associations"]
        assert assoc["patient"]["id"] == "MRN1"
        await site.send(masimo_line(datetime.now(UTC) + timedelta(seconds=2)))
        await until(lambda: len(site.messages()) >= 1, "an ORU after the restart")
        assert site.messages()[0]["PID"][3] == "MRN1^^^HOSP^MR"


async def test_stored_record_from_before_the_association_goes_out_unassociated(
    tmp_path: Path,
) -> None:
    async with running(tmp_path, driver=MemoryCuff.name) as site:
        code, doc = await site.call("POST", "/context", {"room": "exam3", "patient": PATIENT})
        assert code == 201
        since = datetime.fromisoformat(doc["association"]["since"])
        # the cuff replays yesterday's reading (someone else's), then today's, then a live one
        await site.send(cuff_record(since - timedelta(days=1), 151, stored=True))
        await site.send(cuff_record(since + timedelta(seconds=1), 122, stored=True))
        await until(lambda: len(site.messages()) >= 2, "two ORU messages")
        old, new = site.messages()
        assert old["PID"][31] == "Y" and "MRN1" not in "|".join(old["PID"])
        assert old["PV1"][3].split("^")[:2] == ["FM", "exam3"]
        assert new["PID"][3] == "MRN1^^^HOSP^MR"
        obs = {d["value"]: d for d in site.docs("observation") if d["metric"] == "bp_systolic"}
        assert obs[151]["unassociated_reason"] == "reading taken before the association began"
        assert obs[151]["stored"] and "patient" not in obs[151]
        assert obs[122]["patient"]["id"] == "MRN1"
