//! Tests of the charging state: status changes, sessions folded from OCPP events, T/CEC session
//! dedupe, exact replay by LSN, the registry, OCPP transaction ids, T/CEC tokens, and the
//! migration from a version-3 catalog.

use model::{
    Charger, ChargingEvent, ChargingSession, ConnectorState, ConnectorStatus, OCPP_OPERATOR,
    Station, Timestamp,
};
use rusqlite::Connection;

use super::super::{CATALOG_FILE, Catalog, MIGRATIONS};
use super::{CHARGING_CURSOR, ChargingApplied, ChargingRecord};

fn t(secs: i64) -> Timestamp {
    Timestamp::from_micros(1_780_000_000_000_000 + secs * 1_000_000)
}

fn open(dir: &tempfile::TempDir) -> Catalog {
    Catalog::open(dir.path().join(CATALOG_FILE)).unwrap()
}

const OP: &str = "MA1234567";

fn status(connector: &str, state: ConnectorState, secs: i64) -> ConnectorStatus {
    ConnectorStatus {
        operator_id: OP.to_owned(),
        station_id: "S1".to_owned(),
        equipment_id: "E1".to_owned(),
        connector_id: connector.to_owned(),
        ts: t(secs),
        received_at: t(secs + 1),
        status: state,
        raw_status: format!("{state:?}"),
        source: "tcec".to_owned(),
        power_kw: None,
        soc_pct: None,
    }
}

fn started(session: &str, connector: &str, secs: i64, meter: f64) -> ChargingEvent {
    ChargingEvent::SessionStarted {
        session_id: session.to_owned(),
        operator_id: OCPP_OPERATOR.to_owned(),
        station_id: "site-1".to_owned(),
        equipment_id: "CP1".to_owned(),
        connector_id: connector.to_owned(),
        start_ts: t(secs),
        meter_start_wh: Some(meter),
        id_tag: Some("TAG1".to_owned()),
        source: "ocpp1.6".to_owned(),
    }
}

fn meter(connector: &str, session: Option<&str>, secs: i64, wh: f64) -> ChargingEvent {
    ChargingEvent::Meter {
        operator_id: OCPP_OPERATOR.to_owned(),
        connector_id: connector.to_owned(),
        session_id: session.map(str::to_owned),
        ts: t(secs),
        energy_wh: Some(wh),
        power_kw: Some(7.2),
        soc_pct: Some(55.0),
    }
}

fn ended(session: &str, secs: i64, meter: Option<f64>) -> ChargingEvent {
    ChargingEvent::SessionEnded {
        session_id: session.to_owned(),
        operator_id: OCPP_OPERATOR.to_owned(),
        end_ts: t(secs),
        meter_stop_wh: meter,
        stop_reason: Some("Local".to_owned()),
    }
}

fn tcec_session(id: &str, end: i64) -> ChargingSession {
    ChargingSession {
        session_id: id.to_owned(),
        operator_id: OP.to_owned(),
        station_id: "S1".to_owned(),
        equipment_id: "E1".to_owned(),
        connector_id: "C1".to_owned(),
        start_ts: t(end - 3600),
        end_ts: t(end),
        received_at: t(end + 5),
        energy_kwh: Some(31.5),
        fee_total: Some(42.1),
        stop_reason: Some("2".to_owned()),
        id_tag: None,
        source: "tcec".to_owned(),
    }
}

fn record(lsn: u64, events: &[ChargingEvent]) -> ChargingRecord<'_> {
    ChargingRecord {
        lsn,
        received_at: t(lsn as i64 * 10),
        org: None,
        events,
    }
}

/// Applies one record and returns its outputs.
fn apply(cat: &Catalog, lsn: u64, events: &[ChargingEvent]) -> ChargingApplied {
    let mut out = cat.apply_charging(&[record(lsn, events)]).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, lsn);
    out.remove(0).1
}

