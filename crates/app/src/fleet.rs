//! `haihe fleet import FILE.csv --data-dir DIR`: the vehicle registry from a CSV file.
//!
//! The file has a header row naming the columns `vin`, `terminal_id`, `plate`, `category`,
//! `powertrain` and `owner_org`, in any order, all of them (an entry replaces every field of the
//! registry's entry for its VIN, so a missing column would silently erase data). Cells are trimmed;
//! an empty cell is NULL. Every row is checked with the API's rules (`api::check_registry`, the
//! same as `POST /api/v1/vehicles`), and a terminal id may not be taken from another registered
//! vehicle unless that vehicle gets another one in the same file. If any row is bad, every bad
//! row is reported with its line number and nothing is imported; otherwise all rows are upserted
//! in one catalog transaction. A category the platform does not know is imported with a warning.
//!
//! The catalog is SQLite in WAL mode, so this runs while a server serves the same data directory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use api::REGISTRY_FIELDS;
use model::VehicleInfo;
use store::catalog::Catalog;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Import registry entries from a CSV file (header: vin,terminal_id,plate,category,powertrain,
    /// owner_org in any order); nothing is imported if any row is bad.
    Import {
        /// The CSV file (UTF-8).
        file: PathBuf,
        #[arg(long, default_value = "./haihe-data")]
        data_dir: PathBuf,
    },
}

pub(crate) fn run(args: &Args) -> anyhow::Result<ExitCode> {
    match &args.action {
        Action::Import { file, data_dir } => import(file, data_dir),
    }
}

/// One row of the file, with the line it starts on.
#[derive(Debug)]
struct Row {
    line: u64,
    entry: VehicleInfo,
}

/// What is wrong with the file: problems with the file as a whole, or with rows by line.
#[derive(Debug, Default)]
struct Report {
    errors: Vec<String>,
    warnings: Vec<String>,
}

pub(crate) fn import(file: &Path, data_dir: &Path) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let (rows, mut report) = parse(&bytes)?;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let catalog = Catalog::open(data_dir.join(store::catalog::CATALOG_FILE))
        .context("opening the catalog")?;
    let existing = catalog.vehicles().context("reading the registry")?;
    let entries: Vec<VehicleInfo> = rows.iter().map(|r| r.entry.clone()).collect();
    for (i, message) in terminal_conflicts(&existing, &entries) {
        report
            .errors
            .push(format!("line {}: terminal_id: {message}", rows[i].line));
    }
    report.errors.sort_by_key(|e| line_of(e));
    #[allow(clippy::print_stderr)]
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    if !report.errors.is_empty() {
        #[allow(clippy::print_stderr)]
        for e in &report.errors {
            eprintln!("{e}");
        }
        anyhow::bail!(
            "{}: {} problem{} found; nothing was imported",
            file.display(),
            report.errors.len(),
            if report.errors.len() == 1 { "" } else { "s" }
        );
    }
    let entries: Vec<VehicleInfo> = rows.into_iter().map(|r| r.entry).collect();
    let n = catalog
        .upsert_vehicles(&entries)
        .context("writing the registry")?;
    #[allow(clippy::print_stdout)]
    {
        println!(
            "imported {n} vehicle{} into {}",
            if n == 1 { "" } else { "s" },
            catalog.path().display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads and checks the whole file. A header that cannot be used is an error of its own
/// (`Err`); bad rows are collected in the report.
fn parse(bytes: &[u8]) -> anyhow::Result<(Vec<Row>, Report)> {
    // Spreadsheet programs put a byte-order mark before the header.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let header = reader
        .headers()
        .map_err(|e| anyhow::anyhow!("line 1: the header row cannot be read: {}", csv_error(&e)))?
        .clone();
    let columns = columns(&header)?;
    let mut report = Report::default();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                report
                    .errors
                    .push(format!("line {line}: {}", csv_error(&e)));
                continue;
            }
        };
        let line = record.position().map_or(0, csv::Position::line);
        let cell = |field: &str| -> Option<String> {
            let value = record.get(columns[field])?;
            (!value.is_empty()).then(|| value.to_owned())
        };
        let Some(vin) = cell("vin") else {
            report.errors.push(format!("line {line}: vin: is required"));
            continue;
        };
        rows.push(Row {
            line,
            entry: VehicleInfo {
                vin,
                terminal_id: cell("terminal_id"),
                plate: cell("plate"),
                category: cell("category"),
                powertrain: cell("powertrain"),
                owner_org: cell("owner_org"),
            },
        });
    }
    let entries: Vec<VehicleInfo> = rows.iter().map(|r| r.entry.clone()).collect();
    let check = api::check_registry(&entries);
    let at = |issue: &api::EntryIssue| {
        let message = issue.describe(|i| format!("line {}", rows[i].line));
        match issue.field {
            Some(field) => format!("line {}: {field}: {message}", rows[issue.index].line),
            None => format!("line {}: {message}", rows[issue.index].line),
        }
    };
    report.errors.extend(check.errors.iter().map(at));
    report.warnings.extend(check.warnings.iter().map(at));
    // Errors in file order, whichever check found them.
    report.errors.sort_by_key(|e| line_of(e));
    Ok((rows, report))
}

