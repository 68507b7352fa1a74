//! Measures the lake on this machine: insert cost of realistic rows (96 cells, 32 probes, two
//! motors), flush throughput, a one-vehicle one-day query among ~100 files, and the same for
//! JT/T 808 fleet reports with one terminal's trips and daily mileage.
//!
//! Run with `cargo bench -p store --bench lake`; set `LAKE_BENCH_ROWS` to change the insert
//! volume (default 300 000). Prints one line per figure.

#![allow(clippy::print_stdout)]

#[path = "../tests/lake_support/mod.rs"]
mod lake_support;

use std::time::{Duration, Instant};

use lake_support::{at, day0, fleet_report, sample, vin};
use model::VehicleSample;
use store::lake::{Lake, LakeOptions};

fn main() {
    let rows: usize = std::env::var("LAKE_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300_000);
    insert_and_flush(rows);
    one_vehicle_day_query();
    fleet_day_and_trips();
}

/// 1 000 terminals reporting every 30 s for a day (2.88 M rows, a day of a mid-size fleet):
/// insert and flush rates, then one terminal's trips and mileage, and the active vehicles.
fn fleet_day_and_trips() {
    let runtime = lake_support::runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut options = LakeOptions::default();
    options.flush_bytes = u64::MAX;
    let lake = Lake::open(dir.path(), options).expect("open");
    let terminals: Vec<String> = (0..1_000).map(|k| format!("1380{k:07}")).collect();
    let steps = 2_880i64;
    let started = Instant::now();
    let mut flush_time = Duration::ZERO;
    for step in 0..steps {
        let rows: Vec<_> = terminals
            .iter()
            .enumerate()
            .map(|(k, t)| {
                let mut r =
                    fleet_report(t, None, at(day0(), step * 30), (step * 7 + k as i64) as u64);
                // Drive for 20 minutes, stand for 10, ignition off at night.
                let minute = step / 2;
                r.acc_on = (6 * 60..22 * 60).contains(&minute);
                r.speed_kmh = if r.acc_on && minute % 30 < 20 {
                    36.0
                } else {
                    0.0
                };
                r.mileage_km = Some(10_000.0 + 0.3 * step as f64);
                r
            })
            .collect();
        lake.insert_rows(step as u64 + 1, &[], &rows)
            .expect("insert");
        if (step + 1) % 288 == 0 {
            flush_time += lake.flush().expect("flush").duration;
        }
    }
    let elapsed = started.elapsed();
    let n = steps * terminals.len() as i64;
    println!(
        "fleet: {n} reports inserted and flushed in {elapsed:.2?} = {:.0} rows/s          ({flush_time:.2?} flushing)",
        n as f64 / elapsed.as_secs_f64()
    );
    let (from, to) = (day0(), at(day0(), 86_400));
    let target = terminals[777].as_str();
    let mut times = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let data = runtime
            .block_on(lake.drive_data(&[target], from, to))
            .expect("drive data");
        let trips = data.trips();
        let days = data.daily_mileage(from, to);
        times.push(t.elapsed());
        assert_eq!(data.points.len(), 2_880);
        assert_eq!(trips.len(), 32);
        assert_eq!(days.len(), 1);
    }
    report(
        "trips + daily mileage of one terminal's day (2880 reports)",
        &mut times,
    );
    let t = Instant::now();
    let active = runtime
        .block_on(lake.active_entities(from, to))
        .expect("active");
    println!(
        "active_entities over {n} reports: {} in {:.2?}",
        active.len(),
        t.elapsed()
    );
}