/// Every table `apply_charging` changes, dumped as text, to compare states.
fn dump(cat: &Catalog) -> Vec<String> {
    let conn = cat.lock_conn();
    let mut out = Vec::new();
    for table in [
        "stations",
        "chargers",
        "connectors",
        "charging_open",
        "charging_done",
        "charging_out",
        "cursors",
    ] {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2"))
            .unwrap();
        let n = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                let mut cells = Vec::new();
                for i in 0..n {
                    cells.push(format!("{:?}", r.get::<_, rusqlite::types::Value>(i)?));
                }
                Ok(cells.join("|"))
            })
            .unwrap();
        for row in rows {
            out.push(format!("{table}: {}", row.unwrap()));
        }
    }
    out
}

#[test]
fn a_status_is_emitted_when_it_changes_and_an_older_one_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let cat = open(&dir);
    let first = status("C1", ConnectorState::Available, 100);
    assert_eq!(
        apply(&cat, 1, &[ChargingEvent::Status(first.clone())]).statuses,
        std::slice::from_ref(&first)
    );

    // The same status later: no row, but the connector's time and readings move on.
    let mut same = status("C1", ConnectorState::Available, 200);
    same.power_kw = Some(0.5);
    assert!(apply(&cat, 2, &[ChargingEvent::Status(same)]).is_empty());
    let now = cat.connectors(None, None).unwrap();
    assert_eq!(now.len(), 1);
    assert_eq!(now[0].status.ts, t(200));
    assert_eq!(now[0].status.power_kw, Some(0.5));

    // A change is a row.
    let charging = status("C1", ConnectorState::Charging, 300);
    assert_eq!(
        apply(&cat, 3, &[ChargingEvent::Status(charging.clone())]).statuses,
        std::slice::from_ref(&charging)
    );

    // A report older than the stored state changes nothing and emits nothing.
    let late = status("C1", ConnectorState::Faulted, 250);
    assert!(apply(&cat, 4, &[ChargingEvent::Status(late)]).is_empty());
    let now = cat.connectors(None, None).unwrap();
    assert_eq!(now[0].status.status, ConnectorState::Charging);
    assert_eq!(now[0].status.ts, t(300));

    // Filters.
    assert_eq!(
        cat.connectors(Some(ConnectorState::Charging), Some(OP))
            .unwrap()
            .len(),
        1
    );
    assert!(
        cat.connectors(Some(ConnectorState::Available), None)
            .unwrap()
            .is_empty()
    );
    assert!(cat.connectors(None, Some("OTHER")).unwrap().is_empty());
}

#[test]
fn an_ocpp_session_is_folded_from_start_meter_and_end() {
    let dir = tempfile::tempdir().unwrap();
    let cat = open(&dir);
    let mut plugged = status("CP1-1", ConnectorState::Occupied, 0);
    plugged.operator_id = OCPP_OPERATOR.to_owned();
    apply(&cat, 1, &[ChargingEvent::Status(plugged)]);
    assert!(apply(&cat, 2, &[started("17", "CP1-1", 10, 1_000.0)]).is_empty());
    let open = cat.open_sessions().unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].session_id, "17");
    assert_eq!(
        cat.connectors(None, None).unwrap()[0].session_id.as_deref(),
        Some("17")
    );

    // Meter readings by the connector's open session; a late, lower reading is ignored.
    apply(&cat, 3, &[meter("CP1-1", None, 600, 4_000.0)]);
    apply(&cat, 4, &[meter("CP1-1", Some("17"), 300, 2_500.0)]);
    let open = cat.open_sessions().unwrap();
    assert_eq!(open[0].last_meter_wh, Some(4_000.0));
    let connector = &cat.connectors(None, None).unwrap()[0];
    assert_eq!(connector.status.power_kw, Some(7.2));
    assert_eq!(connector.status.soc_pct, Some(55.0));

    // The stop without a meter value uses the last reading.
    let out = apply(&cat, 5, &[ended("17", 900, None)]);
    assert_eq!(out.sessions.len(), 1);
    let s = &out.sessions[0];
    assert_eq!(s.energy_kwh, Some(3.0));
    assert_eq!((s.start_ts, s.end_ts), (t(10), t(900)));
    assert_eq!(s.connector_id, "CP1-1");
    assert_eq!(s.id_tag.as_deref(), Some("TAG1"));
    assert_eq!(s.source, "ocpp1.6");
    assert_eq!(s.stop_reason.as_deref(), Some("Local"));
    assert_eq!(s.received_at, t(50));
    assert!(cat.open_sessions().unwrap().is_empty());
    assert_eq!(cat.connectors(None, None).unwrap()[0].session_id, None);

    // With a stop meter value, that one counts.
    apply(&cat, 6, &[started("18", "CP1-1", 1000, 10_000.0)]);
    let out = apply(&cat, 7, &[ended("18", 2000, Some(22_500.0))]);
    assert_eq!(out.sessions[0].energy_kwh, Some(12.5));

    // The same stop again (a retried message) is not a second row.
    assert!(apply(&cat, 8, &[ended("18", 2000, Some(22_500.0))]).is_empty());

    // A stop whose start was never seen still makes a row, starting when it ended.
    let out = apply(&cat, 9, &[ended("99", 3000, Some(1.0))]);
    let s = &out.sessions[0];
    assert_eq!(
        (s.start_ts, s.end_ts, s.energy_kwh),
        (t(3000), t(3000), None)
    );
    assert_eq!(s.source, "ocpp");
}

