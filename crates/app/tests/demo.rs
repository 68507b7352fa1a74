//! System test of `haihe demo`: the real binary with a small fleet on free ports; everything it
//! simulates reaches the API (vehicles of both vehicle protocols online, stations of both
//! charging operators and of the OCPP sites, connected OCPP chargers, alarms of the faulty
//! vehicles), and SIGINT stops it with exit code 0.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{Server, poll};

/// The first vehicles of the first carmaker platform get these faults (thermal, insulation,
/// cell drift); each must open at least one alarm.
const FAULTY: [&str; 3] = [
    "LDEMA000000000001",
    "LDEMA000000000002",
    "LDEMA000000000003",
];

fn items(v: &serde_json::Value) -> Vec<serde_json::Value> {
    v["items"].as_array().cloned().unwrap_or_default()
}

#[test]
fn demo_city_reaches_the_api_and_stops_on_sigint() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // Where `Server::log` looks for it.
    let log_path = data.with_extension("log");
    let log = std::fs::File::create(&log_path).unwrap();
    // `--http 127.0.0.1:0`: never depend on 8080 being free; `--fault-after 3`: alarms soon.
    let mut child = Command::new(env!("CARGO_BIN_EXE_haihe"))
        .args(["demo", "--vehicles", "30", "--http", "127.0.0.1:0"])
        .args(["--fault-after", "3", "--data-dir"])
        .arg(&data)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("spawn haihe demo");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    // The banner: the dashboard address, the one-click link and the admin token.
    let mut banner = Vec::new();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(180))
            .unwrap_or_else(|e| {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                panic!("no complete banner ({e}); so far {banner:?}\n{log}")
            });
        let done = line.starts_with("Press Ctrl-C");
        banner.push(line);
        if done {
            break;
        }
    }
    let field = |prefix: &str| {
        banner
            .iter()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} line in {banner:#?}"))
            .trim()
            .to_owned()
    };
    let dashboard = field("dashboard:");
    let token = field("admin token:");
    let port: u16 = dashboard
        .strip_prefix("http://127.0.0.1:")
        .and_then(|r| r.strip_suffix('/'))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("dashboard address {dashboard:?}"));
    assert_eq!(
        field("one-click login:"),
        format!("{dashboard}#token={token}")
    );
    // The same ports as ports.json says (every device listener is on a free port).
    let ports: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("ports.json")).unwrap()).unwrap();
    assert_eq!(ports["http"].as_u64(), Some(u64::from(port)));
    assert_eq!(
        std::fs::read_to_string(data.join("admin.token"))
            .unwrap()
            .trim(),
        token
    );
    assert!(
        data.join("demo.toml").exists(),
        "the built configuration is kept"
    );

    let server = Server {
        dir: data.clone(),
        config: data.join("demo.toml"),
        child,
        http: port,
        gbt: ports["gbt32960"].as_u64().unwrap() as u16,
        jt808: ports["jt808"].as_u64().unwrap() as u16,
        ocpp: ports["ocpp"].as_u64().unwrap() as u16,
        token,
    };

    // Vehicles online from every GB/T 32960 source (two carmaker platforms, 2016 and 2025
    // editions, and direct terminals) and from JT/T 808 (only possible if the demo imported the
    // fleet registry first: the JT/T 808 gateway admits registered terminals only).
    poll(120, "online vehicles of every source", || {
        let vehicles = items(&server.get("/api/v1/vehicles?online=true&limit=10000"));
        let online = |prefix: &str, source: &str| {
            vehicles.iter().any(|v| {
                v["online"] == true
                    && v["vin"].as_str().is_some_and(|s| s.starts_with(prefix))
                    && v["state"]["source"]
                        .as_str()
                        .is_some_and(|s| s.starts_with(source))
            })
        };
        (online("LDEMA", "gbt32960")
            && online("LDEMB", "gbt32960-2025")
            && online("LDEMT", "gbt32960")
            && online("LJ808", "jt808"))
        .then_some(())
    });

    // Stations of both T/CEC operators (one polled, one pushing) and the two OCPP sites.
    poll(120, "stations of both operators and both sites", || {
        let stations = items(&server.get("/api/v1/stations"));
        let has = |operator: &str| stations.iter().any(|s| s["operator_id"] == operator);
        let site = |id: &str| {
            stations
                .iter()
                .any(|s| s["operator_id"] == "ocpp" && s["station_id"] == id)
        };
        (has("MA01H3BQ2") && has("MA02TJEV7") && site("binhai-depot") && site("hexi-hub"))
            .then_some(())
    });

    // The OCPP charge points connected, on both sites.
    poll(120, "connected OCPP chargers on both sites", || {
        let chargers = items(&server.get("/api/v1/chargers?operator=ocpp"));
        let connected = |site: &str| {
            chargers
                .iter()
                .any(|c| c["connected"] == true && c["station_id"] == site)
        };
        (connected("binhai-depot") && connected("hexi-hub")).then_some(())
    });

    // Each injected fault opens an alarm on its vehicle.
    poll(180, "alarms of the faulty vehicles", || {
        let alarms = items(&server.get("/api/v1/alarms"));
        FAULTY
            .iter()
            .all(|vin| alarms.iter().any(|a| a["entity_id"] == *vin))
            .then_some(())
    });

    // SIGINT: the simulators stop, then the platform; exit code 0.
    let mut server = server;
    let _ = Command::new("kill")
        .args(["-INT", &server.child.id().to_string()])
        .status();
    let status = poll(30, "the demo to exit after SIGINT", || {
        server.child.try_wait().ok().flatten()
    });
    assert!(status.success(), "exit status {status}: {}", server.log());
}
