"""An OCPP 2.0.1 charging station (the `ocpp` package) checking Haihe's CSMS: boot, heartbeat,
status, authorize, a whole transaction (TransactionEvent Started/Updated, MeterValues); then it
answers the CSMS's SetChargingProfile and RequestStopTransaction and ends the transaction.
Usage: charge_point_201.py URL ID PASSWORD"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import check, connect, now, parses_as_time, run, say  # noqa: E402
from ocpp.routing import after, on  # noqa: E402
from ocpp.v201 import ChargePoint, call, call_result  # noqa: E402

TOKEN = {"id_token": "TAG-201", "type": "ISO14443"}
TX = "TX-201-1"


class Cs(ChargePoint):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.profile_seen = asyncio.Event()
        self.stop_asked = asyncio.Event()

    @on("SetChargingProfile")
    def on_set_charging_profile(self, evse_id, charging_profile, **_):
        p = charging_profile
        s = p["charging_schedule"][0] if p.get("charging_schedule") else {}
        periods = s.get("charging_schedule_period", [])
        ok = (
            evse_id == 1
            and p["charging_profile_purpose"] == "TxProfile"
            and p.get("transaction_id") == TX
            and s.get("charging_rate_unit") == "W"
            and len(periods) == 1
            and periods[0]["start_period"] == 0
            and float(periods[0]["limit"]) == 11000.0
        )
        check(ok, f"SetChargingProfile {evse_id} {p}")
        self.profile_seen.set()
        return call_result.SetChargingProfile(status="Accepted" if ok else "Rejected")

    @on("RequestStopTransaction")
    def on_request_stop(self, transaction_id, **_):
        ok = transaction_id == TX
        check(ok, f"RequestStopTransaction for {transaction_id}")
        return call_result.RequestStopTransaction(status="Accepted" if ok else "Rejected")

    @after("RequestStopTransaction")
    def after_request_stop(self, **_):
        self.stop_asked.set()


async def status(cs, s):
    r = await cs.call(
        call.StatusNotification(timestamp=now(), connector_status=s, evse_id=1, connector_id=1),
        suppress=False,
    )
    check(r is not None, f"StatusNotification {s} answered")


def meter(energy_wh, power_w=None, soc=None, context=None):
    values = [{"value": energy_wh, "measurand": "Energy.Active.Import.Register",
               "unitOfMeasure": {"unit": "Wh"}}]
    if power_w is not None:
        values.append({"value": power_w, "measurand": "Power.Active.Import",
                       "unitOfMeasure": {"unit": "W"}})
    if soc is not None:
        values.append({"value": soc, "measurand": "SoC", "unitOfMeasure": {"unit": "Percent"}})
    if context:
        for v in values:
            v["context"] = context
    return [{"timestamp": now(), "sampledValue": values}]


async def main(url, charge_point, password):
    ws = await connect(url, charge_point, password, "ocpp2.0.1")
    cs = Cs(charge_point, ws)
    listener = asyncio.create_task(cs.start())

    boot = await cs.call(
        call.BootNotification(
            charging_station={"model": "DC60", "vendor_name": "Haihe"}, reason="PowerUp"
        ),
        suppress=False,
    )
    check(boot.status == "Accepted", f"boot status {boot.status}")
    check(parses_as_time(boot.current_time), f"boot currentTime {boot.current_time!r}")
    check(boot.interval > 0, f"boot interval {boot.interval}")

    hb = await cs.call(call.Heartbeat(), suppress=False)
    check(parses_as_time(hb.current_time), f"heartbeat currentTime {hb.current_time!r}")

    await status(cs, "Available")
    auth = await cs.call(call.Authorize(id_token=TOKEN), suppress=False)
    check(auth.id_token_info["status"] == "Accepted", f"authorize {auth.id_token_info}")
    await status(cs, "Occupied")

    started = await cs.call(
        call.TransactionEvent(
            event_type="Started", timestamp=now(), trigger_reason="Authorized", seq_no=0,
            transaction_info={"transaction_id": TX, "charging_state": "Charging"},
            id_token=TOKEN, evse={"id": 1, "connector_id": 1},
            meter_value=meter(1000, context="Transaction.Begin"),
        ),
        suppress=False,
    )
    check(started.id_token_info is not None and started.id_token_info["status"] == "Accepted",
          f"started idTokenInfo {started.id_token_info}")

    updated = await cs.call(
        call.TransactionEvent(
            event_type="Updated", timestamp=now(), trigger_reason="MeterValuePeriodic", seq_no=1,
            transaction_info={"transaction_id": TX, "charging_state": "Charging"},
            meter_value=meter(1500, power_w=11000, soc=42),
        ),
        suppress=False,
    )
    check(updated is not None, "TransactionEvent Updated answered")
    mv = await cs.call(call.MeterValues(evse_id=1, meter_value=meter(1600)), suppress=False)
    check(mv is not None, "MeterValues answered")

    say(f"READY {TX}")
    await cs.stop_asked.wait()
    check(cs.profile_seen.is_set(), "SetChargingProfile came before the stop")

    ended = await cs.call(
        call.TransactionEvent(
            event_type="Ended", timestamp=now(), trigger_reason="RemoteStop", seq_no=2,
            transaction_info={"transaction_id": TX, "stopped_reason": "Remote"},
            meter_value=meter(4000, context="Transaction.End"),
        ),
        suppress=False,
    )
    check(ended is not None, "TransactionEvent Ended answered")
    await status(cs, "Available")
    listener.cancel()
    await ws.close()


run(main)