#[test]
fn a_tcec_session_sent_twice_is_one_row_and_closes_an_open_one() {
    let dir = tempfile::tempdir().unwrap();
    let cat = open(&dir);
    let s = tcec_session("ORDER-1", 7200);
    assert_eq!(
        apply(&cat, 1, &[ChargingEvent::Session(s.clone())]).sessions,
        std::slice::from_ref(&s)
    );
    assert!(apply(&cat, 2, &[ChargingEvent::Session(s.clone())]).is_empty());
    // Another operator's order with the same id is another session.
    let mut other = s.clone();
    other.operator_id = "MA7654321".to_owned();
    assert_eq!(
        apply(&cat, 3, &[ChargingEvent::Session(other.clone())]).sessions,
        [other]
    );

    // A complete session for one that was open closes it.
    apply(&cat, 4, &[started("55", "CP1-1", 0, 0.0)]);
    let mut done = tcec_session("55", 500);
    done.operator_id = OCPP_OPERATOR.to_owned();
    assert_eq!(
        apply(&cat, 5, &[ChargingEvent::Session(done.clone())]).sessions,
        [done]
    );
    assert!(cat.open_sessions().unwrap().is_empty());

    // Forgetting finished sessions lets a late copy through again.
    assert_eq!(cat.prune_charging_done(t(7200)).unwrap(), 1);
    assert_eq!(
        apply(&cat, 6, &[ChargingEvent::Session(s.clone())]).sessions,
        []
    );
    assert_eq!(cat.prune_charging_done(t(7201)).unwrap(), 2);
    assert_eq!(
        apply(&cat, 7, &[ChargingEvent::Session(s.clone())]).sessions,
        [s]
    );
}

/// Records 1–5: a status change, a session start, a meter reading, a same-status report, the
/// end; record 4 alone emits nothing.
fn history() -> Vec<Vec<ChargingEvent>> {
    let mut plugged = status("CP1-1", ConnectorState::Occupied, 0);
    plugged.operator_id = OCPP_OPERATOR.to_owned();
    let mut charging = plugged.clone();
    charging.status = ConnectorState::Charging;
    charging.ts = t(20);
    let mut again = charging.clone();
    again.ts = t(40);
    vec![
        vec![ChargingEvent::Status(plugged)],
        vec![
            started("7", "CP1-1", 10, 100.0),
            ChargingEvent::Status(charging),
        ],
        vec![meter("CP1-1", None, 30, 2_100.0)],
        vec![ChargingEvent::Status(again)],
        vec![
            ended("7", 50, None),
            ChargingEvent::Session(tcec_session("T1", 60)),
        ],
    ]
}

fn records(
    history: &[Vec<ChargingEvent>],
    lsns: std::ops::RangeInclusive<u64>,
) -> Vec<ChargingRecord<'_>> {
    lsns.map(|lsn| record(lsn, &history[lsn as usize - 1]))
        .collect()
}

