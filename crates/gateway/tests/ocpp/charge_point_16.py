"""An OCPP 1.6 charge point (the `ocpp` package) checking Haihe's CSMS: boot, heartbeat, status,
authorize, a whole transaction with meter values; then it answers the CSMS's SetChargingProfile
and RemoteStopTransaction and ends the transaction. Usage: charge_point_16.py URL ID PASSWORD"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import check, connect, now, parses_as_time, run, say  # noqa: E402
from ocpp.routing import after, on  # noqa: E402
from ocpp.v16 import ChargePoint, call, call_result  # noqa: E402

TAG = "TAG-16"


class Cp(ChargePoint):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.transaction_id = None
        self.profile_seen = asyncio.Event()
        self.stop_asked = asyncio.Event()

    @on("SetChargingProfile")
    def on_set_charging_profile(self, connector_id, cs_charging_profiles, **_):
        p = cs_charging_profiles
        s = p["charging_schedule"]
        ok = (
            connector_id == 1
            and p["charging_profile_purpose"] == "TxProfile"
            and p.get("transaction_id") == self.transaction_id
            and s["charging_rate_unit"] == "W"
            and len(s["charging_schedule_period"]) == 1
            and s["charging_schedule_period"][0]["start_period"] == 0
            and float(s["charging_schedule_period"][0]["limit"]) == 11000.0
        )
        check(ok, f"SetChargingProfile {connector_id} {p}")
        self.profile_seen.set()
        return call_result.SetChargingProfile(status="Accepted" if ok else "Rejected")

    @on("RemoteStopTransaction")
    def on_remote_stop(self, transaction_id, **_):
        ok = transaction_id == self.transaction_id
        check(ok, f"RemoteStopTransaction for {transaction_id}, running {self.transaction_id}")
        return call_result.RemoteStopTransaction(status="Accepted" if ok else "Rejected")

    @after("RemoteStopTransaction")
    def after_remote_stop(self, **_):
        self.stop_asked.set()


async def status(cp, s):
    r = await cp.call(
        call.StatusNotification(connector_id=1, error_code="NoError", status=s, timestamp=now()),
        suppress=False,
    )
    check(r is not None, f"StatusNotification {s} answered")


async def main(url, charge_point, password):
    ws = await connect(url, charge_point, password, "ocpp1.6")
    cp = Cp(charge_point, ws)
    listener = asyncio.create_task(cp.start())

    boot = await cp.call(
        call.BootNotification(
            charge_point_vendor="Haihe", charge_point_model="AC22", firmware_version="1.0"
        ),
        suppress=False,
    )
    check(boot.status == "Accepted", f"boot status {boot.status}")
    check(parses_as_time(boot.current_time), f"boot currentTime {boot.current_time!r}")
    check(boot.interval > 0, f"boot interval {boot.interval}")

    hb = await cp.call(call.Heartbeat(), suppress=False)
    check(parses_as_time(hb.current_time), f"heartbeat currentTime {hb.current_time!r}")

    await status(cp, "Available")
    auth = await cp.call(call.Authorize(id_tag=TAG), suppress=False)
    check(auth.id_tag_info["status"] == "Accepted", f"authorize {auth.id_tag_info}")
    await status(cp, "Preparing")

    start = await cp.call(
        call.StartTransaction(connector_id=1, id_tag=TAG, meter_start=1000, timestamp=now()),
        suppress=False,
    )
    check(isinstance(start.transaction_id, int) and start.transaction_id > 0,
          f"transactionId {start.transaction_id!r}")
    check(start.id_tag_info["status"] == "Accepted", f"start idTagInfo {start.id_tag_info}")
    cp.transaction_id = start.transaction_id
    await status(cp, "Charging")

    mv = await cp.call(
        call.MeterValues(
            connector_id=1,
            transaction_id=cp.transaction_id,
            meter_value=[{
                "timestamp": now(),
                "sampledValue": [
                    {"value": "1500", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                    {"value": "7200", "measurand": "Power.Active.Import", "unit": "W"},
                    {"value": "40", "measurand": "SoC", "unit": "Percent", "location": "EV"},
                ],
            }],
        ),
        suppress=False,
    )
    check(mv is not None, "MeterValues answered")

    say(f"READY {cp.transaction_id}")
    await cp.stop_asked.wait()
    check(cp.profile_seen.is_set(), "SetChargingProfile came before the stop")

    stop = await cp.call(
        call.StopTransaction(
            meter_stop=4000, timestamp=now(), transaction_id=cp.transaction_id,
            reason="Remote", id_tag=TAG,
        ),
        suppress=False,
    )
    check(stop.id_tag_info is not None and stop.id_tag_info["status"] == "Accepted",
          f"stop idTagInfo {stop.id_tag_info}")
    await status(cp, "Available")
    listener.cancel()
    await ws.close()


run(main)
