"""``vitalsd demo``: simulated devices → the real daemon → terminal and JSON lines.

The simulators run as separate ``vitalsd-sim`` processes speaking the devices' own
bytes over pseudo-terminals and TCP, exactly as the daemon would meet real hardware;
the daemon runs on an embedded config through the same loader as ``vitalsd run``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import tempfile
from datetime import datetime
from importlib.resources import files
from pathlib import Path

from vitalsd.app import Daemon
from vitalsd.config import load_config
from vitalsd.context.store import ContextChange
from vitalsd.demo.ehr_view import show_ehr_messages
from vitalsd.demo.processes import SimSpec, Simulators
from vitalsd.errors import VitalsdError
from vitalsd.registry import load_drivers, load_outputs

_LOGGER = logging.getLogger(__name__)


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


# The simulated patient's wristband, in the "^MRN^id^family^given^birth date^sex" shape
# the demo config's pattern reads.
DEMO_WRISTBAND = "^MRN^12345^DOE^JANE^19800101^F"
CUFF_NIBP_EVERY_S = 6  # a new blood pressure every 6 s (one at connect, before the scan)


def demo_simulators(workdir: Path) -> list[SimSpec]:
    return [
        SimSpec(
            "exam1-oximeter",
            (
                "masimo",
                "--pty",
                "--link",
                str(workdir / "exam1-oximeter.tty"),
                "--seed",
                "1",
                "--serial",
                "0000056661",
            ),
        ),
        SimSpec(
            "exam2-oximeter",
            (
                "masimo",
                "--pty",
                "--link",
                str(workdir / "exam2-oximeter.tty"),
                "--seed",
                "2",
                "--serial",
                "0000093112",
                "--spo2",
                "94",
                "--bpm",
                "88",
                "--sensor-off-every",
                "20",
                "--sensor-off-for",
                "5",
                "--garbage",
                "0.05",
            ),
        ),
        SimSpec(
            "exam3-oximeter",
            (
                "masimo",
                "--tcp",
                "0",
                "--seed",
                "3",
                "--serial",
                "0000101234",
                "--spo2",
                "99",
                "--bpm",
                "64",
            ),
        ),
        SimSpec(
            "exam1-cuff",
            (
                "accutorr3",
                "--pty",
                "--link",
                str(workdir / "exam1-cuff.tty"),
                "--rate",
                "1",
                "--nibp-every",
                str(CUFF_NIBP_EVERY_S),
                "--spo2",
                "0",
                "--sys",
                "128",
                "--dia",
                "84",
            ),
        ),
        SimSpec(
            "exam1-scanner",
            (
                "barcode",
                "--pty",
                "--link",
                str(workdir / "exam1-scanner.tty"),
                "--wait",
                "1.5",
                "--scan",
                DEMO_WRISTBAND,
                "--wait",
                "1",
                "--scan",
                "ROOM:EXAM1",
            ),
        ),
        SimSpec("ehr", ("ehr", "--port", "0", "--record", str(workdir / "ehr-received.jsonl"))),
    ]


def show_association(change: ContextChange) -> None:
    """Print each association a scan makes (the demo's own, simulated patient)."""
    after = change.after
    if after is None or after.source != "barcode":
        return
    p = after.patient
    t = datetime.now().astimezone().strftime("%H:%M:%S")
    _say(
        f"{t}  exam1-scanner      wristband scanned, room label ROOM:EXAM1 confirmed: "
        f"{after.location.room} is now patient {p.id} ({p.family_name}, {p.given_name}); "
        "the next BP goes to the EHR with it"
    )


MQTT_PROBE_TIMEOUT_S = 0.5
MQTT_BLOCK = """
[[outputs]]
# Added by the demo: a broker answered (or was named with --mqtt).
type = "mqtt"
[outputs.options]
host = "{host}"
port = {port}
"""


async def find_broker(spec: str | None) -> tuple[str, int] | None:
    """The broker to publish to: the one named, else localhost:1883 if it answers."""
    if spec == "off":
        return None
    if spec:
        host, _, port = spec.rpartition(":") if ":" in spec else (spec, "", "1883")
        try:
            return host, int(port)
        except ValueError:
            raise VitalsdError(f"--mqtt: expected HOST[:PORT], got {spec!r}") from None
    try:
        async with asyncio.timeout(MQTT_PROBE_TIMEOUT_S):
            _reader, writer = await asyncio.open_connection("127.0.0.1", 1883)
    except (OSError, TimeoutError):
        return None
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return "127.0.0.1", 1883


def render_config(
    workdir: Path, ports: dict[str, int], broker: tuple[str, int] | None = None
) -> Path:
    text = files("vitalsd.demo").joinpath("demo.toml").read_text(encoding="utf-8")
    if broker is not None:
        text += MQTT_BLOCK.format(host=broker[0], port=broker[1])
    text = text.replace("{workdir}", str(workdir))
    for name, port in ports.items():
        text = text.replace(f"{{{name}_port}}", str(port))
    path = workdir / "vitalsd.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def _demo(workdir: Path, duration: float | None, mqtt: str | None) -> int:
    sims = Simulators(log=workdir / "simulators.log")
    try:
        await sims.start(demo_simulators(workdir))
        ports = {
            "exam3": sims.port("exam3-oximeter"),
            "ehr": sims.port("ehr"),
        }
        broker = await find_broker(mqtt)
        config_path = render_config(workdir, ports, broker)
        drivers, outputs = load_drivers(), load_outputs()
        cfg = load_config(config_path, drivers=drivers.plugins, outputs=outputs.plugins)
        daemon = Daemon(cfg, drivers=drivers.plugins, outputs=outputs.plugins)
        daemon.context.store.listen(show_association)
        _say(
            f"vitalsd demo: 3 simulated Masimo Rad-8 oximeters -> vitalsd -> this terminal,\n"
            f"  and HL7 ORU^R01 (IHE PCD-01) over MLLP to a simulated EHR interface engine\n"
            f"  config:   {config_path}\n"
            f"  readings: {workdir / 'observations.jsonl'} (JSON lines)\n"
            f"  EHR side: {workdir / 'ehr-received.jsonl'} (every message it received)\n"
            f"  oximeters send the EHR a summary every 15 s (the BP monitor sends each reading)\n"
            f"  exam2's patient takes the sensor off every 20 s, on a noisy cable;\n"
            f"  exam3 sits behind a simulated network serial server (socket://).\n"
            f"  exam1 also has an Accutorr 3 BP monitor (a new reading every "
            f"{CUFF_NIBP_EVERY_S} s) and a barcode\n"
            f"  scanner: after 1.5 s it scans patient DOE, JANE's wristband, then the room label;\n"
            f"  from then on exam1's readings carry her; exam2 and exam3 stay unassociated.\n"
            + (
                f"  MQTT: publishing to {broker[0]}:{broker[1]}; watch with\n"
                f"        vitalsd tail --host {broker[0]} --port {broker[1]} --site demo-clinic\n"
                if broker
                else "  MQTT: no broker on localhost:1883 (start mosquitto, or --mqtt HOST:PORT)\n"
            )
            + "  Ctrl-C stops.\n"
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        timer = loop.call_later(duration, stop.set) if duration is not None else None
        viewer = asyncio.create_task(
            show_ehr_messages(workdir / "ehr-received.jsonl", _say), name="vitalsd.demo.ehr-view"
        )
        try:
            report = await daemon.run(stop)
        finally:
            viewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await viewer
            if timer is not None:
                timer.cancel()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        _say(f"demo done: {report.accepted} observations; config and output kept in {workdir}")
        return 1 if report.undelivered else 0
    finally:
        await sims.stop()


def run_demo(*, workdir: str | None, duration: float | None, mqtt: str | None = None) -> int:
    path = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="vitalsd-demo-"))
    path.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(_demo(path.resolve(), duration, mqtt))
    return 130