/// The line number an error message starts with, for sorting.
fn line_of(message: &str) -> u64 {
    message
        .strip_prefix("line ")
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The index of every registry column in the header; unknown, repeated or missing columns are
/// an error naming them.
fn columns(header: &csv::StringRecord) -> anyhow::Result<HashMap<&'static str, usize>> {
    let mut found: HashMap<&'static str, usize> = HashMap::new();
    for (i, name) in header.iter().enumerate() {
        let Some(field) = REGISTRY_FIELDS.iter().find(|f| **f == name) else {
            anyhow::bail!(
                "line 1: unknown column {name:?}; the columns are {}",
                REGISTRY_FIELDS.join(", ")
            );
        };
        if found.insert(field, i).is_some() {
            anyhow::bail!("line 1: column {name:?} appears twice");
        }
    }
    let missing: Vec<&str> = REGISTRY_FIELDS
        .iter()
        .filter(|f| !found.contains_key(*f))
        .copied()
        .collect();
    if !missing.is_empty() {
        anyhow::bail!(
            "line 1: missing column{} {} (every column is needed: an imported row replaces the \
             whole registry entry; leave cells empty for unknown values)",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", ")
        );
    }
    Ok(found)
}

/// A CSV reading error in a user's words.
fn csv_error(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("expected {expected_len} cells like the header, found {len}"),
        csv::ErrorKind::Utf8 { .. } => {
            "not valid UTF-8 (save the file as CSV UTF-8; GBK is not read)".to_owned()
        }
        _ => e.to_string(),
    }
}

