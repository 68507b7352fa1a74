//! System tests of `haihe fleet import`: the real binary on real files. A good file lands in the
//! registry (seen by `haihe sql` on `vehicles`), re-importing updates it, a bad file imports
//! nothing and names every bad line, and importing works while a server holds the catalog.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

fn haihe(args: &[&str], data_dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_haihe"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .expect("run haihe")
}

fn import(file: &Path, data_dir: &Path) -> Output {
    haihe(&["fleet", "import", file.to_str().expect("path")], data_dir)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The registry as `haihe sql` sees it.
fn registry(data_dir: &Path) -> Value {
    let out = haihe(
        &[
            "sql",
            "SELECT vin, terminal_id, plate, category, powertrain, owner_org FROM vehicles \
             ORDER BY vin",
        ],
        data_dir,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let body: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    body["rows"].clone()
}

const GOOD: &str = "\u{feff}powertrain,vin,terminal_id,plate,category,owner_org\n\
                    bev,LSAN0000000000001,13800000001,津A00001,sanitation,city-sanitation\n\
                    ice, LLOG0000000000002 ,013800000002,,logistics,\n\
                    fcev,LAMB0000000000003,,津A00003,ambulance,city-health\n";

#[test]
fn a_good_file_is_imported_and_visible_to_sql() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let file = tmp.path().join("fleet.csv");
    std::fs::write(&file, GOOD).expect("write");

    let out = import(&file, &data);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("imported 3 vehicles into "),
        "{}",
        text(&out.stdout)
    );
    // An unknown category is imported, with a warning naming its line.
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("warning: line 4: category: \"ambulance\" is not one of private"),
        "{stderr}"
    );
    assert_eq!(
        registry(&data),
        json!([
            [
                "LAMB0000000000003",
                null,
                "津A00003",
                "ambulance",
                "fcev",
                "city-health"
            ],
            [
                "LLOG0000000000002",
                "013800000002",
                null,
                "logistics",
                "ice",
                null
            ],
            [
                "LSAN0000000000001",
                "13800000001",
                "津A00001",
                "sanitation",
                "bev",
                "city-sanitation"
            ],
        ])
    );

    // Importing again updates: every field of an entry comes from the file.
    std::fs::write(
        &file,
        "vin,terminal_id,plate,category,powertrain,owner_org\n\
         LLOG0000000000002,013800000002,津B00002,logistics,bev,post-co\n",
    )
    .expect("write");
    let out = import(&file, &data);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).lines().next(),
        Some(&*format!(
            "imported 1 vehicle into {}",
            data.join("catalog.db").display()
        ))
    );
    let rows = registry(&data);
    assert_eq!(
        rows[1],
        json!([
            "LLOG0000000000002",
            "013800000002",
            "津B00002",
            "logistics",
            "bev",
            "post-co"
        ])
    );
    assert_eq!(rows.as_array().expect("rows").len(), 3);
}

#[test]
fn a_bad_file_imports_nothing_and_names_every_bad_line() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let file = tmp.path().join("fleet.csv");
    std::fs::write(&file, GOOD).expect("write");
    assert!(import(&file, &data).status.success());
    let before = registry(&data);

    std::fs::write(
        &file,
        "vin,terminal_id,plate,category,powertrain,owner_org\n\
         LNEW0000000000010,13900000010,,taxi,bev,cab-co\n\
         LNEW-BAD/VIN,,,taxi,bev,\n\
         LNEW0000000000012,,,taxi,bev,cab-co\n\
         LNEW0000000000013,,,taxi,steam,cab-co\n\
         LNEW0000000000014,13800000001,,taxi,bev,cab-co\n",
    )
    .expect("write");
    let out = import(&file, &data);
    assert!(!out.status.success(), "a bad file must fail");
    let stderr = text(&out.stderr);
    for needle in [
        "line 3: vin: \"LNEW-BAD/VIN\"",
        "line 5: powertrain: unknown value \"steam\"",
        // The terminal id of line 6 belongs to a registered vehicle that keeps it.
        "line 6: terminal_id: \"13800000001\" belongs to LSAN0000000000001",
        "3 problems found; nothing was imported",
    ] {
        assert!(
            stderr.contains(needle),
            "{needle:?} missing from:\n{stderr}"
        );
    }
    assert!(
        !stderr.contains("line 2:") && !stderr.contains("line 4:"),
        "{stderr}"
    );
    assert_eq!(registry(&data), before, "nothing was imported");

    // A column the registry does not have.
    std::fs::write(
        &file,
        "vin,terminal_id,plate,category,powertrain,owner_org,colour\nLNEW0000000000010,,,,,,red\n",
    )
    .expect("write");
    let out = import(&file, &data);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("line 1: unknown column \"colour\""),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(registry(&data), before);

    // A file that is not there.
    let out = import(&tmp.path().join("missing.csv"), &data);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("missing.csv"));
}

#[test]
fn import_works_while_a_server_runs_and_the_api_checks_uploads_the_same_way() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = common::Server::start(tmp.path(), "");
    let file = tmp.path().join("fleet.csv");
    std::fs::write(&file, GOOD).expect("write");
    let out = import(&file, &server.dir);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(registry(&server.dir).as_array().expect("rows").len(), 3);

    // The server's SQL has the fleet tables too.
    let body = server.sql("SELECT count(*) FROM fleet_reports");
    assert_eq!(body["rows"], json!([[0]]));

    // The API refuses what the import refuses, naming the entry and field.
    let (status, body) = server.post_json(
        "/api/v1/vehicles",
        &json!([
            {"vin": "LNEW0000000000010", "powertrain": "bev"},
            {"vin": "LNEW0000000000011", "powertrain": "steam"},
        ]),
    );
    assert_eq!(status, 400, "{body}");
    let message = body["error"]["message"].as_str().expect("message");
    assert!(
        message.starts_with("entries[1].powertrain: unknown value \"steam\""),
        "{message}"
    );
    // And takes a terminal id from a registered vehicle no more than the import does.
    let (status, body) = server.post_json(
        "/api/v1/vehicles",
        &json!([{"vin": "LNEW0000000000012", "terminal_id": "13800000001"}]),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("message")
            .starts_with("entries[0].terminal_id: \"13800000001\" belongs to LSAN0000000000001"),
        "{body}"
    );
}