#[test]
fn applying_a_batch_again_returns_the_same_outputs_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cat = open(&dir);
    let h = history();
    let batch = records(&h, 1..=5);
    let first = cat.apply_charging(&batch).unwrap();
    let outputs: Vec<usize> = first
        .iter()
        .map(|(_, o)| o.statuses.len() + o.sessions.len())
        .collect();
    assert_eq!(outputs, [1, 1, 0, 0, 2]);
    assert_eq!(first[4].1.sessions[0].energy_kwh, Some(2.0));
    let state = dump(&cat);
    assert_eq!(cat.cursor(CHARGING_CURSOR).unwrap(), Some(5));

    // Recomputing would now give nothing (the statuses are the same, the sessions are done):
    // the stored outputs are what a replay must see.
    let again = cat.apply_charging(&batch).unwrap();
    assert_eq!(again, first);
    assert_eq!(dump(&cat), state);
}

#[test]
fn a_replay_overlapping_the_cursor_reads_old_outputs_and_computes_new_ones() {
    let h = history();
    // The reference: 1..=5 applied once.
    let dir = tempfile::tempdir().unwrap();
    let reference = open(&dir);
    let expected = reference.apply_charging(&records(&h, 1..=5)).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let cat = open(&dir);
    let first = cat.apply_charging(&records(&h, 1..=3)).unwrap();
    assert_eq!(first, expected[0..3]);
    drop(cat);
    // A restart: the WAL replays from record 2.
    let cat = open(&dir);
    let replay = cat.apply_charging(&records(&h, 2..=5)).unwrap();
    assert_eq!(replay, expected[1..5]);
    assert_eq!(dump(&cat), dump(&reference));

    // A reader (`haihe sql`) sees the stored outputs without applying anything.
    let stored = cat.charging_outputs_after(1).unwrap();
    let nonempty: Vec<(u64, ChargingApplied)> = expected[1..]
        .iter()
        .filter(|(_, o)| !o.is_empty())
        .cloned()
        .collect();
    assert_eq!(stored, nonempty);

    // Outputs the lake has in Parquet can go; a replay of those records then yields nothing
    // (the lake ignores them anyway), and later ones are still exact.
    assert_eq!(cat.prune_charging_out(3).unwrap(), 2);
    let replay = cat.apply_charging(&records(&h, 1..=5)).unwrap();
    assert!(replay[0].1.is_empty() && replay[1].1.is_empty());
    assert_eq!(replay[2..], expected[2..]);
}

#[test]
fn stations_and_chargers_keep_what_later_records_do_not_say() {
    let dir = tempfile::tempdir().unwrap();
    let cat = open(&dir);
    let station = Station {
        operator_id: OP.to_owned(),
        station_id: "S1".to_owned(),
        name: "Binhai P+R".to_owned(),
        lon: Some(117.7),
        lat: Some(39.0),
        district: Some("120116".to_owned()),
        connectors: 12,
        rated_power_kw: 720.0,
        source: "tcec".to_owned(),
    };
    let events = [ChargingEvent::Station(station.clone())];
    cat.apply_charging(&[ChargingRecord {
        org: Some("grid-co"),
        ..record(1, &events)
    }])
    .unwrap();
    let renamed = Station {
        name: "Binhai Park and Ride".to_owned(),
        ..station.clone()
    };
    apply(&cat, 2, &[ChargingEvent::Station(renamed.clone())]);
    let listed = cat.stations(None, None).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].station, renamed);
    assert_eq!(listed[0].org.as_deref(), Some("grid-co"), "org kept");
    assert_eq!(listed[0].updated_at, t(20));
    assert_eq!(cat.stations(Some(OP), Some("grid-co")).unwrap().len(), 1);
    assert!(cat.stations(None, Some("other")).unwrap().is_empty());
    assert!(cat.stations(Some("X"), None).unwrap().is_empty());

    let charger = Charger {
        operator_id: OCPP_OPERATOR.to_owned(),
        station_id: "site-1".to_owned(),
        equipment_id: "CP1".to_owned(),
        power_kw: Some(22.0),
        connectors: vec!["CP1-1".to_owned(), "CP1-2".to_owned()],
        commissioned: Some("2026-07-01".to_owned()),
        model: Some("ACME/W22".to_owned()),
        source: "ocpp1.6".to_owned(),
    };
    apply(&cat, 3, &[ChargingEvent::Charger(charger.clone())]);
    // A later boot knows neither commissioning, power nor connectors.
    let reboot = Charger {
        power_kw: None,
        connectors: Vec::new(),
        commissioned: None,
        model: Some("ACME/W22 fw2".to_owned()),
        ..charger.clone()
    };
    apply(&cat, 4, &[ChargingEvent::Charger(reboot)]);
    let listed = cat.chargers().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].charger,
        Charger {
            model: Some("ACME/W22 fw2".to_owned()),
            ..charger
        }
    );
    assert_eq!((listed[0].first_seen, listed[0].updated_at), (t(30), t(40)));
}

