//! The lake's `fleet_reports` table (JT/T 808 location reports) with real files: round trip
//! through memory, Parquet and a reopen, the partition layout and sort order, the `positions` rows
//! derived from fleet reports, replay after a crash, SQL, the latest report per terminal, the
//! timeline trips are computed from, and the vehicles active in a period.

mod lake_support;

use std::fs::{self, File};

use arrow::array::AsArray;
use arrow::datatypes::{DataType, Int64Type, TimeUnit, TimestampMicrosecondType};
use lake_support::{at, day0, fleet_report, sample, tree, vin};
use model::{FleetReport, Timestamp, VehicleInfo};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use store::lake::{Lake, LakeOptions, batches_to_json, fleet_reports_schema};

const TERMINAL_A: &str = "13800000001";
const TERMINAL_B: &str = "13800000002";
const TERMINAL_C: &str = "20190000000000000003";
const VIN_A: &str = "LFLEET00000000001";

fn options() -> LakeOptions {
    let mut o = LakeOptions::default();
    o.batch_rows = 64;
    o.row_group_rows = 100;
    o
}

async fn count(lake: &Lake, sql: &str) -> i64 {
    let batches = lake.sql(sql, &[], &[]).await.expect("query");
    batches[0].column(0).as_primitive::<Int64Type>().value(0)
}

/// Rows of the three stored tables.
async fn counts(lake: &Lake) -> (i64, i64, i64) {
    (
        count(lake, "SELECT count(*) FROM vehicle_samples").await,
        count(lake, "SELECT count(*) FROM fleet_reports").await,
        count(lake, "SELECT count(*) FROM positions").await,
    )
}

async fn answer(lake: &Lake, sql: &str, registry: &[VehicleInfo]) -> Vec<Vec<serde_json::Value>> {
    let batches = lake.sql(sql, registry, &[]).await.expect(sql);
    batches_to_json(&batches).expect("json").1
}

fn whole_day() -> (Timestamp, Timestamp) {
    (at(day0(), -86_400), at(day0(), 86_400))
}

/// Reports full of the awkward cases: no VIN, missing optional items, reissued, no fix, west
/// and south, negative altitude, every alarm bit.
fn awkward(ts: Timestamp) -> FleetReport {
    let mut r = fleet_report(TERMINAL_B, None, ts, 3);
    r.source = "jt808-2019".to_owned();
    r.reissue = true;
    r.lon = -70.6;
    r.lat = -33.45;
    r.alt_m = -12.0;
    r.alarm_bits = u32::MAX;
    r.status_bits = 0;
    r.acc_on = false;
    r.mileage_km = None;
    r.fuel_l = None;
    r.recorder_speed_kmh = None;
    r
}

