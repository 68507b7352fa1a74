//! System test of the charging module (issue 6): `haihe simulate` plays a charging operator's
//! platform (pushing over T/CEC 102 and answering the platform's polls) and 20 OCPP chargers of
//! both versions, 6 of them on a 60 kW depot, against `haihe serve`, which is killed with
//! `kill -9` in the middle and restarted. Everything the simulators saw acknowledged (a `Ret=0`,
//! a CALLRESULT) is in the platform afterwards, exactly once; the charging API, analytics, KPI,
//! live stream and org scoping read it; the depot's allocations never exceed its limit.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const OPERATOR: &str = "MA01H3BQ2";
const ORG: &str = "operator-a";
const STATIONS: u64 = 4;
const CHARGERS: usize = 20;
/// The first chargers share the depot's limit.
const DEPOT_CHARGERS: usize = 6;
const DEPOT_KW: f64 = 60.0;
const PASSWORD: &str = "charger-secret";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Fixed ports for HTTP and OCPP, so the simulators find the restarted server where they left it.
fn config(http: u16, ocpp: u16, poll: u16) -> String {
    let mut chargers = String::new();
    for n in 1..=CHARGERS {
        let site = if n <= DEPOT_CHARGERS {
            "depot-1"
        } else {
            "depot-2"
        };
        chargers.push_str(&format!(
            "[[ocpp.chargers]]\nid = \"CP-{n:04}\"\npassword = \"{PASSWORD}\"\nsite = \"{site}\"\n"
        ));
    }
    format!(
        r#"
[http]
listen = "127.0.0.1:{http}"
[gbt32960]
listen = "127.0.0.1:0"
[jt808]
listen = "127.0.0.1:0"
[storage]
flush_interval_secs = 3
[ocpp]
listen = "127.0.0.1:{ocpp}"
admission = "registered"
heartbeat_interval_secs = 5
{chargers}
[[sites]]
id = "depot-1"
name = "Bus depot 1"
max_power_kw = {DEPOT_KW}
lon = 117.30
lat = 39.08
district = "120102"
[[sites]]
id = "depot-2"
max_power_kw = 400.0
[tcec]
poll_interval_secs = 2
[[tcec.peers]]
operator_id = "{OPERATOR}"
operator_secret = "{}"
data_secret = "{}"
data_secret_iv = "{}"
sig_secret = "{}"
base_url = "http://127.0.0.1:{poll}/evcs/v1/"
org = "{ORG}"
"#,
        sim::tcec::DEFAULT_OPERATOR_SECRET,
        sim::tcec::DEFAULT_DATA_SECRET,
        sim::tcec::DEFAULT_DATA_SECRET_IV,
        sim::tcec::DEFAULT_SIG_SECRET,
    )
}

/// `GET path` with the admin token; on anything but 200, fails with the server's log.
fn get(server: &Server, path: &str) -> Value {
    let (status, text) = server.get_text(path);
    assert_eq!(status, 200, "GET {path}: {text}\n{}", server.log());
    serde_json::from_str(&text).unwrap()
}

fn rows(server: &Server, sql: &str) -> Vec<Vec<Value>> {
    let r = server.sql(sql);
    r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row.as_array().unwrap().clone())
        .collect()
}

