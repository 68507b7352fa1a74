//! The lake's charging tables, `connector_status` and `charging_sessions`, with real files: round
//! trip through memory, Parquet and a reopen (sessions partitioned by the day they ended), one
//! flush committing every table, replay after a crash, SQL with the catalog's `stations`, the
//! read-only open, and retention.

mod lake_support;

use std::fs;

use arrow::array::AsArray;
use arrow::datatypes::Int64Type;
use lake_support::{at, day0, fleet_report, sample, tree, vin};
use model::{ChargingSession, ConnectorState, ConnectorStatus, Station, Timestamp};
use store::catalog::StationRecord;
use store::lake::{CatalogTables, Lake, LakeOptions, LakeRows, batches_to_json};

const OP_A: &str = "MA1234567";
const OP_B: &str = "MB7654321";

fn options() -> LakeOptions {
    let mut o = LakeOptions::default();
    o.batch_rows = 4;
    o.row_group_rows = 100;
    o
}

fn status(op: &str, connector: &str, state: ConnectorState, ts: Timestamp) -> ConnectorStatus {
    ConnectorStatus {
        operator_id: op.to_owned(),
        station_id: "S1".to_owned(),
        equipment_id: "E1".to_owned(),
        connector_id: connector.to_owned(),
        ts,
        received_at: at(ts, 2),
        status: state,
        raw_status: "3".to_owned(),
        source: "tcec".to_owned(),
        power_kw: (state == ConnectorState::Charging).then_some(60.5),
        soc_pct: None,
    }
}

fn session(op: &str, id: &str, start: Timestamp, end: Timestamp) -> ChargingSession {
    ChargingSession {
        session_id: id.to_owned(),
        operator_id: op.to_owned(),
        station_id: "S1".to_owned(),
        equipment_id: "E1".to_owned(),
        connector_id: "C1".to_owned(),
        start_ts: start,
        end_ts: end,
        received_at: at(end, 5),
        energy_kwh: Some(30.25),
        fee_total: None,
        stop_reason: Some("EVDisconnected".to_owned()),
        id_tag: Some("TAG-1".to_owned()),
        source: "ocpp1.6".to_owned(),
    }
}

fn whole_days() -> (Timestamp, Timestamp) {
    (at(day0(), -2 * 86_400), at(day0(), 2 * 86_400))
}

async fn count(lake: &Lake, sql: &str) -> i64 {
    let batches = lake.sql(sql, &[], &[]).await.expect(sql);
    batches[0].column(0).as_primitive::<Int64Type>().value(0)
}

async fn counts(lake: &Lake) -> (i64, i64) {
    (
        count(lake, "SELECT count(*) FROM connector_status").await,
        count(lake, "SELECT count(*) FROM charging_sessions").await,
    )
}

/// The statuses and sessions of the round trip: two operators, a session that started
/// yesterday (Beijing) and ended today, one that ended yesterday.
fn rows() -> (Vec<ConnectorStatus>, Vec<ChargingSession>) {
    let statuses = vec![
        status(OP_B, "C9", ConnectorState::Faulted, at(day0(), 5)),
        status(OP_A, "C1", ConnectorState::Available, at(day0(), 10)),
        status(OP_A, "C1", ConnectorState::Charging, at(day0(), 20)),
        status(OP_A, "C2", ConnectorState::Unknown, at(day0(), -30)),
    ];
    let sessions = vec![
        session(OP_A, "S-1", at(day0(), -3600), at(day0(), 600)),
        session(OP_B, "S-2", at(day0(), -7200), at(day0(), -60)),
        ChargingSession {
            energy_kwh: None,
            stop_reason: None,
            id_tag: None,
            fee_total: Some(12.5),
            ..session(OP_A, "S-3", at(day0(), 700), at(day0(), 900))
        },
    ];
    (statuses, sessions)
}