#[test]
fn ocpp_transaction_ids_are_new_and_positive() {
    let dir = tempfile::tempdir().unwrap();
    let cat = open(&dir);
    let a = cat
        .allocate_ocpp_transaction("CP1", 1, "TAG", t(0))
        .unwrap();
    let b = cat
        .allocate_ocpp_transaction("CP1", 2, "TAG", t(1))
        .unwrap();
    assert!(a > 0 && b > a);
    drop(cat);
    let cat = open(&dir);
    // Deleting rows must not make an id come back.
    cat.lock_conn()
        .execute("DELETE FROM ocpp_transactions", [])
        .unwrap();
    let c = cat
        .allocate_ocpp_transaction("CP2", 1, "TAG", t(2))
        .unwrap();
    assert!(c > b);
    // At the end of the i32 range the allocation fails instead of wrapping.
    cat.lock_conn()
        .execute(
            "UPDATE sqlite_sequence SET seq = ?1 WHERE name = 'ocpp_transactions'",
            [i64::from(i32::MAX)],
        )
        .unwrap();
    assert!(
        cat.allocate_ocpp_transaction("CP2", 1, "TAG", t(3))
            .is_err()
    );
}

#[test]
fn tcec_tokens_belong_to_their_operator_until_they_expire() {
    let dir = tempfile::tempdir().unwrap();
    let cat = open(&dir);
    // Storing prunes by the system clock, so the times here are around the real now.
    let now = Timestamp::from_micros(super::super::now_micros());
    let later = |secs: i64| Timestamp::from_micros(now.as_micros() + secs * 1_000_000);
    cat.store_tcec_token(OP, "tok-a", later(7200)).unwrap();
    assert_eq!(
        cat.tcec_token_operator("tok-a", later(10))
            .unwrap()
            .as_deref(),
        Some(OP)
    );
    assert_eq!(cat.tcec_token_operator("tok-b", later(10)).unwrap(), None);
    assert_eq!(
        cat.tcec_token_operator("tok-a", later(7200)).unwrap(),
        None,
        "expired"
    );
    // Only the hash is stored.
    let stored: Vec<u8> = cat
        .lock_conn()
        .query_row("SELECT token_hash FROM tcec_tokens", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored.len(), 32);
    assert_ne!(stored, b"tok-a");
    // Storing prunes expired tokens…
    cat.store_tcec_token(OP, "tok-old", later(-1)).unwrap();
    cat.store_tcec_token(OP, "tok-new", later(60)).unwrap();
    let hashes = |cat: &Catalog| -> i64 {
        cat.lock_conn()
            .query_row("SELECT COUNT(*) FROM tcec_tokens", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(hashes(&cat), 2, "tok-a and tok-new");
    // …and bounds the tokens per operator, keeping the ones that expire last.
    for i in 0..40 {
        cat.store_tcec_token(OP, &format!("tok-{i}"), later(8000 + i))
            .unwrap();
    }
    cat.store_tcec_token("OTHER", "tok-other", later(60))
        .unwrap();
    assert_eq!(hashes(&cat), super::MAX_TCEC_TOKENS_PER_OPERATOR as i64 + 1);
    assert_eq!(
        cat.tcec_token_operator("tok-39", later(0))
            .unwrap()
            .as_deref(),
        Some(OP)
    );
    assert_eq!(cat.tcec_token_operator("tok-0", later(0)).unwrap(), None);
    assert_eq!(
        cat.tcec_token_operator("tok-other", later(0))
            .unwrap()
            .as_deref(),
        Some("OTHER")
    );
}

#[test]
fn a_version_3_catalog_migrates_and_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(CATALOG_FILE);
    {
        let conn = Connection::open(&path).unwrap();
        for (i, sql) in MIGRATIONS[..3].iter().enumerate() {
            conn.execute_batch(sql).unwrap();
            conn.pragma_update(None, "user_version", i as i64 + 1)
                .unwrap();
        }
        conn.execute(
            "INSERT INTO vehicles (vin, updated_at) VALUES ('LVIN0000000000001', 0)",
            [],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO cursors (name, position) VALUES ('rules_lsn', 9)",
            [],
        )
        .unwrap();
    }
    let cat = Catalog::open(&path).unwrap();
    assert_eq!(cat.vehicles().unwrap().len(), 1);
    assert_eq!(cat.cursor("rules_lsn").unwrap(), Some(9));
    assert_eq!(cat.cursor(CHARGING_CURSOR).unwrap(), None);
    let version: i64 = cat
        .lock_conn()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 4);
    let s = status("C1", ConnectorState::Available, 0);
    assert_eq!(
        apply(&cat, 1, &[ChargingEvent::Status(s.clone())]).statuses,
        [s]
    );
}

