//! Tests of the lake with real files in temp directories: round trips, memory and files together,
//! partitioning, reopening, retention, read-only SQL and one-vehicle queries.

mod lake_support;

use std::fs;

use arrow::array::AsArray;
use arrow::datatypes::{DataType, Int64Type, TimeUnit};
use lake_support::{at, awkward_sample, day0, sample, tree, vin};
use model::{Timestamp, VehicleInfo, VehicleSample};
use store::lake::{Lake, LakeError, LakeOptions, batches_to_json};

fn options() -> LakeOptions {
    // Small batches and row groups so that a few hundred rows exercise sealing and pruning.
    let mut o = LakeOptions::default();
    o.batch_rows = 64;
    o.row_group_rows = 100;
    o
}

async fn count(lake: &Lake, sql: &str) -> i64 {
    let batches = lake.sql(sql, &[], &[]).await.expect("query");
    batches[0].column(0).as_primitive::<Int64Type>().value(0)
}

/// The result of a query as JSON rows, to compare answers across flushes.
async fn answer(lake: &Lake, sql: &str) -> Vec<Vec<serde_json::Value>> {
    let batches = lake.sql(sql, &[], &[]).await.expect("query");
    batches_to_json(&batches).expect("json").1
}

fn far_future() -> Timestamp {
    Timestamp::parse("2100-01-01T00:00:00Z").expect("time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_field_survives_arrow_parquet_and_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v = vin(1);
    let rows = vec![
        sample(&v, at(day0(), 10), 1),
        awkward_sample(&v, at(day0(), 20)),
        sample(&v, at(day0(), 30), 2),
    ];
    let lake = Lake::open(dir.path(), options()).expect("open");
    assert!(lake.insert(1, &rows).expect("insert"));

    let from = day0();
    let to = at(day0(), 86_400);
    let in_memory = lake
        .samples(v.as_str(), from, to, 100)
        .await
        .expect("samples");
    assert_eq!(in_memory, rows);

    let stats = lake.flush().expect("flush");
    assert_eq!(stats.rows, 3);
    assert_eq!(stats.position_rows, 2, "the awkward sample has no position");
    assert_eq!(stats.files, 2);
    assert_eq!(stats.flushed_lsn, 1);
    assert_eq!(lake.buffered_rows(), 0);
    let from_files = lake
        .samples(v.as_str(), from, to, 100)
        .await
        .expect("samples");
    assert_eq!(from_files, rows);

    drop(lake);
    let reopened = Lake::open(dir.path(), options()).expect("reopen");
    let after_reopen = reopened
        .samples(v.as_str(), from, to, 100)
        .await
        .expect("samples");
    assert_eq!(after_reopen, rows);
    let track = reopened.track(v.as_str(), from, to).await.expect("track");
    assert_eq!(
        track,
        vec![
            (
                rows[0].ts,
                rows[0].lon.unwrap(),
                rows[0].lat.unwrap(),
                rows[0].speed_kmh
            ),
            (
                rows[2].ts,
                rows[2].lon.unwrap(),
                rows[2].lat.unwrap(),
                rows[2].speed_kmh
            ),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_matches_the_data_model() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = Lake::open(dir.path(), options()).expect("open");
    let v = vin(1);
    lake.insert(1, &[awkward_sample(&v, day0())])
        .expect("insert");
    lake.flush().expect("flush");
    let batches = lake
        .sql("SELECT * FROM vehicle_samples", &[], &[])
        .await
        .expect("query");
    let schema = batches[0].schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    // Field order of model::VehicleSample, as serialised.
    let json = serde_json::to_value(awkward_sample(&v, day0())).expect("json");
    let model_names: Vec<&str> = json
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(names, model_names);
    let ts_type = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    assert_eq!(schema.field_with_name("ts").unwrap().data_type(), &ts_type);
    assert_eq!(
        schema.field_with_name("received_at").unwrap().data_type(),
        &ts_type
    );
    assert_eq!(
        schema.field_with_name("quality").unwrap().data_type(),
        &DataType::UInt64
    );
    assert_eq!(
        schema.field_with_name("alarm_level").unwrap().data_type(),
        &DataType::UInt8
    );
    assert_eq!(
        schema.field_with_name("alarm_flags").unwrap().data_type(),
        &DataType::UInt32
    );
    match schema
        .field_with_name("cell_voltages_v")
        .unwrap()
        .data_type()
    {
        DataType::List(item) => {
            assert_eq!(item.data_type(), &DataType::Float64);
            assert!(item.is_nullable());
        }
        other => panic!("cell_voltages_v is {other}"),
    }
    match schema.field_with_name("motors").unwrap().data_type() {
        DataType::List(item) => match item.data_type() {
            DataType::Struct(fields) => {
                let names: Vec<&str> = fields.iter().map(|f| f.name().as_str()).collect();
                assert_eq!(
                    names,
                    [
                        "no",
                        "state",
                        "controller_temp_c",
                        "speed_rpm",
                        "torque_nm",
                        "temp_c",
                        "controller_voltage_v",
                        "controller_current_a"
                    ]
                );
                assert_eq!(fields[0].data_type(), &DataType::UInt8);
            }
            other => panic!("motors items are {other}"),
        },
        other => panic!("motors is {other}"),
    }
    let positions = lake
        .sql("SELECT * FROM positions", &[], &[])
        .await
        .expect("query");
    assert!(positions.iter().all(|b| b.num_rows() == 0));
    let names: Vec<String> = match positions.first() {
        Some(b) => b
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect(),
        None => store::lake::positions_schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect(),
    };
    assert_eq!(
        names,
        [
            "entity_id",
            "ts",
            "source",
            "lon",
            "lat",
            "speed_kmh",
            "heading_deg",
            "alt_m"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_see_memory_and_files_together_and_answer_the_same_after_flush() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = Lake::open(dir.path(), options()).expect("open");
    let mut lsn = 0;
    let mut insert = |lake: &Lake, from: usize, to: usize| {
        for i in from..to {
            lsn += 1;
            let v = vin(i % 7);
            let row = sample(&v, at(day0(), i as i64 * 10), i as u64);
            lake.insert(lsn, &[row]).expect("insert");
        }
    };
    insert(&lake, 0, 300);
    lake.flush().expect("flush");
    insert(&lake, 300, 500);
    assert_eq!(lake.buffered_rows(), 200);
    assert!(
        lake.buffered_bytes() > 200 * 128 * 8,
        "{}",
        lake.buffered_bytes()
    );

    let queries = [
        "SELECT count(*) FROM vehicle_samples",
        "SELECT vin, count(*), min(ts), max(ts), max(odometer_km) FROM vehicle_samples \
         GROUP BY vin ORDER BY vin",
        "SELECT entity_id, count(*) FROM positions GROUP BY entity_id ORDER BY entity_id",
        "SELECT vin, ts, cell_voltages_v[3], motors[1]['speed_rpm'] FROM vehicle_samples \
         WHERE ts >= '2026-07-07T00:40:00+08:00' AND ts < '2026-07-07T00:55:00+08:00' \
         ORDER BY ts",
        "SELECT v.category, count(*) FROM vehicle_samples s JOIN vehicles v ON s.vin = v.vin \
         GROUP BY v.category",
    ];
    let registry = vec![VehicleInfo {
        vin: vin(3).to_string(),
        terminal_id: None,
        plate: Some("津A12345".to_owned()),
        category: Some("taxi".to_owned()),
        powertrain: Some("bev".to_owned()),
        owner_org: Some("fleet-a".to_owned()),
    }];
    let mut before = Vec::new();
    for q in queries {
        let batches = lake.sql(q, &registry, &[]).await.expect(q);
        before.push(batches_to_json(&batches).expect("json").1);
    }
    assert_eq!(before[0], vec![vec![serde_json::json!(500)]]);
    // The time window spans the flush: rows 240..329 come from both files and memory.
    assert_eq!(before[3].len(), 90);
    assert_eq!(
        before[4],
        vec![vec![serde_json::json!("taxi"), serde_json::json!(71)]]
    );

    lake.flush().expect("second flush");
    assert_eq!(lake.buffered_rows(), 0);
    for (q, expected) in queries.iter().zip(&before) {
        let batches = lake.sql(q, &registry, &[]).await.expect(q);
        assert_eq!(&batches_to_json(&batches).expect("json").1, expected, "{q}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_go_to_the_beijing_day_of_their_ts_including_reissued_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = Lake::open(dir.path(), options()).expect("open");
    let v = vin(1);
    let today = sample(&v, at(day0(), 3600), 1);
    // One microsecond before Beijing midnight is still yesterday, though it is 15:59 UTC.
    let last_instant_of_yesterday = sample(&v, Timestamp::from_micros(day0().as_micros() - 1), 2);
    let mut reissued = sample(&v, at(day0(), -86_400 + 600), 3);
    reissued.reissue = true;
    reissued.received_at = at(day0(), 3700);
    let mut no_position = sample(&v, at(day0(), 3610), 4);
    no_position.lon = None;
    lake.insert(1, &[today.clone(), no_position.clone()])
        .expect("insert");
    lake.insert(2, &[reissued.clone(), last_instant_of_yesterday.clone()])
        .expect("insert");
    let stats = lake.flush().expect("flush");
    assert_eq!((stats.rows, stats.position_rows, stats.files), (4, 3, 4));

    let files: Vec<String> = tree(dir.path())
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        files,
        [
            "_lake_state.json",
            "positions/date=2026-07-06/part-000000000001.parquet",
            "positions/date=2026-07-07/part-000000000001.parquet",
            "vehicle_samples/date=2026-07-06/part-000000000001.parquet",
            "vehicle_samples/date=2026-07-07/part-000000000001.parquet",
        ]
    );
    let yesterday = lake
        .samples(v.as_str(), at(day0(), -86_400), day0(), 10)
        .await
        .expect("samples");
    assert_eq!(yesterday, vec![reissued, last_instant_of_yesterday]);
    let today_rows = lake
        .samples(v.as_str(), day0(), at(day0(), 86_400), 10)
        .await
        .expect("samples");
    assert_eq!(today_rows, vec![today, no_position]);

    // Each file holds only its own day, sorted by VIN then time.
    let answer = answer(&lake, "SELECT count(*) FROM vehicle_samples WHERE reissue").await;
    assert_eq!(answer, vec![vec![serde_json::json!(1)]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopening_finds_the_files_deletes_leftovers_and_skips_replayed_records() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v = vin(1);
    {
        let lake = Lake::open(dir.path(), options()).expect("open");
        for lsn in 1..=10u64 {
            let row = sample(&v, at(day0(), lsn as i64), lsn);
            lake.insert(lsn, &[row]).expect("insert");
        }
        lake.flush().expect("flush");
        // Records 11 and 12 are buffered, never flushed: a crash loses them from the lake but
        // not from the WAL.
        for lsn in 11..=12u64 {
            let row = sample(&v, at(day0(), lsn as i64), lsn);
            lake.insert(lsn, &[row]).expect("insert");
        }
    }
    let day_dir = dir.path().join("vehicle_samples/date=2026-07-07");
    let committed = day_dir.join("part-000000000001.parquet");
    // What a crash in the middle of flush 2 leaves: a temp file, and a renamed file of a flush
    // the state file does not name.
    let temp = day_dir.join(".part-000000000002.parquet.tmp");
    let uncommitted = day_dir.join("part-000000000002.parquet");
    fs::write(&temp, b"half a file").expect("write");
    fs::copy(&committed, &uncommitted).expect("copy");
    let unrelated = day_dir.join("README.txt");
    fs::write(&unrelated, b"not ours").expect("write");

    // Read-only opening neither deletes nor counts them.
    let ro = Lake::open_read_only(dir.path()).expect("open read-only");
    assert_eq!(count(&ro, "SELECT count(*) FROM vehicle_samples").await, 10);
    assert!(temp.exists() && uncommitted.exists());
    drop(ro);

    let lake = Lake::open(dir.path(), options()).expect("reopen");
    assert!(!temp.exists(), "temp file removed");
    assert!(!uncommitted.exists(), "uncommitted flush removed");
    assert!(unrelated.exists(), "files with other names are left alone");
    assert!(committed.exists());
    assert_eq!(lake.flushed_lsn(), 10);
    assert_eq!(lake.applied_lsn(), 10);
    assert_eq!(lake.file_paths().len(), 2);
    assert_eq!(
        count(&lake, "SELECT count(*) FROM vehicle_samples").await,
        10
    );

    // Replaying the WAL from the start: records already in Parquet are skipped.
    for lsn in 1..=12u64 {
        let row = sample(&v, at(day0(), lsn as i64), lsn);
        assert_eq!(
            lake.insert(lsn, &[row]).expect("insert"),
            lsn > 10,
            "lsn {lsn}"
        );
    }
    assert_eq!(
        count(&lake, "SELECT count(*) FROM vehicle_samples").await,
        12
    );
    let stats = lake.flush().expect("flush");
    assert_eq!((stats.rows, stats.flushed_lsn), (2, 12));
    // The new flush took the next sequence number, the one the leftovers had.
    assert!(uncommitted.exists());

    // Records without rows move the flushed LSN on as well.
    lake.insert(13, &[]).expect("insert");
    assert_eq!(lake.flush().expect("flush").flushed_lsn, 13);
    drop(lake);
    let lake = Lake::open(dir.path(), options()).expect("reopen");
    assert_eq!(lake.flushed_lsn(), 13);
    assert_eq!(
        count(&lake, "SELECT count(*) FROM vehicle_samples").await,
        12
    );
    drop(lake);

    // Without its state file every data file would look uncommitted: opening refuses instead
    // of deleting them.
    fs::remove_file(dir.path().join("_lake_state.json")).expect("remove state");
    for result in [
        Lake::open(dir.path(), options()),
        Lake::open_read_only(dir.path()),
    ] {
        match result {
            Err(LakeError::Corrupt(message)) => assert!(message.contains("_lake_state.json")),
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }
    assert!(committed.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_only_days_entirely_older_than_the_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = Lake::open(dir.path(), options()).expect("open");
    let v = vin(1);
    // One row at noon on each of the five days up to day0.
    for d in 0..5i64 {
        let row = sample(&v, at(day0(), -d * 86_400 + 12 * 3600), d as u64);
        lake.insert(d as u64 + 1, &[row]).expect("insert");
    }
    lake.flush().expect("flush");
    assert_eq!(
        count(&lake, "SELECT count(*) FROM vehicle_samples").await,
        5
    );

    // now = day0 18:00, keep 2 days: the cutoff is 2026-07-05 18:00, so 07-03 and 07-04 (which
    // end before it) go, 07-05 (partly newer) stays.
    let now = at(day0(), 18 * 3600);
    assert_eq!(lake.apply_retention(now, 0).expect("retention off"), 0);
    let removed = lake.apply_retention(now, 2).expect("retention");
    assert_eq!(removed, 4, "two days of two tables");
    let days: Vec<String> = fs::read_dir(dir.path().join("vehicle_samples"))
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        days,
        ["date=2026-07-05", "date=2026-07-06", "date=2026-07-07"]
    );
    assert!(!dir.path().join("positions/date=2026-07-04").exists());
    assert!(dir.path().join("positions/date=2026-07-05").exists());
    assert_eq!(
        count(&lake, "SELECT count(*) FROM vehicle_samples").await,
        3
    );
    assert_eq!(count(&lake, "SELECT count(*) FROM positions").await, 3);
    assert_eq!(lake.apply_retention(now, 2).expect("again"), 0);
    drop(lake);
    let lake = Lake::open(dir.path(), options()).expect("reopen");
    assert_eq!(
        count(&lake, "SELECT count(*) FROM vehicle_samples").await,
        3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_is_read_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = Lake::open(dir.path(), options()).expect("open");
    lake.insert(1, &[sample(&vin(1), day0(), 1)])
        .expect("insert");
    lake.flush().expect("flush");
    let before = tree(dir.path());
    let out = dir.path().join("out.parquet");
    let refused = [
        "INSERT INTO vehicle_samples SELECT * FROM vehicle_samples".to_owned(),
        "CREATE TABLE t AS SELECT 1".to_owned(),
        "CREATE TABLE t (a INT)".to_owned(),
        "CREATE VIEW v AS SELECT 1".to_owned(),
        format!(
            "CREATE EXTERNAL TABLE x STORED AS PARQUET LOCATION '{}'",
            dir.path().display()
        ),
        "DROP TABLE vehicle_samples".to_owned(),
        "DELETE FROM vehicle_samples".to_owned(),
        "UPDATE vehicle_samples SET soc_pct = 0".to_owned(),
        format!("COPY vehicle_samples TO '{}'", out.display()),
        format!("COPY (SELECT 1) TO '{}' STORED AS PARQUET", out.display()),
        "SET datafusion.execution.batch_size = 1".to_owned(),
        "EXPLAIN INSERT INTO vehicle_samples SELECT * FROM vehicle_samples".to_owned(),
    ];
    for sql in &refused {
        match lake.sql(sql, &[], &[]).await {
            Err(error @ LakeError::NotReadOnly(_)) => {
                let message = error.to_string();
                assert!(
                    message.starts_with("only read-only queries are allowed: D")
                        || message.starts_with("only read-only queries are allowed: Statement"),
                    "{sql}: {message}"
                );
            }
            other => panic!("{sql} was not refused as a write: {other:?}"),
        }
    }
    // Statements DataFusion cannot plan at all fail too, as query errors.
    let error = lake
        .sql("BEGIN TRANSACTION", &[], &[])
        .await
        .expect_err("refused");
    assert!(matches!(error, LakeError::Query(_)), "{error:?}");
    assert_eq!(tree(dir.path()), before, "nothing was written");
    assert!(!out.exists());
    assert_eq!(
        count(&lake, "SELECT count(*) FROM vehicle_samples").await,
        1
    );

    // Bad SQL is a query error naming the problem.
    let error = lake
        .sql("SELECT no_such_column FROM vehicle_samples", &[], &[])
        .await
        .expect_err("bad column");
    assert!(matches!(error, LakeError::Query(_)), "{error:?}");
    assert!(error.to_string().contains("no_such_column"), "{error}");

    // A read-only lake refuses to write at all.
    let ro = Lake::open_read_only(dir.path()).expect("read-only");
    assert!(matches!(ro.flush(), Err(LakeError::ReadOnly { .. })));
    assert!(matches!(
        ro.apply_retention(day0(), 1),
        Err(LakeError::ReadOnly { .. })
    ));
    assert_eq!(tree(dir.path()), before);
    let missing = Lake::open_read_only(dir.path().join("missing")).expect("empty lake");
    assert_eq!(
        count(&missing, "SELECT count(*) FROM vehicle_samples").await,
        0
    );
    assert!(!dir.path().join("missing").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_vehicle_range_query_among_many_returns_exactly_its_rows_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = Lake::open(dir.path(), options()).expect("open");
    let vins: Vec<_> = (0..40).map(vin).collect();
    let mut lsn = 0;
    // 40 vehicles, one report every 30 s for two hours, in five flushes plus a buffered tail;
    // arrival order interleaves the vehicles as a real feed does.
    for step in 0..240i64 {
        lsn += 1;
        let rows: Vec<VehicleSample> = vins
            .iter()
            .enumerate()
            .map(|(k, v)| {
                sample(
                    v,
                    at(day0(), step * 30 + k as i64),
                    (step * 40) as u64 + k as u64,
                )
            })
            .collect();
        lake.insert(lsn, &rows).expect("insert");
        if step % 50 == 49 {
            lake.flush().expect("flush");
        }
    }
    assert!(lake.buffered_rows() > 0);
    let target = &vins[17];
    let from = at(day0(), 1800);
    let to = at(day0(), 5400);
    let got = lake
        .samples(target.as_str(), from, to, 10_000)
        .await
        .expect("samples");
    let expected: Vec<Timestamp> = (0..240i64)
        .map(|step| at(day0(), step * 30 + 17))
        .filter(|ts| *ts >= from && *ts < to)
        .collect();
    assert_eq!(got.len(), 120);
    assert!(got.iter().all(|s| &s.vin == target));
    assert_eq!(got.iter().map(|s| s.ts).collect::<Vec<_>>(), expected);

    // The bounds are from <= ts < to.
    let edge = lake
        .samples(target.as_str(), at(day0(), 17), at(day0(), 47), 10)
        .await
        .expect("samples");
    assert_eq!(
        edge.iter().map(|s| s.ts).collect::<Vec<_>>(),
        [at(day0(), 17)]
    );
    let limited = lake
        .samples(target.as_str(), from, to, 5)
        .await
        .expect("samples");
    assert_eq!(limited, got[..5]);
    let track = lake.track(target.as_str(), from, to).await.expect("track");
    assert_eq!(track.iter().map(|p| p.0).collect::<Vec<_>>(), expected);
    assert!(
        lake.samples("NOSUCHVIN", from, to, 10)
            .await
            .expect("samples")
            .is_empty()
    );

    // The newest sample of every vehicle, across files and memory.
    let latest = lake.latest_per_vin().await.expect("latest");
    assert_eq!(latest.len(), 40);
    for (k, s) in latest.iter().enumerate() {
        assert_eq!(s.vin, vins[k]);
        assert_eq!(s.ts, at(day0(), 239 * 30 + k as i64));
    }
    lake.flush().expect("flush");
    let since = lake
        .latest_per_vin_since(at(day0(), 3600))
        .await
        .expect("latest");
    assert_eq!(since, latest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latest_per_vin_reaches_back_to_vehicles_silent_for_days() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = Lake::open(dir.path(), options()).expect("open");
    let (old, new) = (vin(1), vin(2));
    lake.insert(
        1,
        &[
            sample(&old, at(day0(), -3 * 86_400), 1),
            sample(&old, at(day0(), -3 * 86_400 + 10), 2),
        ],
    )
    .expect("insert");
    lake.flush().expect("flush");
    lake.insert(
        2,
        &[
            sample(&new, at(day0(), 10), 3),
            sample(&new, at(day0(), 5), 4),
        ],
    )
    .expect("insert");
    let latest = lake.latest_per_vin().await.expect("latest");
    assert_eq!(
        latest
            .iter()
            .map(|s| (s.vin.clone(), s.ts))
            .collect::<Vec<_>>(),
        [
            (old, at(day0(), -3 * 86_400 + 10)),
            (new.clone(), at(day0(), 10))
        ]
    );
    let recent = lake.latest_per_vin_since(day0()).await.expect("latest");
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0].vin, new);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_convert_to_json_rows_for_the_api() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = Lake::open(dir.path(), options()).expect("open");
    let v = vin(1);
    let mut row = awkward_sample(
        &v,
        Timestamp::parse("2026-07-07T06:55:15.25+08:00").unwrap(),
    );
    row.soc_pct = Some(55.5);
    lake.insert(1, &[row]).expect("insert");
    let batches = lake
        .sql(
            "SELECT vin, ts, soc_pct, speed_kmh, reissue, alarm_flags, quality, cell_voltages_v, \
             probe_temps_c, motors, date_trunc('hour', ts) AS hour, 1.0 / 0.0 AS inf \
             FROM vehicle_samples",
            &[],
            &[],
        )
        .await
        .expect("query");
    let (columns, rows) = batches_to_json(&batches).expect("json");
    assert_eq!(
        columns,
        [
            "vin",
            "ts",
            "soc_pct",
            "speed_kmh",
            "reissue",
            "alarm_flags",
            "quality",
            "cell_voltages_v",
            "probe_temps_c",
            "motors",
            "hour",
            "inf"
        ]
    );
    let quality = model::quality::VEHICLE_STATUS
        | model::quality::SPEED
        | model::quality::SOC
        | model::quality::CELL_VOLTAGES
        | model::quality::MOTORS
        | (1 << 63);
    let expected = serde_json::json!([
        "LHAIHE00000000001",
        "2026-07-07T06:55:15.250000+08:00",
        55.5,
        null,
        true,
        4294967295u32,
        quality,
        [3.3, null, 3.31, null],
        [],
        [{
            "no": null,
            "state": null,
            "controller_temp_c": -40.0,
            "speed_rpm": null,
            "torque_nm": -0.5,
            "temp_c": null,
            "controller_voltage_v": null,
            "controller_current_a": null
        }],
        "2026-07-07T06:00:00+08:00",
        null
    ]);
    assert_eq!(rows, vec![expected.as_array().expect("array").clone()]);
    assert_eq!(batches_to_json(&[]).expect("json"), (vec![], vec![]));
}

#[test]
fn buffer_gauges_and_needs_flush_follow_inserts_and_flushes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut o = options();
    o.flush_bytes = 32 * 1024;
    let lake = Lake::open(dir.path(), o).expect("open");
    let v = vin(1);
    assert_eq!((lake.buffered_rows(), lake.buffered_bytes()), (0, 0));
    assert!(!lake.needs_flush(far_future()), "nothing buffered");
    let first = sample(&v, day0(), 0);
    let received = first.received_at;
    lake.insert(1, &[first]).expect("insert");
    assert_eq!(lake.buffered_rows(), 1);
    assert!(!lake.needs_flush(at(received, 59)));
    assert!(
        lake.needs_flush(at(received, 60)),
        "the interval has passed"
    );
    for lsn in 2..=40u64 {
        lake.insert(lsn, &[sample(&v, at(day0(), lsn as i64), lsn)])
            .expect("insert");
    }
    assert!(
        lake.buffered_bytes() >= 32 * 1024,
        "{}",
        lake.buffered_bytes()
    );
    assert!(lake.needs_flush(received), "the size threshold is reached");
    assert_eq!(lake.applied_lsn(), 40);
    let stats = lake.flush().expect("flush");
    assert_eq!((stats.rows, stats.flushed_lsn), (40, 40));
    assert!(stats.bytes > 0);
    assert_eq!((lake.buffered_rows(), lake.buffered_bytes()), (0, 0));
    assert!(!lake.needs_flush(far_future()));
    // A flush with nothing buffered writes nothing.
    let empty = lake.flush().expect("flush");
    assert_eq!((empty.rows, empty.files, empty.flushed_lsn), (0, 0, 40));
}

#[test]
fn inconsistent_options_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    for change in [
        (|o: &mut LakeOptions| o.batch_rows = 0) as fn(&mut LakeOptions),
        |o| o.row_group_rows = 0,
        |o| o.zstd_level = 0,
        |o| o.zstd_level = 23,
        |o| o.query_memory_bytes = 1000,
    ] {
        let mut o = LakeOptions::default();
        change(&mut o);
        assert!(matches!(
            Lake::open(dir.path(), o),
            Err(LakeError::InvalidOptions(_))
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frequent_queries_see_every_insert_without_bloating_the_buffer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut o = LakeOptions::default();
    o.batch_rows = 1000;
    let lake = Lake::open(dir.path(), o).expect("open");
    let v = vin(1);
    for lsn in 1..=80u64 {
        lake.insert(lsn, &[sample(&v, at(day0(), lsn as i64), lsn)])
            .expect("insert");
        let seen = count(&lake, "SELECT count(*) FROM vehicle_samples").await;
        assert_eq!(
            seen, lsn as i64,
            "a query sees every row inserted before it"
        );
    }
    // 80 rows of about 1.5 KiB: queries copied the unsealed rows instead of sealing 80 tiny
    // batches, each with room for a whole batch.
    assert!(
        lake.buffered_bytes() < 80 * 2048,
        "{}",
        lake.buffered_bytes()
    );
    let stats = lake.flush().expect("flush");
    assert_eq!(stats.rows, 80);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_during_inserts_and_flushes_count_every_row_exactly_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = std::sync::Arc::new(Lake::open(dir.path(), options()).expect("open"));
    let total = 600u64;
    let writer = {
        let lake = std::sync::Arc::clone(&lake);
        std::thread::spawn(move || {
            let v = vin(1);
            for lsn in 1..=total {
                lake.insert(lsn, &[sample(&v, at(day0(), lsn as i64), lsn)])
                    .expect("insert");
                if lsn % 40 == 0 {
                    lake.flush().expect("flush");
                }
            }
        })
    };
    let mut queries = 0;
    loop {
        // One row per LSN: a query must see every row applied before it started and none that
        // was not applied when it ended, whatever flushes moved rows from memory to files.
        let before = lake.applied_lsn() as i64;
        let seen = count(&lake, "SELECT count(*) FROM vehicle_samples").await;
        let after = lake.applied_lsn() as i64;
        assert!(
            before <= seen && seen <= after,
            "{before} <= {seen} <= {after}"
        );
        queries += 1;
        if before == total as i64 {
            break;
        }
    }
    writer.join().expect("writer");
    assert!(queries > 1);
    assert_eq!(
        count(&lake, "SELECT count(*) FROM vehicle_samples").await,
        600
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alarms_are_a_sql_table_joinable_with_the_samples() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = Lake::open(dir.path(), options()).expect("open");
    let v = vin(1);
    lake.insert(1, &[sample(&v, day0(), 0)]).expect("insert");
    let alarm = model::Alarm {
        alarm_id: 7,
        entity_id: v.to_string(),
        kind: "insulation_low".into(),
        level: 3,
        critical: true,
        state: model::AlarmState::Acknowledged,
        opened_at: Timestamp::parse("2026-07-07T08:00:00+08:00").unwrap(),
        acked_at: Some(Timestamp::parse("2026-07-07T08:05:00+08:00").unwrap()),
        acked_by: Some("token 1 (operator)".into()),
        ack_comment: None,
        closed_at: None,
        source: "rule".into(),
        detail: "86 Ω/V < 100 Ω/V".into(),
        org: None,
    };
    let batches = lake
        .sql(
            "SELECT a.alarm_id, a.kind, a.level, a.state, a.acked_at - a.opened_at AS to_ack, \
             count(s.ts) AS samples \
             FROM alarms a JOIN vehicle_samples s ON s.vin = a.entity_id \
             WHERE a.critical AND a.closed_at IS NULL GROUP BY 1, 2, 3, 4, 5",
            &[],
            &[alarm],
        )
        .await
        .expect("query");
    let (columns, rows) = batches_to_json(&batches).expect("json");
    assert_eq!(
        columns,
        ["alarm_id", "kind", "level", "state", "to_ack", "samples"]
    );
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][0], serde_json::json!(7));
    assert_eq!(rows[0][1], serde_json::json!("insulation_low"));
    assert_eq!(rows[0][3], serde_json::json!("acknowledged"));
    assert_eq!(rows[0][5], serde_json::json!(1));
}