fn insert_and_flush(rows: usize) {
    let vehicles = 10_000;
    let vins: Vec<_> = (0..vehicles).map(vin).collect();
    let data: Vec<VehicleSample> = (0..rows)
        .map(|i| {
            sample(
                &vins[i % vehicles],
                at(day0(), (i / vehicles) as i64 * 10),
                i as u64,
            )
        })
        .collect();

    for per_record in [1usize, 100] {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut options = LakeOptions::default();
        options.flush_bytes = u64::MAX;
        let lake = Lake::open(dir.path(), options).expect("open");
        let started = Instant::now();
        for (lsn, chunk) in data.chunks(per_record).enumerate() {
            lake.insert(lsn as u64 + 1, chunk).expect("insert");
        }
        let elapsed = started.elapsed();
        println!(
            "insert ({per_record:>3} rows per call): {rows} rows in {elapsed:.2?} = {:.0} rows/s, \
             {:.2} µs/row; buffered {} MiB ({} B/row)",
            rows as f64 / elapsed.as_secs_f64(),
            elapsed.as_secs_f64() * 1e6 / rows as f64,
            lake.buffered_bytes() >> 20,
            lake.buffered_bytes() / rows as u64,
        );
        if per_record == 100 {
            let buffered = lake.buffered_bytes();
            let stats = lake.flush().expect("flush");
            println!(
                "flush: {} rows ({} MiB in memory) in {:.2?} = {:.0} rows/s; {} files, {} MiB on \
                 disk ({} B/row)",
                stats.rows,
                buffered >> 20,
                stats.duration,
                stats.rows as f64 / stats.duration.as_secs_f64(),
                stats.files,
                stats.bytes >> 20,
                stats.bytes / stats.rows.max(1),
            );
        }
    }
}

fn one_vehicle_day_query() {
    let runtime = lake_support::runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = Lake::open(dir.path(), LakeOptions::default()).expect("open");
    let vehicles = 200;
    let vins: Vec<_> = (0..vehicles).map(vin).collect();
    // One report every 10 s per vehicle for a whole day (8 640 each), flushed 100 times.
    let steps = 8_640i64;
    let flushes = 100;
    let started = Instant::now();
    let mut lsn = 0;
    let mut flush_time = Duration::ZERO;
    for step in 0..steps {
        lsn += 1;
        let rows: Vec<VehicleSample> = vins
            .iter()
            .enumerate()
            .map(|(k, v)| sample(v, at(day0(), step * 10), (step as u64) * 1000 + k as u64))
            .collect();
        lake.insert(lsn, &rows).expect("insert");
        if (step + 1) % (steps / flushes) == 0 {
            flush_time += lake.flush().expect("flush").duration;
        }
    }
    lake.flush().expect("flush");
    let files = lake.file_paths().len();
    println!(
        "query setup: {} rows of {vehicles} vehicles in {files} files (both tables) in {:.2?} \
         ({flush_time:.2?} of it flushing)",
        steps * vehicles as i64,
        started.elapsed()
    );

    let target = vins[123].as_str();
    let (from, to) = (day0(), at(day0(), 86_400));
    let mut times = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let got = runtime
            .block_on(lake.samples(target, from, to, 100_000))
            .expect("samples");
        times.push(t.elapsed());
        assert_eq!(got.len(), 8_640);
    }
    report("samples(vin, one day) -> 8640 VehicleSample", &mut times);

    let mut times = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let got = runtime
            .block_on(lake.track(target, from, to))
            .expect("track");
        times.push(t.elapsed());
        assert_eq!(got.len(), 8_640);
    }
    report("track(vin, one day) -> 8640 points", &mut times);

    let sql = format!(
        "SELECT count(*), avg(soc_pct), max(max_cell_voltage_v) FROM vehicle_samples \
         WHERE vin = '{target}' AND ts >= '2026-07-07T00:00:00+08:00' \
         AND ts < '2026-07-08T00:00:00+08:00'"
    );
    let mut times = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        runtime.block_on(lake.sql(&sql, &[], &[])).expect("sql");
        times.push(t.elapsed());
    }
    report("SQL aggregate over one vehicle's day", &mut times);

    let sql = format!(
        "SELECT ts, cell_voltages_v FROM vehicle_samples WHERE vin = '{target}' \
         AND ts >= '2026-07-07T12:00:00+08:00' AND ts < '2026-07-07T13:00:00+08:00' ORDER BY ts"
    );
    let mut times = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        runtime.block_on(lake.sql(&sql, &[], &[])).expect("sql");
        times.push(t.elapsed());
    }
    report("SQL one vehicle's hour with cell voltages", &mut times);

    let t = Instant::now();
    let latest = runtime.block_on(lake.latest_per_vin()).expect("latest");
    println!(
        "latest_per_vin over {} rows: {} vehicles in {:.2?}",
        steps * vehicles as i64,
        latest.len(),
        t.elapsed()
    );
}

fn report(what: &str, times: &mut [Duration]) {
    let first = times[0];
    times.sort();
    println!(
        "{what}: first {first:.2?}, median {:.2?}, best {:.2?}",
        times[times.len() / 2],
        times[0]
    );
}