/// Reads the rows of `fleet_reports_survive_memory_parquet_and_a_reopen` back every way.
async fn read_back(
    lake: &Lake,
    reports: &[FleetReport],
    other: &[FleetReport],
    samples: &[model::VehicleSample],
) {
    let (from, to) = whole_day();
    // By terminal id or by VIN: the same rows, oldest first.
    for id in [TERMINAL_A, VIN_A] {
        let got = lake
            .fleet_reports(&[id], from, to, 100)
            .await
            .expect("reports");
        assert_eq!(got, reports, "{id}");
    }
    let got = lake
        .fleet_reports(&[TERMINAL_B], from, to, 100)
        .await
        .expect("reports");
    assert_eq!(got, other);
    let limited = lake
        .fleet_reports(&[TERMINAL_A, TERMINAL_B], from, to, 2)
        .await
        .expect("reports");
    assert_eq!(limited, vec![reports[0].clone(), other[0].clone()]);
    let v = samples[0].vin.as_str();
    assert_eq!(
        lake.samples(v, from, to, 10).await.expect("samples"),
        samples
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_reports_survive_memory_parquet_and_a_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut no_fix = fleet_report(TERMINAL_A, Some(VIN_A), at(day0(), 30), 2);
    no_fix.position_valid = false;
    let reports = vec![
        fleet_report(TERMINAL_A, Some(VIN_A), at(day0(), 10), 1),
        no_fix,
        fleet_report(TERMINAL_A, Some(VIN_A), at(day0(), 50), 4),
    ];
    let other = vec![awkward(at(day0(), 20))];
    let v = vin(1);
    let samples = vec![sample(&v, at(day0(), 15), 1)];
    let lake = Lake::open(dir.path(), options()).expect("open");
    assert!(
        lake.insert_rows(1, &samples, &reports)
            .expect("insert samples and reports")
    );
    assert!(lake.insert_rows(2, &[], &other).expect("insert reports"));
    assert_eq!(lake.buffered_rows(), 5);

    read_back(&lake, &reports, &other, &samples).await;

    let stats = lake.flush().expect("flush");
    assert_eq!(
        (stats.rows, stats.fleet_rows, stats.position_rows),
        (1, 4, 4),
        "1 sample, 4 reports; positions: the sample and the three reports with a fix"
    );
    assert_eq!(stats.files, 3, "one file per table");
    assert_eq!(stats.flushed_lsn, 2);
    assert_eq!(lake.buffered_rows(), 0);
    read_back(&lake, &reports, &other, &samples).await;
    drop(lake);
    let lake = Lake::open(dir.path(), options()).expect("reopen");
    read_back(&lake, &reports, &other, &samples).await;
    let read_only = Lake::open_read_only(dir.path()).expect("read-only");
    read_back(&read_only, &reports, &other, &samples).await;

    // The table's columns are the fields of model::FleetReport, in order.
    let batches = lake
        .sql("SELECT * FROM fleet_reports", &[], &[])
        .await
        .expect("query");
    let schema = batches[0].schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let json = serde_json::to_value(&reports[0]).expect("json");
    let model_names: Vec<&str> = json
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(names, model_names);
    let ts_type = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    for (name, ty) in [
        ("ts", ts_type.clone()),
        ("received_at", ts_type),
        ("alarm_bits", DataType::UInt32),
        ("status_bits", DataType::UInt32),
        ("acc_on", DataType::Boolean),
        ("mileage_km", DataType::Float64),
    ] {
        assert_eq!(schema.field_with_name(name).unwrap().data_type(), &ty);
    }
    assert_eq!(schema.as_ref(), fleet_reports_schema().as_ref());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_files_are_beijing_day_partitions_sorted_by_terminal_then_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = Lake::open(dir.path(), options()).expect("open");
    // Three terminals reporting interleaved, every 30 s for an hour, over several flush batches.
    let terminals = [TERMINAL_C, TERMINAL_A, TERMINAL_B];
    let mut lsn = 0;
    for step in 0..120i64 {
        lsn += 1;
        let rows: Vec<FleetReport> = terminals
            .iter()
            .enumerate()
            .map(|(k, t)| fleet_report(t, None, at(day0(), step * 30 + k as i64), step as u64))
            .collect();
        lake.insert_rows(lsn, &[], &rows).expect("insert");
    }
    // One microsecond before Beijing midnight is yesterday; a blind-area report from yesterday
    // arrives today.
    let mut last_instant = fleet_report(TERMINAL_A, None, day0(), 7);
    last_instant.ts = Timestamp::from_micros(day0().as_micros() - 1);
    let mut reissued = fleet_report(TERMINAL_B, None, at(day0(), -43_200), 8);
    reissued.reissue = true;
    lake.insert_rows(lsn + 1, &[], &[reissued, last_instant])
        .expect("insert");
    let stats = lake.flush().expect("flush");
    assert_eq!(stats.fleet_rows, 362);

    let files: Vec<String> = tree(dir.path())
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        files,
        [
            "_lake_state.json",
            "fleet_reports/date=2026-07-06/part-000000000001.parquet",
            "fleet_reports/date=2026-07-07/part-000000000001.parquet",
            "positions/date=2026-07-06/part-000000000001.parquet",
            "positions/date=2026-07-07/part-000000000001.parquet",
        ]
    );

    let path = dir
        .path()
        .join("fleet_reports/date=2026-07-07/part-000000000001.parquet");
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).expect("open"))
        .expect("parquet");
    let meta = reader.metadata().clone();
    assert!(matches!(
        meta.row_group(0).column(0).compression(),
        Compression::ZSTD(_)
    ));
    assert_eq!(meta.file_metadata().num_rows(), 360);
    assert_eq!(meta.num_row_groups(), 4, "360 rows in row groups of 100");
    let mut keys = Vec::new();
    for batch in reader.build().expect("reader") {
        let batch = batch.expect("batch");
        assert_eq!(batch.schema().fields(), fleet_reports_schema().fields());
        let ids = batch.column(0).as_string::<i32>();
        let ts = batch.column(2).as_primitive::<TimestampMicrosecondType>();
        keys.extend((0..batch.num_rows()).map(|i| (ids.value(i).to_owned(), ts.value(i))));
    }
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "sorted by terminal id, then time");
    assert_eq!(keys[0].0, TERMINAL_A);
    assert_eq!(keys[359].0, TERMINAL_C);

    // Retention treats the table like the others.
    let removed = lake
        .apply_retention(at(day0(), 86_400 + 3600), 1)
        .expect("retention");
    assert_eq!(removed, 2, "yesterday of fleet_reports and positions");
    assert!(!dir.path().join("fleet_reports/date=2026-07-06").exists());
    assert_eq!(
        count(&lake, "SELECT count(*) FROM fleet_reports").await,
        360
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn positions_hold_the_fleet_reports_with_a_valid_fix_keyed_by_vin_or_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = Lake::open(dir.path(), options()).expect("open");
    // Terminal A reports before the registry knows its vehicle, then with its VIN.
    let before = fleet_report(TERMINAL_A, None, at(day0(), 10), 1);
    let after = fleet_report(TERMINAL_A, Some(VIN_A), at(day0(), 40), 2);
    let mut invalid = fleet_report(TERMINAL_A, Some(VIN_A), at(day0(), 70), 3);
    invalid.position_valid = false;
    let mut zero = fleet_report(TERMINAL_A, Some(VIN_A), at(day0(), 80), 4);
    zero.lon = 0.0;
    zero.lat = 0.0;
    // Reissued, west and south: a position like any other.
    let west = awkward(at(day0(), 20));
    let v = vin(1);
    let located = sample(&v, at(day0(), 5), 1);
    lake.insert_rows(
        1,
        std::slice::from_ref(&located),
        &[before.clone(), after.clone(), invalid, zero],
    )
    .expect("insert");
    lake.insert_rows(2, &[], std::slice::from_ref(&west))
        .expect("insert");

    let q = "SELECT entity_id, ts, source, lon, lat, speed_kmh, heading_deg, alt_m FROM positions \
             ORDER BY ts";
    let rows = answer(&lake, q, &[]).await;
    let expected = serde_json::json!([
        [
            v.as_str(),
            located.ts,
            "gbt32960-2016",
            located.lon,
            located.lat,
            located.speed_kmh,
            null,
            null
        ],
        [
            TERMINAL_A,
            before.ts,
            "jt808-2013",
            before.lon,
            before.lat,
            before.speed_kmh,
            before.heading_deg,
            before.alt_m
        ],
        [
            TERMINAL_B,
            west.ts,
            "jt808-2019",
            -70.6,
            -33.45,
            west.speed_kmh,
            west.heading_deg,
            -12.0
        ],
        [
            VIN_A,
            after.ts,
            "jt808-2013",
            after.lon,
            after.lat,
            after.speed_kmh,
            after.heading_deg,
            after.alt_m
        ],
    ]);
    assert_eq!(serde_json::json!(rows), expected);
    lake.flush().expect("flush");
    assert_eq!(serde_json::json!(answer(&lake, q, &[]).await), expected);

    // A vehicle's track covers both of its ids.
    let (from, to) = whole_day();
    let track = lake
        .track_of(&[VIN_A, TERMINAL_A], from, to)
        .await
        .expect("track");
    assert_eq!(
        track,
        vec![
            (before.ts, before.lon, before.lat, Some(before.speed_kmh)),
            (after.ts, after.lon, after.lat, Some(after.speed_kmh)),
        ]
    );
    assert_eq!(lake.track(VIN_A, from, to).await.expect("track").len(), 1);
    assert!(
        lake.track_of(&[], from, to)
            .await
            .expect("track")
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_after_a_crash_inserts_each_fleet_row_exactly_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v = vin(1);
    // Record `lsn` carries one sample and two reports (one of them without a fix).
    let record = |lsn: u64| {
        let mut no_fix = fleet_report(TERMINAL_B, None, at(day0(), lsn as i64), lsn);
        no_fix.position_valid = false;
        (
            vec![sample(&v, at(day0(), lsn as i64), lsn)],
            vec![
                fleet_report(TERMINAL_A, Some(VIN_A), at(day0(), lsn as i64), lsn),
                no_fix,
            ],
        )
    };
    {
        let lake = Lake::open(dir.path(), options()).expect("open");
        for lsn in 1..=10u64 {
            let (s, r) = record(lsn);
            lake.insert_rows(lsn, &s, &r).expect("insert");
            if lsn == 6 {
                let stats = lake.flush().expect("flush");
                assert_eq!(
                    (stats.rows, stats.fleet_rows, stats.position_rows),
                    (6, 12, 12)
                );
            }
        }
        assert_eq!(counts(&lake).await, (10, 20, 20));
        // Records 7..=10 are only in memory (and the WAL) when the process dies.
    }
    // What a crash in the middle of flush 2 leaves in the fleet table: a temp file, and a
    // renamed file of a flush the state file does not name.
    let day_dir = dir.path().join("fleet_reports/date=2026-07-07");
    let committed = day_dir.join("part-000000000001.parquet");
    let temp = day_dir.join(".part-000000000002.parquet.tmp");
    let uncommitted = day_dir.join("part-000000000002.parquet");
    fs::write(&temp, b"half a file").expect("write");
    fs::copy(&committed, &uncommitted).expect("copy");

    let lake = Lake::open(dir.path(), options()).expect("reopen");
    assert!(!temp.exists() && !uncommitted.exists(), "leftovers removed");
    assert_eq!(lake.flushed_lsn(), 6);
    assert_eq!(counts(&lake).await, (6, 12, 6 + 6));
    // The whole WAL replayed: only records after the flush go in.
    for lsn in 1..=10u64 {
        let (s, r) = record(lsn);
        assert_eq!(lake.insert_rows(lsn, &s, &r).expect("insert"), lsn > 6);
    }
    assert_eq!(counts(&lake).await, (10, 20, 20));
    let (from, to) = whole_day();
    let a = lake
        .fleet_reports(&[TERMINAL_A], from, to, 100)
        .await
        .expect("reports");
    let expected: Vec<FleetReport> = (1..=10).map(|lsn| record(lsn).1[0].clone()).collect();
    assert_eq!(a, expected, "exactly the rows inserted, in order");
    let stats = lake.flush().expect("flush");
    assert_eq!((stats.fleet_rows, stats.flushed_lsn), (8, 10));
    drop(lake);
    let lake = Lake::open(dir.path(), options()).expect("reopen");
    assert_eq!(counts(&lake).await, (10, 20, 20));
    assert_eq!(
        lake.fleet_reports(&[TERMINAL_A], from, to, 100)
            .await
            .expect("reports"),
        expected
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_during_fleet_inserts_and_flushes_count_every_row_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = std::sync::Arc::new(Lake::open(dir.path(), options()).expect("open"));
    let total = 400u64;
    let writer = {
        let lake = std::sync::Arc::clone(&lake);
        std::thread::spawn(move || {
            for lsn in 1..=total {
                let r = fleet_report(TERMINAL_A, None, at(day0(), lsn as i64), lsn);
                lake.insert_rows(lsn, &[], &[r]).expect("insert");
                if lsn % 30 == 0 {
                    lake.flush().expect("flush");
                }
            }
        })
    };
    loop {
        let before = lake.applied_lsn() as i64;
        let seen = count(&lake, "SELECT count(*) FROM fleet_reports").await;
        let positions = count(&lake, "SELECT count(*) FROM positions").await;
        let after = lake.applied_lsn() as i64;
        assert!(
            before <= seen && seen <= after,
            "{before} <= {seen} <= {after}"
        );
        assert!(before <= positions && positions <= after);
        if before == total as i64 {
            break;
        }
    }
    writer.join().expect("writer");
    assert_eq!(
        count(&lake, "SELECT count(*) FROM fleet_reports").await,
        400
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_joins_fleet_reports_with_the_registry_and_stays_read_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = Lake::open(dir.path(), options()).expect("open");
    for lsn in 1..=6u64 {
        let rows = [
            fleet_report(TERMINAL_A, Some(VIN_A), at(day0(), lsn as i64 * 60), lsn),
            fleet_report(TERMINAL_B, None, at(day0(), lsn as i64 * 60 + 1), lsn),
        ];
        lake.insert_rows(lsn, &[], &rows).expect("insert");
        if lsn == 3 {
            lake.flush().expect("flush");
        }
    }
    let registry = vec![
        VehicleInfo {
            vin: VIN_A.to_owned(),
            terminal_id: Some(TERMINAL_A.to_owned()),
            plate: Some("津B00001".to_owned()),
            category: Some("sanitation".to_owned()),
            powertrain: Some("bev".to_owned()),
            owner_org: Some("city-sanitation".to_owned()),
        },
        VehicleInfo {
            vin: "LFLEET00000000002".to_owned(),
            terminal_id: Some(TERMINAL_B.to_owned()),
            plate: None,
            category: Some("logistics".to_owned()),
            powertrain: Some("ice".to_owned()),
            owner_org: None,
        },
    ];
    let rows = answer(
        &lake,
        "SELECT v.category, count(*) AS reports, max(f.mileage_km) AS mileage, \
         sum(CASE WHEN f.fuel_l IS NULL THEN 1 ELSE 0 END) AS no_fuel \
         FROM fleet_reports f JOIN vehicles v ON f.terminal_id = v.terminal_id \
         GROUP BY v.category ORDER BY v.category",
        &registry,
    )
    .await;
    assert_eq!(
        serde_json::json!(rows),
        serde_json::json!([
            ["logistics", 6, 45_000.0 + 6f64 / 10.0, 3],
            ["sanitation", 6, 45_000.0 + 6f64 / 10.0, 3]
        ])
    );
    for sql in [
        "INSERT INTO fleet_reports SELECT * FROM fleet_reports",
        "DELETE FROM fleet_reports",
        "DROP TABLE fleet_reports",
    ] {
        assert!(
            matches!(
                lake.sql(sql, &[], &[]).await,
                Err(store::lake::LakeError::NotReadOnly(_))
            ),
            "{sql}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_latest_live_report_per_terminal_ignores_reissues() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = Lake::open(dir.path(), options()).expect("open");
    let old = fleet_report(TERMINAL_A, None, at(day0(), -3 * 86_400), 1);
    lake.insert_rows(1, &[], std::slice::from_ref(&old))
        .expect("insert");
    lake.flush().expect("flush");
    let a_live = fleet_report(TERMINAL_A, Some(VIN_A), at(day0(), 100), 2);
    // A blind-area report newer than the live one (the terminal's clock jumped): still history.
    let mut a_reissued = fleet_report(TERMINAL_A, Some(VIN_A), at(day0(), 200), 3);
    a_reissued.reissue = true;
    let b_live = fleet_report(TERMINAL_B, None, at(day0(), 50), 4);
    let b_older = fleet_report(TERMINAL_B, None, at(day0(), 40), 5);
    lake.insert_rows(
        2,
        &[],
        &[a_live.clone(), a_reissued, b_live.clone(), b_older],
    )
    .expect("insert");
    let latest = lake
        .latest_fleet_since(at(day0(), -86_400))
        .await
        .expect("latest");
    assert_eq!(latest, vec![a_live.clone(), b_live.clone()]);
    let all = lake
        .latest_fleet_since(Timestamp::from_secs(0))
        .await
        .expect("latest");
    assert_eq!(all, vec![a_live, b_live]);
    // A terminal whose newest live report is before `since` is not there.
    let recent = lake
        .latest_fleet_since(at(day0(), 60))
        .await
        .expect("latest");
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0].terminal_id, TERMINAL_A);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drive_data_prefers_fleet_reports_and_falls_back_to_samples() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = Lake::open(dir.path(), options()).expect("open");
    let v = vin(1);
    // A 5-minute drive of a fleet terminal (ignition on, 36 km/h, mileage item advancing
    // 0.3 km per report), then ignition off; its reissued copy of one report; and a GB/T
    // 32960 vehicle driving alongside.
    let mut reports = Vec::new();
    for k in 0..=10u64 {
        let mut r = fleet_report(TERMINAL_A, Some(VIN_A), at(day0(), 30 * k as i64), k);
        r.speed_kmh = if k == 10 { 0.0 } else { 36.0 };
        r.acc_on = k < 10;
        r.mileage_km = Some(1000.0 + 0.3 * k as f64);
        reports.push(r);
    }
    let mut copy = reports[4].clone();
    copy.reissue = true;
    copy.received_at = at(day0(), 3600);
    let samples: Vec<_> = (0..10u64)
        .map(|k| {
            let mut s = sample(&v, at(day0(), 30 * k as i64), k);
            s.odometer_km = Some(50.0 + 0.5 * k as f64);
            s.speed_kmh = Some(60.0);
            s
        })
        .collect();
    lake.insert_rows(1, &samples[..5], &reports[..6])
        .expect("insert");
    lake.flush().expect("flush");
    lake.insert_rows(2, &samples[5..], &reports[6..])
        .expect("insert");
    lake.insert_rows(3, &[], &[copy]).expect("insert");

    let (from, to) = whole_day();
    for ids in [&[VIN_A][..], &[TERMINAL_A], &[VIN_A, TERMINAL_A]] {
        let data = lake.drive_data(ids, from, to).await.expect("drive data");
        assert_eq!(data.table, Some("fleet_reports"));
        assert_eq!(data.points.len(), 11, "the reissued copy is the same point");
        let trips = data.trips();
        assert_eq!(trips.len(), 1);
        assert_eq!(trips[0].start, at(day0(), 0));
        assert_eq!(trips[0].end, at(day0(), 300));
        assert!((trips[0].distance_km - 3.0).abs() < 1e-6);
        let days = data.daily_mileage(day0(), at(day0(), 86_400));
        assert_eq!(days.len(), 1);
        assert_eq!(days[0].date, "2026-07-07");
        assert_eq!(days[0].trips, 1);
    }
    let data = lake
        .drive_data(&[v.as_str()], from, to)
        .await
        .expect("drive data");
    assert_eq!(data.table, Some("vehicle_samples"));
    assert_eq!(data.points.len(), 10);
    assert_eq!(
        data.points[0].ignition,
        Some(true),
        "vehicle_status started"
    );
    let trips = data.trips();
    assert_eq!(trips.len(), 1);
    assert!((trips[0].distance_km - 4.5).abs() < 1e-6);
    assert!(!trips[0].complete, "still driving when the data ends");

    let none = lake
        .drive_data(&["NOBODY"], from, to)
        .await
        .expect("drive data");
    assert_eq!(none.table, None);
    assert!(none.points.is_empty() && none.trips().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_entities_are_the_vins_and_terminals_with_rows_in_the_period() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = Lake::open(dir.path(), options()).expect("open");
    let (early, late) = (vin(1), vin(2));
    lake.insert_rows(
        1,
        &[sample(&early, at(day0(), -86_400), 1)],
        &[fleet_report(TERMINAL_C, None, at(day0(), -86_400), 1)],
    )
    .expect("insert");
    lake.flush().expect("flush");
    lake.insert_rows(
        2,
        &[sample(&late, at(day0(), 60), 2)],
        &[
            fleet_report(TERMINAL_A, Some(VIN_A), at(day0(), 60), 2),
            fleet_report(TERMINAL_B, None, at(day0(), 86_400), 3),
        ],
    )
    .expect("insert");
    let active = lake
        .active_entities(day0(), at(day0(), 86_400))
        .await
        .expect("active");
    let expected: Vec<String> = [late.as_str(), TERMINAL_A, VIN_A]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    assert_eq!(active.into_iter().collect::<Vec<_>>(), {
        let mut e = expected;
        e.sort();
        e
    });
    let all = lake
        .active_entities(at(day0(), -86_400), at(day0(), 2 * 86_400))
        .await
        .expect("active");
    assert_eq!(all.len(), 6);
}
