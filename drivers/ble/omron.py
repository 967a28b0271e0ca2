"""Omron blood-pressure monitors on the standard path (X4 Smart, BP5150, HEM-9200T...).

Source: ble-health.md §4.1: bonding required (the cuff in "-P-" mode; one bonded host
at a time), Current Time 0x2A2B written after connect (obniz HEM_9200T, hass-omron
``setup_time_sync.py``), then RACP on BPS "report last record" ``01 06`` and one 0x2A35
plus the RACP answer (hass-omron ``_read_latest_via_bls_racp``). Advertised name
``BLEsmart_<group><model><MAC>`` (openScale ``OmronWlcHandler.kt``). The vendor EEPROM
protocol (history, second user) is not used.
"""

from __future__ import annotations

from drivers.ble.profiles import BleBloodPressureDriver
from drivers.ble.session_plan import ClockWrite, RacpMode, RecordSource, SessionPlan
from vitalsd.links.gatt import BleTarget, uuid16


class OmronBloodPressureDriver(BleBloodPressureDriver):
    name = "omron_bp"
    summary = "Omron blood-pressure monitors, standard BPS path (bond, Current Time, RACP last)"
    ble_advertised = (BleTarget(name="BLEsmart_*", service=uuid16(0x1810)),)
    plan = SessionPlan(
        service=0x1810,
        records=(RecordSource(0x2A35),),
        clock=ClockWrite.CURRENT_TIME,
        racp=RacpMode.LAST,
        pair_first=True,
        reads=(0x2A49,),
    )