async fn read_back(lake: &Lake, statuses: &[ConnectorStatus], sessions: &[ChargingSession]) {
    let (from, to) = whole_days();
    let mut by_ts = statuses.to_vec();
    by_ts.sort_by_key(|s| s.ts);
    assert_eq!(
        lake.connector_status_between(from, to, None)
            .await
            .expect("statuses"),
        by_ts
    );
    let of_a: Vec<ConnectorStatus> = by_ts
        .iter()
        .filter(|s| s.operator_id == OP_A)
        .cloned()
        .collect();
    assert_eq!(
        lake.connector_status_between(from, to, Some(OP_A))
            .await
            .expect("statuses"),
        of_a
    );
    // `[from, to)`: a status exactly at `to` is not in, one at `from` is.
    assert_eq!(
        lake.connector_status_between(at(day0(), 10), at(day0(), 20), None)
            .await
            .expect("statuses"),
        [statuses[1].clone()]
    );

    let mut by_end = sessions.to_vec();
    by_end.sort_by_key(|s| s.end_ts);
    assert_eq!(
        lake.sessions_between(from, to, None, 100)
            .await
            .expect("sessions"),
        by_end
    );
    assert_eq!(
        lake.sessions_between(from, to, None, 1)
            .await
            .expect("sessions"),
        [sessions[1].clone()]
    );
    assert_eq!(
        lake.sessions_between(from, to, None, usize::MAX)
            .await
            .expect("every session"),
        by_end
    );
    // By end time: the session that started yesterday and ended today is today's.
    assert_eq!(
        lake.sessions_between(day0(), to, Some(OP_A), 100)
            .await
            .expect("sessions"),
        [sessions[0].clone(), sessions[2].clone()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charging_rows_survive_memory_parquet_and_a_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (statuses, sessions) = rows();
    let v = vin(1);
    let samples = vec![sample(&v, at(day0(), 1), 1)];
    let lake = Lake::open(dir.path(), options()).expect("open");
    assert!(
        lake.insert_all(
            1,
            &LakeRows {
                samples: &samples,
                statuses: &statuses[..3],
                sessions: &sessions[..1],
                ..LakeRows::default()
            },
        )
        .expect("insert")
    );
    assert!(
        lake.insert_all(
            2,
            &LakeRows {
                statuses: &statuses[3..],
                sessions: &sessions[1..],
                ..LakeRows::default()
            },
        )
        .expect("insert")
    );
    assert_eq!(lake.buffered_rows(), 8);
    read_back(&lake, &statuses, &sessions).await;

    // One flush writes every table under one sequence number.
    let stats = lake.flush().expect("flush");
    assert_eq!(
        (
            stats.rows,
            stats.status_rows,
            stats.session_rows,
            stats.flushed_lsn
        ),
        (1, 4, 3, 2)
    );
    assert_eq!(lake.buffered_rows(), 0);
    let files: Vec<String> = tree(dir.path())
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        files,
        [
            "_lake_state.json",
            "charging_sessions/date=2026-07-06/part-000000000001.parquet",
            "charging_sessions/date=2026-07-07/part-000000000001.parquet",
            "connector_status/date=2026-07-06/part-000000000001.parquet",
            "connector_status/date=2026-07-07/part-000000000001.parquet",
            "positions/date=2026-07-07/part-000000000001.parquet",
            "vehicle_samples/date=2026-07-07/part-000000000001.parquet",
        ]
    );
    read_back(&lake, &statuses, &sessions).await;
    drop(lake);

    let lake = Lake::open(dir.path(), options()).expect("reopen");
    read_back(&lake, &statuses, &sessions).await;
    let lake = Lake::open_read_only(dir.path()).expect("read-only");
    read_back(&lake, &statuses, &sessions).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_after_a_crash_inserts_each_charging_row_exactly_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Record `lsn` carries one status change, one session and one fleet report.
    let record = |lsn: u64| {
        let ts = at(day0(), lsn as i64 * 60);
        (
            vec![status(
                OP_A,
                &format!("C{lsn}"),
                ConnectorState::Charging,
                ts,
            )],
            vec![session(OP_A, &format!("S{lsn}"), at(ts, -600), ts)],
            vec![fleet_report("13800000001", None, ts, lsn)],
        )
    };
    let insert = |lake: &Lake, lsn: u64| {
        let (st, se, fr) = record(lsn);
        lake.insert_all(
            lsn,
            &LakeRows {
                reports: &fr,
                statuses: &st,
                sessions: &se,
                ..LakeRows::default()
            },
        )
        .expect("insert")
    };
    {
        let lake = Lake::open(dir.path(), options()).expect("open");
        for lsn in 1..=8 {
            assert!(insert(&lake, lsn));
            if lsn == 5 {
                lake.flush().expect("flush");
            }
        }
        assert_eq!(counts(&lake).await, (8, 8));
        // 6..=8 are only in memory when the process dies.
    }
    let lake = Lake::open(dir.path(), options()).expect("reopen");
    assert_eq!(lake.flushed_lsn(), 5);
    assert_eq!(counts(&lake).await, (5, 5));
    // The whole WAL replayed: records up to the flushed LSN are ignored.
    for lsn in 1..=8 {
        assert_eq!(insert(&lake, lsn), lsn > 5, "record {lsn}");
    }
    assert_eq!(counts(&lake).await, (8, 8));
    assert_eq!(
        count(&lake, "SELECT count(*) FROM fleet_reports").await,
        8,
        "the other tables follow the same rule"
    );
    let (from, to) = whole_days();
    let sessions = lake
        .sessions_between(from, to, None, 100)
        .await
        .expect("sessions");
    let expected: Vec<ChargingSession> = (1..=8).map(|lsn| record(lsn).1[0].clone()).collect();
    assert_eq!(sessions, expected);
    lake.flush().expect("flush");
    drop(lake);
    let lake = Lake::open(dir.path(), options()).expect("reopen");
    assert_eq!(counts(&lake).await, (8, 8));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_joins_charging_tables_with_the_stations_of_the_catalog() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = Lake::open(dir.path(), options()).expect("open");
    let (statuses, sessions) = rows();
    lake.insert_all(
        1,
        &LakeRows {
            statuses: &statuses,
            sessions: &sessions,
            ..LakeRows::default()
        },
    )
    .expect("insert");
    lake.flush().expect("flush");
    // One more row in memory only.
    let extra = [session(OP_A, "S-4", at(day0(), 1000), at(day0(), 2000))];
    lake.insert_all(
        2,
        &LakeRows {
            sessions: &extra,
            ..LakeRows::default()
        },
    )
    .expect("insert");

    let stations = [StationRecord {
        station: Station {
            operator_id: OP_A.to_owned(),
            station_id: "S1".to_owned(),
            name: "Binhai P+R".to_owned(),
            lon: Some(117.7),
            lat: None,
            district: Some("120116".to_owned()),
            connectors: 12,
            rated_power_kw: 720.0,
            source: "tcec".to_owned(),
        },
        org: Some("grid-co".to_owned()),
        updated_at: day0(),
    }];
    let tables = CatalogTables {
        stations: &stations,
        ..CatalogTables::default()
    };
    let query = |sql: &'static str| {
        let lake = &lake;
        async move {
            let batches = lake.sql_with(sql, &tables).await.expect(sql);
            batches_to_json(&batches).expect("json").1
        }
    };
    let rows = query(
        "SELECT st.name, st.org, count(*) AS n, sum(s.energy_kwh) AS kwh
         FROM charging_sessions s JOIN stations st
           ON s.operator_id = st.operator_id AND s.station_id = st.station_id
         GROUP BY st.name, st.org",
    )
    .await;
    assert_eq!(
        rows,
        [[
            serde_json::json!("Binhai P+R"),
            serde_json::json!("grid-co"),
            serde_json::json!(3),
            serde_json::json!(60.5),
        ]]
    );
    let rows =
        query("SELECT status, count(*) FROM connector_status GROUP BY status ORDER BY status")
            .await;
    assert_eq!(
        rows,
        [
            [serde_json::json!("available"), serde_json::json!(1)],
            [serde_json::json!("charging"), serde_json::json!(1)],
            [serde_json::json!("faulted"), serde_json::json!(1)],
            [serde_json::json!("unknown"), serde_json::json!(1)],
        ]
    );
    let rows = query("SELECT connectors, rated_power_kw, lat FROM stations").await;
    assert_eq!(
        rows,
        [[
            serde_json::json!(12),
            serde_json::json!(720.0),
            serde_json::Value::Null
        ]]
    );
    // Without stations passed in, the table exists and is empty.
    assert_eq!(count(&lake, "SELECT count(*) FROM stations").await, 0);
    // Still read-only.
    assert!(
        lake.sql_with("DROP TABLE connector_status", &tables)
            .await
            .is_err()
    );
    assert!(
        lake.sql_with(
            "INSERT INTO charging_sessions SELECT * FROM charging_sessions",
            &tables
        )
        .await
        .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_drops_old_days_of_the_charging_tables() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = Lake::open(dir.path(), options()).expect("open");
    let (statuses, sessions) = rows();
    lake.insert_all(
        1,
        &LakeRows {
            statuses: &statuses,
            sessions: &sessions,
            ..LakeRows::default()
        },
    )
    .expect("insert");
    lake.flush().expect("flush");
    assert_eq!(counts(&lake).await, (4, 3));
    let removed = lake
        .apply_retention(at(day0(), 86_400 + 3600), 1)
        .expect("retention");
    assert_eq!(
        removed, 2,
        "yesterday of connector_status and charging_sessions"
    );
    assert!(!dir.path().join("connector_status/date=2026-07-06").exists());
    assert!(
        !dir.path()
            .join("charging_sessions/date=2026-07-06")
            .exists()
    );
    assert!(fs::metadata(dir.path().join("charging_sessions/date=2026-07-07")).is_ok());
    assert_eq!(counts(&lake).await, (3, 2));
}