/// The sum of every sample of a metric family whose labels contain `label`.
fn metric_sum(server: &Server, family: &str, label: &str) -> f64 {
    let (_, text) = server.get_text("/metrics");
    text.lines()
        .filter(|l| l.starts_with(family) && l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// T/CEC connector codes as the platform names them.
fn state_name(code: u64) -> &'static str {
    match code {
        0 => "offline",
        1 => "available",
        2 => "occupied",
        3 => "charging",
        4 => "reserved",
        255 => "faulted",
        _ => "unknown",
    }
}

/// Watches the depot's allocations and the live stream's connector events until `stop`.
struct Watcher {
    max_allocated_kw: Mutex<f64>,
    samples: Mutex<u64>,
    connector_events: Mutex<u64>,
    stop: AtomicBool,
}

#[test]
fn an_operator_and_twenty_chargers_lose_nothing_acknowledged_across_kill_9() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let (http, ocpp, poll) = (free_port(), free_port(), free_port());
    let config_path = tmp.path().join("haihe.toml");
    std::fs::write(&config_path, config(http, ocpp, poll)).unwrap();
    let mut server = Server::start_with(data.clone(), config_path.clone());
    assert_eq!(server.ocpp, ocpp);

    let sim = Command::new(env!("CARGO_BIN_EXE_haihe"))
        .args([
            "simulate",
            "--tcec-operator",
            &format!("http://127.0.0.1:{http}/evcs/v1/"),
            "--tcec-listen",
            &format!("127.0.0.1:{poll}"),
            "--stations",
            &STATIONS.to_string(),
            "--tcec-interval",
            "1",
            "--ocpp",
            &format!("ws://127.0.0.1:{ocpp}"),
            "--chargers",
            &CHARGERS.to_string(),
            "--password",
            PASSWORD,
            "--meter-interval",
            "1",
            "--arrival-secs",
            "2",
            "--duration",
            "30",
            "--progress",
            "0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let watcher = Arc::new(Watcher {
        max_allocated_kw: Mutex::new(0.0),
        samples: Mutex::new(0),
        connector_events: Mutex::new(0),
        stop: AtomicBool::new(false),
    });
    let token = server.token.clone();
    let sites = {
        let (w, token) = (Arc::clone(&watcher), token.clone());
        std::thread::spawn(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(5)))
                .build()
                .into();
            while !w.stop.load(Ordering::Relaxed) {
                // Refused while the server is down: that is the kill.
                if let Ok(mut r) = agent
                    .get(format!("http://127.0.0.1:{http}/api/v1/sites"))
                    .header("Authorization", format!("Bearer {token}"))
                    .call()
                    && r.status() == 200
                {
                    let body: Value =
                        serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
                    let depot = body["sites"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|s| s["id"] == "depot-1")
                        .cloned()
                        .unwrap();
                    let kw = depot["allocated_kw"].as_f64().unwrap();
                    let mut max = w.max_allocated_kw.lock().unwrap();
                    *max = max.max(kw);
                    *w.samples.lock().unwrap() += 1;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    let stream = {
        let (w, token) = (Arc::clone(&watcher), token.clone());
        std::thread::spawn(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .timeout_global(Some(Duration::from_secs(12)))
                .build()
                .into();
            let Ok(r) = agent
                .get(format!(
                    "http://127.0.0.1:{http}/api/v1/stream?types=connector&token={token}"
                ))
                .call()
            else {
                return;
            };
            let reader = BufReader::new(r.into_body().into_reader());
            for line in reader.lines() {
                let Ok(line) = line else { break };
                if line == "event: connector" {
                    *w.connector_events.lock().unwrap() += 1;
                }
                if w.stop.load(Ordering::Relaxed) {
                    break;
                }
            }
        })
    };

    // Half-way: kill -9, restart at once on the same ports; the simulators retry what got no
    // answer.
    std::thread::sleep(Duration::from_secs(12));
    server.kill9();
    let server = Server::start_with(data.clone(), config_path.clone());
    let started = Instant::now();
    let out = sim.wait_with_output().unwrap();
    watcher.stop.store(true, Ordering::Relaxed);
    sites.join().unwrap();
    let _ = stream.join();
    assert!(
        out.status.success(),
        "simulate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        started.elapsed() > Duration::from_secs(5),
        "the run outlived the restart"
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();

    // ---- T/CEC 102: stations, statuses, orders (push) and polls ------------------------------
    let t = &summary["tcec"];
    assert_eq!(t["stations"], STATIONS, "{t}");
    assert_eq!(t["station_info"]["delivered"], STATIONS, "{t}");
    assert!(t["status"]["delivered"].as_u64().unwrap() > 0, "{t}");
    let delivered: Vec<&Value> = t["delivered_orders"].as_array().unwrap().iter().collect();
    assert!(!delivered.is_empty(), "no order was delivered: {t}");
    assert_eq!(t["orders"]["refused"], 0, "{t}");

    let stored: HashMap<String, f64> = rows(
        &server,
        &format!(
            "SELECT session_id, energy_kwh FROM charging_sessions WHERE operator_id = '{OPERATOR}'"
        ),
    )
    .into_iter()
    .map(|r| (r[0].as_str().unwrap().to_owned(), r[1].as_f64().unwrap()))
    .collect();
    let stored_count = rows(
        &server,
        &format!("SELECT count(*) FROM charging_sessions WHERE operator_id = '{OPERATOR}'"),
    )[0][0]
        .as_u64()
        .unwrap();
    assert_eq!(stored_count, stored.len() as u64, "an order stored twice");
    for o in &delivered {
        let seq = o["start_charge_seq"].as_str().unwrap();
        let kwh = stored
            .get(seq)
            .unwrap_or_else(|| panic!("acknowledged order {seq} is missing"));
        assert!(
            (kwh - o["total_power"].as_f64().unwrap()).abs() < 1e-6,
            "{seq}: {kwh} kWh stored, {o}"
        );
    }
    let generated = t["orders"]["generated"].as_u64().unwrap();
    assert!(
        stored.len() as u64 <= generated,
        "{} > {generated}",
        stored.len()
    );

    let stations = get(&server, &format!("/api/v1/stations?operator={OPERATOR}"));
    assert_eq!(stations["total"], STATIONS, "{stations}");
    let connectors = get(&server, &format!("/api/v1/connectors?operator={OPERATOR}"));
    assert_eq!(connectors["total"], t["connectors"], "{connectors}");
    // Every connector's last acknowledged state is in its history of changes.
    let history: BTreeSet<(String, String)> = rows(
        &server,
        &format!(
            "SELECT DISTINCT connector_id, status FROM connector_status \
             WHERE operator_id = '{OPERATOR}'"
        ),
    )
    .into_iter()
    .map(|r| {
        (
            r[0].as_str().unwrap().to_owned(),
            r[1].as_str().unwrap().to_owned(),
        )
    })
    .collect();
    let last: &serde_json::Map<String, Value> = t["last_delivered_status"].as_object().unwrap();
    assert!(!last.is_empty());
    for (connector, code) in last {
        let state = state_name(code.as_u64().unwrap()).to_owned();
        assert!(
            history.contains(&(connector.clone(), state.clone())),
            "{connector} was last {state}, not in its history"
        );
    }
    // The platform also polled the operator's simulated platform, with success.
    assert!(
        metric_sum(
            &server,
            "haihe_tcec_polls_total",
            "interface=\"query_station_status\",outcome=\"ok\""
        ) > 0.0,
        "no successful status poll since the restart"
    );
    let poll_requests: u64 = t["poll"]["requests"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert!(poll_requests > 0, "the operator was never polled: {t}");
    assert_eq!(t["poll"]["refused"], 0, "{t}");

    // ---- OCPP: boots and every acknowledged transaction ---------------------------------------
    let o = &summary["ocpp"];
    assert_eq!(o["booted"], CHARGERS as u64, "{o}");
    let mut acknowledged = BTreeMap::new();
    for c in o["per_charger"].as_array().unwrap() {
        for tx in c["transactions"].as_array().unwrap() {
            if tx["stopped_delivered"] == true {
                let id = match &tx["transaction_id"] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let wh = tx["meter_stop"].as_f64().unwrap() - tx["meter_start"].as_f64().unwrap();
                acknowledged.insert(id, wh / 1000.0);
            }
        }
    }
    assert!(!acknowledged.is_empty(), "no OCPP transaction ended: {o}");
    let stored: HashMap<String, Option<f64>> = rows(
        &server,
        "SELECT session_id, energy_kwh FROM charging_sessions WHERE operator_id = 'ocpp'",
    )
    .into_iter()
    .map(|r| (r[0].as_str().unwrap().to_owned(), r[1].as_f64()))
    .collect();
    let stored_count = rows(
        &server,
        "SELECT count(*) FROM charging_sessions WHERE operator_id = 'ocpp'",
    )[0][0]
        .as_u64()
        .unwrap();
    assert_eq!(
        stored_count,
        stored.len() as u64,
        "a transaction stored twice"
    );
    for (id, kwh) in &acknowledged {
        let got = stored
            .get(id)
            .unwrap_or_else(|| panic!("acknowledged transaction {id} is missing"));
        let got = got.unwrap_or_else(|| panic!("transaction {id} has no energy"));
        assert!(
            (got - kwh).abs() < 1e-6,
            "{id}: {got} kWh stored, {kwh} sent"
        );
    }
    let chargers = get(&server, "/api/v1/chargers?operator=ocpp");
    assert_eq!(chargers["total"], CHARGERS as u64, "{chargers}");
    // Each 1.6 charger's connectors are in the state it last reported (all its calls answered).
    let now: HashMap<String, String> = get(&server, "/api/v1/connectors?operator=ocpp")["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["connector_id"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut compared = 0;
    for c in o["per_charger"].as_array().unwrap() {
        if c["version"] != "ocpp1.6" || c["pending"] != 0 {
            continue;
        }
        let id = c["id"].as_str().unwrap();
        for (n, name) in c["statuses"].as_array().unwrap().iter().enumerate() {
            let expected = match name.as_str().unwrap() {
                "Available" => "available",
                "Charging" => "charging",
                "Preparing" | "Finishing" | "SuspendedEV" | "SuspendedEVSE" => "occupied",
                "Reserved" => "reserved",
                "Unavailable" => "unavailable",
                "Faulted" => "faulted",
                other => panic!("unexpected 1.6 status {other}"),
            };
            let connector = format!("{id}-{}", n + 1);
            assert_eq!(
                now.get(&connector).map(String::as_str),
                Some(expected),
                "{connector}"
            );
            compared += 1;
        }
    }
    assert!(compared > 0, "no 1.6 charger to compare");

    // ---- orderly charging: the depot never allocated more than its limit ---------------------
    let max = *watcher.max_allocated_kw.lock().unwrap();
    assert!(*watcher.samples.lock().unwrap() > 10);
    assert!(max <= DEPOT_KW + 1e-9, "depot-1 allocated {max} kW");
    assert!(max > 0.0, "depot-1 never allocated power");
    let profiles: usize = o["per_charger"].as_array().unwrap()[..DEPOT_CHARGERS]
        .iter()
        .map(|c| c["profiles"].as_array().unwrap().len())
        .sum();
    assert!(profiles > 0, "no depot charger got a charging profile");
    assert!(
        *watcher.connector_events.lock().unwrap() > 0,
        "no connector event on the live stream"
    );

    // ---- the API's views ---------------------------------------------------------------------
    // The default window is the last 24 hours, which holds the whole run.
    let sessions = get(&server, "/api/v1/charging-sessions?limit=10000");
    assert_eq!(
        sessions["total"],
        rows(&server, "SELECT count(*) FROM charging_sessions")[0][0],
        "{}",
        sessions["total"]
    );
    let stats = get(&server, "/api/v1/charging/stats?by=operator");
    let groups = stats["groups"].as_array().unwrap();
    for op in [OPERATOR, "ocpp"] {
        let g = groups
            .iter()
            .find(|g| g["key"] == op)
            .unwrap_or_else(|| panic!("no {op} in {stats}"));
        assert!(g["sessions"].as_u64().unwrap() > 0, "{g}");
        assert!(g["energy_kwh"].as_f64().unwrap() > 0.0, "{g}");
        assert!(g["connectors"].as_u64().unwrap() > 0, "{g}");
    }
    let completeness = get(&server, "/api/v1/charging/completeness");
    let op = completeness["operators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["operator_id"] == OPERATOR)
        .cloned()
        .unwrap();
    assert_eq!(op["stations"], STATIONS, "{op}");
    let kpi = get(&server, "/api/v1/kpi");
    assert!(
        kpi["charging"]["chargers"].as_u64().unwrap() >= CHARGERS as u64,
        "{}",
        kpi["charging"]
    );
    let sites = get(&server, "/api/v1/sites");
    let depot = &sites["sites"][0];
    assert_eq!(depot["id"], "depot-1");
    assert_eq!(depot["limit_kw"], DEPOT_KW);

    // ---- an operator's own token sees its stations only ----------------------------------------
    let out = Command::new(env!("CARGO_BIN_EXE_haihe"))
        .args([
            "token",
            "create",
            "--role",
            "org",
            "--org",
            ORG,
            "--data-dir",
        ])
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success());
    let org_token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let get = |path: &str| -> (u16, Value) {
        let mut r = agent
            .get(format!("http://127.0.0.1:{http}{path}"))
            .header("Authorization", format!("Bearer {org_token}"))
            .call()
            .unwrap();
        let status = r.status().as_u16();
        (
            status,
            serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap(),
        )
    };
    let (status, mine) = get("/api/v1/stations");
    assert_eq!(status, 200);
    assert_eq!(mine["total"], STATIONS, "{mine}");
    let (_, mine) = get("/api/v1/connectors");
    assert!(
        mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["operator_id"] == OPERATOR),
        "{mine}"
    );
    let (status, _) = get("/api/v1/sites");
    assert_eq!(status, 403);
}