/// Entries whose terminal id belongs to another registered vehicle that keeps it: a terminal
/// id identifies one vehicle's reports, so taking it over silently would give one vehicle the
/// other's data. Moving a terminal is allowed when the upload gives the old vehicle another
/// terminal id (or none). Returns the entry indices with a message.
pub(crate) fn terminal_conflicts(
    existing: &[VehicleInfo],
    entries: &[VehicleInfo],
) -> Vec<(usize, String)> {
    let holder: HashMap<&str, &str> = existing
        .iter()
        .filter_map(|v| Some((v.terminal_id.as_deref()?, v.vin.as_str())))
        .collect();
    let uploaded: HashMap<&str, Option<&str>> = entries
        .iter()
        .map(|e| (e.vin.as_str(), e.terminal_id.as_deref()))
        .collect();
    entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| {
            let t = e.terminal_id.as_deref()?;
            let owner = *holder.get(t)?;
            let keeps_it = owner != e.vin && uploaded.get(owner).is_none_or(|now| *now == Some(t));
            keeps_it.then(|| {
                (
                    i,
                    format!(
                        "{t:?} belongs to {owner} in the registry; give {owner} another \
                         terminal id (or none) in the same upload to move it"
                    ),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(vin: &str, terminal: Option<&str>) -> VehicleInfo {
        VehicleInfo {
            vin: vin.to_owned(),
            terminal_id: terminal.map(str::to_owned),
            plate: None,
            category: None,
            powertrain: None,
            owner_org: None,
        }
    }

    #[test]
    fn columns_come_in_any_order_and_every_one_is_needed() {
        let csv = "owner_org,powertrain,vin,category,plate,terminal_id\n\
                   fleet-a, bev ,LA9A0000000000001,taxi,,13800000001\n";
        let (rows, report) = parse(csv.as_bytes()).expect("parse");
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].line, 2);
        let e = &rows[0].entry;
        assert_eq!(e.powertrain.as_deref(), Some("bev"), "cells are trimmed");
        assert_eq!(e.plate, None, "an empty cell is NULL");
        assert_eq!(e.terminal_id.as_deref(), Some("13800000001"));

        let err = parse(b"vin,terminal_id,plate,category,powertrain,owner_org,colour\n")
            .expect_err("unknown column");
        assert!(
            err.to_string().contains("unknown column \"colour\""),
            "{err}"
        );
        let err = parse(b"vin,plate\n").expect_err("missing columns");
        assert!(
            err.to_string()
                .contains("missing columns terminal_id, category, powertrain, owner_org"),
            "{err}"
        );
        let err =
            parse(b"vin,vin,terminal_id,plate,category,powertrain,owner_org\n").expect_err("twice");
        assert!(err.to_string().contains("\"vin\" appears twice"), "{err}");
    }

    #[test]
    fn every_bad_row_is_reported_by_line() {
        let csv = "\u{feff}vin,terminal_id,plate,category,powertrain,owner_org\n\
                   LA9A0000000000001,13800000001,,taxi,bev,a\n\
                   BAD/VIN,,,,,\n\
                   LA9A0000000000003,1380000000X,,,,\n\
                   LA9A0000000000004,,,ambulance,steam,\n\
                   LA9A0000000000001,,,,,\n\
                   LA9A0000000000006,,,\n\
                   ,,,,,\n\
                   LA9A0000000000008,,,Ferry,,\n";
        let (_, report) = parse(csv.as_bytes()).expect("parse");
        let lines: Vec<u64> = report.errors.iter().map(|e| line_of(e)).collect();
        assert_eq!(lines, [3, 4, 5, 6, 7, 8, 9], "{:#?}", report.errors);
        assert!(report.errors[0].starts_with("line 3: vin: \"BAD/VIN\""));
        assert!(report.errors[1].starts_with("line 4: terminal_id: expected 1–20 digits"));
        assert!(report.errors[2].starts_with("line 5: powertrain: unknown value \"steam\""));
        assert_eq!(
            report.errors[3],
            "line 6: vin: \"LA9A0000000000001\" already appears at line 2"
        );
        assert_eq!(
            report.errors[4],
            "line 7: expected 6 cells like the header, found 4"
        );
        assert_eq!(report.errors[5], "line 8: vin: is required");
        assert!(report.errors[6].starts_with("line 9: category: expected a lowercase name"));
        // The unknown category of line 5 would only have been a warning, but its powertrain is
        // wrong; no warnings for rows that are errors anyway.
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    }

    #[test]
    fn a_terminal_id_moves_only_when_its_holder_lets_go() {
        let existing = vec![entry("V1", Some("1001")), entry("V2", Some("1002"))];
        // V3 takes V1's terminal: refused. V2 takes 1002 again: fine (it is its own).
        let conflicts = terminal_conflicts(
            &existing,
            &[entry("V3", Some("1001")), entry("V2", Some("1002"))],
        );
        assert_eq!(conflicts.len(), 1);
        assert_eq!(conflicts[0].0, 0);
        assert!(conflicts[0].1.starts_with("\"1001\" belongs to V1"));
        // V1 gets another terminal in the same upload: V3 may take 1001.
        assert!(
            terminal_conflicts(
                &existing,
                &[entry("V3", Some("1001")), entry("V1", Some("1009"))]
            )
            .is_empty()
        );
        assert!(terminal_conflicts(&existing, &[entry("V3", None)]).is_empty());
    }
}