#[test]
fn configured_stations_are_written_without_moving_the_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let cat = open(&dir);
    let site = Station {
        operator_id: OCPP_OPERATOR.to_owned(),
        station_id: "depot-1".to_owned(),
        name: "Bus depot 1".to_owned(),
        lon: Some(117.2),
        lat: Some(39.1),
        district: Some("120104".to_owned()),
        connectors: 0,
        rated_power_kw: 60.0,
        source: "ocpp".to_owned(),
    };
    cat.upsert_stations(std::slice::from_ref(&site), t(0))
        .unwrap();
    let got = cat.stations(Some(OCPP_OPERATOR), None).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].station, site);
    assert_eq!(got[0].updated_at, t(0));
    assert_eq!(cat.cursor(CHARGING_CURSOR).unwrap(), None);
    // Written again with a new name: one row, updated.
    let renamed = Station {
        name: "Depot one".to_owned(),
        ..site
    };
    cat.upsert_stations(std::slice::from_ref(&renamed), t(5))
        .unwrap();
    let got = cat.stations(None, None).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].station.name, "Depot one");
}

#[test]
fn a_status_that_names_only_its_connector_is_placed_by_the_charger_that_lists_it() {
    let dir = tempfile::tempdir().unwrap();
    let cat = open(&dir);
    let charger = ChargingEvent::Charger(Charger {
        operator_id: OP.to_owned(),
        station_id: "S7".to_owned(),
        equipment_id: "E7".to_owned(),
        power_kw: Some(60.0),
        connectors: vec!["C71".to_owned(), "C72".to_owned()],
        commissioned: None,
        model: None,
        source: "tcec".to_owned(),
    });
    apply(&cat, 1, &[charger]);
    let bare = ConnectorStatus {
        station_id: String::new(),
        equipment_id: String::new(),
        ..status("C72", ConnectorState::Charging, 10)
    };
    let out = apply(&cat, 2, &[ChargingEvent::Status(bare.clone())]);
    assert_eq!(out.statuses.len(), 1);
    assert_eq!(
        (
            out.statuses[0].station_id.as_str(),
            out.statuses[0].equipment_id.as_str()
        ),
        ("S7", "E7")
    );
    // The next bare status keeps the place, and so does the connector's row.
    let next = ConnectorStatus {
        status: ConnectorState::Available,
        ts: t(20),
        ..bare
    };
    let out = apply(&cat, 3, &[ChargingEvent::Status(next)]);
    assert_eq!(out.statuses[0].station_id, "S7");
    let rows = cat.connectors(None, Some(OP)).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status.station_id, "S7");
    assert_eq!(rows[0].status.equipment_id, "E7");
}
