//! System tests of `haihe serve`: the real binary, real sockets, real files.

mod common;

use common::*;
use proto_gbt32960::{Command, Response, to_sample};

#[test]
fn terminal_and_platform_reports_reach_api_and_sql() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), "");

    // A terminal: one vehicle on its own connection.
    let term = "LXTERM00000000001";
    let mut c = Client::connect(server.gbt);
    c.send(&login(term, 1));
    assert_eq!(c.recv().unwrap().header.response, Response::SUCCESS);
    for n in 1..=5 {
        c.send(&report(term, n));
    }
    c.send(&heartbeat(term));
    let reply = c.recv().unwrap();
    assert_eq!(
        (reply.header.command, reply.header.response),
        (Command::HEARTBEAT, Response::SUCCESS)
    );

    // A carmaker platform relaying three vehicles over one connection.
    let vins = [
        "LA9PLAT0000000001",
        "LA9PLAT0000000002",
        "LA9PLAT0000000003",
    ];
    let mut p = Client::connect(server.gbt);
    p.send(&platform_login(PLATFORM_USER, PLATFORM_PASS));
    assert_eq!(p.recv().unwrap().header.response, Response::SUCCESS);
    for vin in vins {
        p.send(&login(vin, 1));
        assert_eq!(p.recv().unwrap().header.response, Response::SUCCESS);
    }
    for n in 1..=4 {
        for vin in vins {
            p.send(&report(vin, n));
        }
    }
    p.send(&heartbeat("PLATFORM000000001"));
    assert_eq!(p.recv().unwrap().header.command, Command::HEARTBEAT);

    // Latest state equals the last frame.
    let received = model::Timestamp::from_secs(0);
    let expected = to_sample(&report(term, 5), received).unwrap();
    let v = poll(30, "terminal state", || {
        let v = server.get(&format!("/api/v1/vehicles/{term}"));
        (v["state"]["ts"] == serde_json::json!(expected.ts)).then_some(v)
    });
    assert_eq!(v["online"], true);
    for col in [
        "speed_kmh",
        "odometer_km",
        "soc_pct",
        "total_current_a",
        "lon",
        "lat",
        "min_cell_voltage_v",
    ] {
        let want = serde_json::to_value(&expected).unwrap()[col].clone();
        assert_eq!(v["state"][col], want, "{col}");
    }
    let list = server.get("/api/v1/vehicles");
    assert_eq!(list["total"], 4);

    // The full history, oldest first, and the track.
    let from = "2026-11-27T00:00:00%2B08:00";
    let to = "2026-11-28T00:00:00%2B08:00";
    let samples = server.get(&format!(
        "/api/v1/vehicles/{term}/samples?from={from}&to={to}"
    ));
    let samples = samples.as_array().unwrap();
    assert_eq!(samples.len(), 5);
    for (i, s) in samples.iter().enumerate() {
        let want = to_sample(&report(term, i as u32 + 1), received).unwrap();
        assert_eq!(s["ts"], serde_json::json!(want.ts));
        assert_eq!(s["speed_kmh"], serde_json::json!(want.speed_kmh));
        assert_eq!(
            s["cell_voltages_v"],
            serde_json::json!(want.cell_voltages_v)
        );
    }
    let track = server.get(&format!(
        "/api/v1/vehicles/{}/track?from={from}&to={to}",
        vins[1]
    ));
    assert_eq!(track["geometry"]["type"], "LineString");
    assert_eq!(
        track["geometry"]["coordinates"].as_array().unwrap().len(),
        4
    );

    // SQL counts agree with what was sent, over the API and over the data directory.
    let q = "SELECT vin, count(*) AS n FROM vehicle_samples GROUP BY vin ORDER BY vin";
    let expected_rows = serde_json::json!([
        ["LA9PLAT0000000001", 4],
        ["LA9PLAT0000000002", 4],
        ["LA9PLAT0000000003", 4],
        [term, 5]
    ]);
    assert_eq!(server.sql(q)["rows"], expected_rows);
    let positions = server.sql("SELECT count(*) FROM positions");
    assert_eq!(positions["rows"], serde_json::json!([[17]]));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_haihe"))
        .args(["sql", "--data-dir"])
        .arg(&server.dir)
        .arg(q)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        cli["rows"], expected_rows,
        "haihe sql sees what the server holds"
    );
}

#[test]
fn refusals_get_the_right_reply_and_are_counted() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), "");

    // Data before any login.
    let mut c = Client::connect(server.gbt);
    c.send(&report("LXTERM00000000009", 1));
    let r = c.recv().unwrap();
    assert_eq!(
        (r.header.command, r.header.response),
        (Command::REALTIME, Response::ERROR)
    );

    // A wrong password: error reply, then the connection is closed.
    let mut p = Client::connect(server.gbt);
    p.send(&platform_login(PLATFORM_USER, "wrong"));
    assert_eq!(p.recv().unwrap().header.response, Response::ERROR);
    assert!(p.recv().is_none(), "closed after a wrong password");

    // A VIN outside the platform's list.
    let mut p = Client::connect(server.gbt);
    p.send(&platform_login(PLATFORM_USER, PLATFORM_PASS));
    assert_eq!(p.recv().unwrap().header.response, Response::SUCCESS);
    p.send(&login("LZZNOTMINE0000001", 1));
    assert_eq!(p.recv().unwrap().header.response, Response::ERROR);
    p.send(&report("LZZNOTMINE0000001", 1));
    assert_eq!(p.recv().unwrap().header.response, Response::ERROR);

    let m = |o: &str| {
        server.metric(&format!(
            "haihe_frames_total{{protocol=\"gbt32960\",outcome=\"{o}\"}}"
        ))
    };
    assert_eq!(m("not_logged_in"), 1.0);
    assert_eq!(m("bad_credentials"), 1.0);
    assert_eq!(m("vin_not_allowed"), 2.0);
    // Nothing refused was stored.
    assert_eq!(
        server.sql("SELECT count(*) FROM vehicle_samples")["rows"],
        serde_json::json!([[0]])
    );
}

#[test]
fn sigterm_stops_cleanly_and_a_restart_keeps_everything() {
    let tmp = tempfile::tempdir().unwrap();
    let mut server = Server::start(tmp.path(), "");
    let vin = "LXSTOP00000000001";
    let mut c = Client::connect(server.gbt);
    c.send(&login(vin, 1));
    c.recv().unwrap();
    for n in 1..=10 {
        c.send(&report(vin, n));
    }
    c.send(&heartbeat(vin));
    c.recv().unwrap();
    server.stop();
    let status = server.child.try_wait().unwrap().expect("stopped");
    assert!(status.success(), "exit status {status}: {}", server.log());
    // The final flush wrote the rows to Parquet.
    let files = std::fs::read_dir(server.dir.join("lake/vehicle_samples"))
        .unwrap()
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
        .filter(|f| {
            f.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|e| e == "parquet")
        })
        .count();
    assert!(files >= 1, "no Parquet file after a clean stop");
    let (data, config) = (server.dir.clone(), server.config.clone());
    drop(server);
    let server = Server::start_with(data, config);
    let r = server.sql(&format!(
        "SELECT count(*) FROM vehicle_samples WHERE vin = '{vin}'"
    ));
    assert_eq!(r["rows"], serde_json::json!([[10]]));
}
