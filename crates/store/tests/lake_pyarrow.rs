//! Interoperability: Parquet written by the lake is read by pyarrow, file by file and as a
//! Hive-partitioned dataset, with the types and values the lake meant.
//!
//! CI installs pyarrow (scripts/test.sh); without it this test fails rather than skips, because
//! "plain Parquet that other engines read" is a promise of DESIGN.md §3.

mod lake_support;

use std::process::Command;

use lake_support::{at, awkward_sample, day0, fleet_report, sample, vin};
use store::lake::{Lake, LakeOptions};

const SCRIPT: &str = r#"
import json, sys
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

one_file, samples_root, positions_root, fleet_root = sys.argv[1:5]
t = pq.read_table(one_file)
meta = pq.ParquetFile(one_file).metadata
d = ds.dataset(samples_root, format="parquet", partitioning="hive").to_table()
p = ds.dataset(positions_root, format="parquet", partitioning="hive").to_table()
f = ds.dataset(fleet_root, format="parquet", partitioning="hive").to_table()
print(json.dumps({
    "pyarrow": pa.__version__,
    "file_rows": t.num_rows,
    "row_groups": meta.num_row_groups,
    "compression": meta.row_group(0).column(0).compression,
    "has_page_index": meta.row_group(0).column(0).has_offset_index,
    "columns": t.schema.names,
    "ts_type": str(t.schema.field("ts").type),
    "received_at_type": str(t.schema.field("received_at").type),
    "cells_type": str(t.schema.field("cell_voltages_v").type),
    "motors_type": str(t.schema.field("motors").type),
    "quality_type": str(t.schema.field("quality").type),
    "vins": t.column("vin").to_pylist(),
    "ts": t.column("ts").cast(pa.int64()).to_pylist(),
    "cells": t.column("cell_voltages_v").to_pylist(),
    "motor_speeds": [[m["speed_rpm"] for m in ms] for ms in t.column("motors").to_pylist()],
    "dataset_rows": d.num_rows,
    "dataset_dates": sorted({str(x) for x in d.column("date").to_pylist()}),
    "dataset_reissued": sum(d.column("reissue").to_pylist()),
    "positions_rows": p.num_rows,
    "positions_columns": p.schema.names,
    "fleet_rows": f.num_rows,
    "fleet_columns": f.schema.names,
    "fleet_ts_type": str(f.schema.field("ts").type),
    "fleet_alarm_bits_type": str(f.schema.field("alarm_bits").type),
    "fleet_terminals": sorted(set(f.column("terminal_id").to_pylist())),
    "fleet_no_fuel": f.column("fuel_l").null_count,
}))
"#;

#[test]
fn pyarrow_reads_the_files_and_the_partitioned_directories() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut options = LakeOptions::default();
    options.row_group_rows = 50;
    let lake = Lake::open(dir.path(), options).expect("open");
    let (a, b) = (vin(2), vin(1));
    let mut lsn = 0;
    // Arrival order is by time across both vehicles; the files must come out sorted by VIN.
    for i in 0..60u64 {
        lsn += 1;
        let ts = at(day0(), i as i64 * 10);
        lake.insert(lsn, &[sample(&a, ts, i), sample(&b, ts, i + 1000)])
            .expect("insert");
    }
    lsn += 1;
    let reports: Vec<_> = (0..10u64)
        .map(|i| fleet_report("13800000001", None, at(day0(), i as i64 * 30), i))
        .collect();
    lake.insert_rows(lsn, &[], &reports).expect("insert");
    lsn += 1;
    let mut late = awkward_sample(&b, at(day0(), -3600));
    late.reissue = true;
    lake.insert(lsn, &[late]).expect("insert");
    let stats = lake.flush().expect("flush");
    assert_eq!(stats.rows, 121);

    let one_file = dir
        .path()
        .join("vehicle_samples/date=2026-07-07/part-000000000001.parquet");
    let output = Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .arg(&one_file)
        .arg(dir.path().join("vehicle_samples"))
        .arg(dir.path().join("positions"))
        .arg(dir.path().join("fleet_reports"))
        .output()
        .expect("python3 must be installed");
    assert!(
        output.status.success(),
        "python3 with pyarrow failed (CI installs pyarrow; locally: python3 -m pip install \
         pyarrow):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON from python");

    assert_eq!(got["file_rows"], 120);
    assert_eq!(got["row_groups"], 3, "120 rows in row groups of 50");
    assert_eq!(got["compression"], "ZSTD");
    assert_eq!(got["has_page_index"], true);
    assert_eq!(got["ts_type"], "timestamp[us, tz=UTC]");
    assert_eq!(got["received_at_type"], "timestamp[us, tz=UTC]");
    assert_eq!(got["cells_type"], "list<item: double>");
    assert_eq!(
        got["motors_type"],
        "list<item: struct<no: uint8, state: string, controller_temp_c: double, speed_rpm: \
         double, torque_nm: double, temp_c: double, controller_voltage_v: double, \
         controller_current_a: double> not null>"
    );
    assert_eq!(got["quality_type"], "uint64");
    let columns: Vec<String> = store::lake::samples_schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(got["columns"], serde_json::json!(columns));

    // Sorted by VIN, then time: vin(1) sorts before vin(2) though they arrived interleaved.
    let vins: Vec<String> = serde_json::from_value(got["vins"].clone()).expect("vins");
    let expected_vins: Vec<String> = std::iter::repeat_n(b.to_string(), 60)
        .chain(std::iter::repeat_n(a.to_string(), 60))
        .collect();
    assert_eq!(vins, expected_vins);
    let ts: Vec<i64> = serde_json::from_value(got["ts"].clone()).expect("ts");
    let expected_ts: Vec<i64> = (0..2)
        .flat_map(|_| (0..60).map(|i| at(day0(), i * 10).as_micros()))
        .collect();
    assert_eq!(ts, expected_ts);
    let first = sample(&b, day0(), 1000);
    assert_eq!(got["cells"][0], serde_json::json!(first.cell_voltages_v));
    assert_eq!(
        got["motor_speeds"][0],
        serde_json::json!([3000.0 + 1000.0, 2990.0])
    );

    // The whole table as a Hive-partitioned dataset: both days, the `date` partition column.
    assert_eq!(got["dataset_rows"], 121);
    assert_eq!(
        got["dataset_dates"],
        serde_json::json!(["2026-07-06", "2026-07-07"])
    );
    assert_eq!(got["dataset_reissued"], 1);
    assert_eq!(
        got["positions_rows"],
        120 + 10,
        "the late sample has no position; every fleet report has one"
    );
    assert_eq!(
        got["positions_columns"],
        serde_json::json!([
            "entity_id",
            "ts",
            "source",
            "lon",
            "lat",
            "speed_kmh",
            "heading_deg",
            "alt_m",
            "date"
        ])
    );

    // fleet_reports: the columns of model::FleetReport (plus the partition column).
    assert_eq!(got["fleet_rows"], 10);
    let mut fleet_columns: Vec<String> = store::lake::fleet_reports_schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    fleet_columns.push("date".to_owned());
    assert_eq!(got["fleet_columns"], serde_json::json!(fleet_columns));
    assert_eq!(got["fleet_ts_type"], "timestamp[us, tz=UTC]");
    assert_eq!(got["fleet_alarm_bits_type"], "uint32");
    assert_eq!(got["fleet_terminals"], serde_json::json!(["13800000001"]));
    assert_eq!(
        got["fleet_no_fuel"], 5,
        "NULL where the report had no fuel item"
    );
}
