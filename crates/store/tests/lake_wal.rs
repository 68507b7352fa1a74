//! `haihe sql --data-dir` while a server runs: the WAL read without writing (`wal::read_records`)
//! overlaid on a read-only lake gives every record (its samples and its fleet reports) exactly
//! once, and a torn tail is where reading stops.

mod lake_support;

use std::fs::{self, OpenOptions};
use std::io::Write;

use arrow::array::AsArray;
use arrow::datatypes::Int64Type;
use lake_support::{at, day0, fleet_report, sample, tree, vin};
use model::{FleetReport, VehicleSample};
use store::lake::{Lake, LakeOptions};
use store::wal::{self, Wal, WalError, WalOptions};

fn small_segments() -> WalOptions {
    let mut o = WalOptions::default();
    o.segment_size = 64 * 1024;
    o.max_record_size = 32 * 1024;
    o
}

type Rows = (Vec<VehicleSample>, Vec<FleetReport>);

/// The pipeline owns the real payload encoding; JSON stands in for it here.
fn encode(rows: &Rows) -> Vec<u8> {
    serde_json::to_vec(rows).expect("encode")
}

fn decode(payload: &[u8]) -> Rows {
    serde_json::from_slice(payload).expect("decode")
}

async fn count_of(lake: &Lake, table: &str) -> i64 {
    let batches = lake
        .sql(&format!("SELECT count(*) FROM {table}"), &[], &[])
        .await
        .expect("query");
    batches[0].column(0).as_primitive::<Int64Type>().value(0)
}

/// Rows of `vehicle_samples`, `fleet_reports` and `positions`.
async fn count(lake: &Lake) -> (i64, i64, i64) {
    (
        count_of(lake, "vehicle_samples").await,
        count_of(lake, "fleet_reports").await,
        count_of(lake, "positions").await,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_lake_plus_the_wal_shows_every_record_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (wal_dir, lake_dir) = (dir.path().join("wal"), dir.path().join("lake"));
    let (wal, _replay) = Wal::open(&wal_dir, small_segments()).expect("wal");
    let server = Lake::open(&lake_dir, LakeOptions::default()).expect("lake");
    let v = vin(1);
    // 40 records of 3 samples each, about 10 KiB apiece: several WAL segments; every other
    // record also carries two fleet reports.
    for i in 0..40u64 {
        let samples: Vec<VehicleSample> = (0..3)
            .map(|k| sample(&v, at(day0(), (i * 3 + k) as i64), i))
            .collect();
        let reports: Vec<FleetReport> = if i % 2 == 0 {
            (0..2)
                .map(|k| fleet_report("13800000001", None, at(day0(), (i * 2 + k) as i64), i))
                .collect()
        } else {
            Vec::new()
        };
        let rows = (samples, reports);
        let lsn = wal
            .append(encode(&rows))
            .expect("append")
            .wait()
            .expect("durable");
        server.insert_rows(lsn, &rows.0, &rows.1).expect("insert");
        if lsn == 25 {
            let stats = server.flush().expect("flush");
            wal.truncate_before(stats.flushed_lsn + 1)
                .expect("truncate");
        }
    }
    assert_eq!(count(&server).await, (120, 40, 160));

    // The tool's order: the WAL first, then the lake.
    let before = tree(dir.path());
    let records = wal::read_records(&wal_dir).expect("read");
    assert_eq!(records.last().map(|r| r.lsn), Some(40));
    assert!(
        records.first().map(|r| r.lsn) <= Some(26),
        "the unflushed records are there"
    );
    let tool = Lake::open_read_only(&lake_dir).expect("read-only lake");
    assert_eq!(tool.flushed_lsn(), 25);
    let mut applied = 0;
    for r in &records {
        let (samples, reports) = decode(&r.payload);
        if tool.insert_rows(r.lsn, &samples, &reports).expect("insert") {
            applied += 1;
        }
    }
    assert_eq!(applied, 15, "records 26..=40");
    assert_eq!(count(&tool).await, (120, 40, 160));
    assert_eq!(tree(dir.path()), before, "reading wrote nothing");

    // A write in progress (or torn) at the end of the newest segment: reading stops before it
    // and leaves the file as it is.
    let newest = wal::segment_path(&wal_dir, newest_segment(&wal_dir));
    let len = fs::metadata(&newest).expect("stat").len();
    OpenOptions::new()
        .append(true)
        .open(&newest)
        .and_then(|mut f| f.write_all(&[0x55; 40]))
        .expect("append garbage");
    let again = wal::read_records(&wal_dir).expect("read with torn tail");
    assert_eq!(again, records);
    assert_eq!(fs::metadata(&newest).expect("stat").len(), len + 40);
    drop(wal);

    assert!(
        wal::read_records(&dir.path().join("nothing-here"))
            .expect("empty")
            .is_empty()
    );
}

#[test]
fn damage_before_the_newest_segment_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (wal, _) = Wal::open(dir.path(), small_segments()).expect("wal");
    for i in 0..20u8 {
        wal.append(vec![i; 20_000])
            .expect("append")
            .wait()
            .expect("durable");
    }
    drop(wal);
    let oldest = wal::segment_path(dir.path(), 1);
    let mut bytes = fs::read(&oldest).expect("read");
    bytes[100] ^= 0xFF;
    fs::write(&oldest, &bytes).expect("write");
    match wal::read_records(dir.path()) {
        Err(WalError::Corrupt { path, .. }) => assert_eq!(path, oldest),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

fn newest_segment(dir: &std::path::Path) -> u64 {
    fs::read_dir(dir)
        .expect("read_dir")
        .filter_map(|e| {
            let name = e.expect("entry").file_name();
            name.to_str()?.strip_suffix(".wal")?.parse().ok()
        })
        .max()
        .expect("a segment")
}
