//! System test of real-time safety supervision (issue 4): `haihe simulate` injects faults into a
//! few vehicles of a fleet talking to `haihe serve`; each expected alarm must open within one
//! report period of the fault with the right level, show on the API and on the live stream, and
//! reach a webhook receiver that is down for part of the run — across a `kill -9` of the server.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use common::*;
use hmac::{Hmac, KeyInit, Mac};
use model::Timestamp;
use serde_json::Value;
use sha2::Sha256;

const SECRET: &str = "webhook-secret";
const INTERVAL: f64 = 10.0;
const FAULT_AFTER: f64 = 10.0;

/// A port nothing listens on now (the receiver starts on it later).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What the webhook receiver got: event id → (change, alarm id, body), and every id in arrival
/// order (to see repeats).
#[derive(Default)]
struct Received {
    by_id: BTreeMap<i64, (String, i64, Value)>,
    arrivals: Vec<i64>,
    bad_signatures: usize,
}

/// A minimal HTTP/1.1 receiver that checks each request's signature and answers 200.
fn start_receiver(port: u16, got: Arc<Mutex<Received>>) {
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let got = Arc::clone(&got);
            std::thread::spawn(move || {
                let _ = serve_connection(conn, &got);
            });
        }
    });
}

fn serve_connection(conn: TcpStream, got: &Mutex<Received>) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut conn = conn;
    loop {
        let mut headers = BTreeMap::new();
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
            }
        }
        let len: usize = headers["content-length"].parse().unwrap();
        let mut body = vec![0; len];
        reader.read_exact(&mut body)?;
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(headers["x-haihe-timestamp"].as_bytes());
        mac.update(b".");
        mac.update(&body);
        let want = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        let notice: Value = serde_json::from_slice(&body).unwrap();
        {
            let mut g = got.lock().unwrap();
            if headers.get("x-haihe-signature") != Some(&want) {
                g.bad_signatures += 1;
            }
            let id: i64 = headers["x-haihe-event-id"].parse().unwrap();
            assert_eq!(notice["event_id"], id);
            g.arrivals.push(id);
            g.by_id.insert(
                id,
                (
                    notice["change"].as_str().unwrap().to_owned(),
                    notice["alarm"]["alarm_id"].as_i64().unwrap(),
                    notice,
                ),
            );
        }
        conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")?;
    }
}

/// Reads `GET /api/v1/stream?types=alarm` and keeps every alarm notice.
fn start_stream(http: u16, token: &str, got: Arc<Mutex<Vec<Value>>>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let response = agent
        .get(format!("http://127.0.0.1:{http}/api/v1/stream?types=alarm"))
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    std::thread::spawn(move || {
        let reader = BufReader::new(response.into_body().into_reader());
        let mut event = String::new();
        for line in reader.lines() {
            let Ok(line) = line else { return };
            if let Some(e) = line.strip_prefix("event:") {
                event = e.trim().to_owned();
            } else if let Some(d) = line.strip_prefix("data:")
                && event == "alarm"
            {
                got.lock()
                    .unwrap()
                    .push(serde_json::from_str(d.trim()).unwrap());
            }
        }
    });
}

fn alarms(server: &Server) -> Vec<Value> {
    server.get("/api/v1/alarms?limit=1000")["items"]
        .as_array()
        .unwrap()
        .clone()
}

fn find<'a>(alarms: &'a [Value], vin: &str, kind: &str) -> Option<&'a Value> {
    alarms
        .iter()
        .find(|a| a["entity_id"] == vin && a["kind"] == kind)
}

fn secs_between(from: &Value, to: &Value) -> f64 {
    let a = Timestamp::parse(from.as_str().unwrap())
        .unwrap()
        .as_micros();
    let b = Timestamp::parse(to.as_str().unwrap()).unwrap().as_micros();
    (b - a) as f64 / 1e6
}

#[test]
fn injected_faults_raise_alarms_on_api_stream_and_webhook_across_a_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let hook_port = free_port();
    let extra = format!(
        r#"
[[notify.webhooks]]
name = "duty-desk"
url = "http://127.0.0.1:{hook_port}/alarms"
secret = "{SECRET}"
min_level = 1
max_backoff_secs = 2
"#
    );
    let config = write_config(tmp.path(), &extra);
    let data = tmp.path().join("data");
    let mut server = Server::start_with(data.clone(), config.clone());

    let streamed = Arc::new(Mutex::new(Vec::new()));
    start_stream(server.http, &server.token, Arc::clone(&streamed));

    // Six vehicles of the 2025 edition; the first four get one fault each.
    let sim = std::process::Command::new(env!("CARGO_BIN_EXE_haihe"))
        .args([
            "simulate",
            "--gbt32960",
            &format!("127.0.0.1:{}", server.gbt),
        ])
        .args(["--vehicles", "6", "--interval", &INTERVAL.to_string()])
        .args(["--edition", "2025", "--duration", "58", "--progress", "0"])
        .args(["--faults", "thermal,insulation,cell-drift,offline"])
        .args(["--fault-after", &FAULT_AFTER.to_string()])
        .output()
        .expect("run haihe simulate");
    assert!(
        sim.status.success(),
        "simulate failed: {}",
        String::from_utf8_lossy(&sim.stderr)
    );
    let summary: Value = serde_json::from_slice(&sim.stdout).unwrap();
    let faults: BTreeMap<String, (String, Value)> = summary["faults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["fault"].as_str().unwrap().to_owned(),
                (f["vin"].as_str().unwrap().to_owned(), f["at"].clone()),
            )
        })
        .collect();
    assert_eq!(faults.len(), 4, "{summary}");

    // (fault, alarm kind, level, report periods allowed after the onset)
    let expected = [
        ("thermal", "thermal_event", 4, 1.0),
        ("thermal", "battery_high_temperature", 3, 1.0),
        ("thermal", "temperature_high", 3, 1.0),
        ("insulation", "insulation", 3, 1.0),
        ("insulation", "insulation_low", 3, 1.0),
        ("cell-drift", "cell_voltage_spread", 2, 1.0),
        // Needs three consecutive samples by definition.
        ("cell-drift", "cell_voltage_deviation", 2, 3.0),
    ];
    let listed = poll(60, "every expected alarm on the API", || {
        let a = alarms(&server);
        let all = expected
            .iter()
            .all(|(f, kind, ..)| find(&a, &faults[*f].0, kind).is_some())
            && find(&a, &faults["offline"].0, "offline").is_some();
        all.then_some(a)
    });
    for (fault, kind, level, periods) in expected {
        let (vin, onset) = &faults[fault];
        let a = find(&listed, vin, kind).unwrap();
        assert_eq!(a["level"], level, "{fault}/{kind}: {a}");
        assert_eq!(a["critical"], level >= 3, "{a}");
        let delay = secs_between(onset, &a["opened_at"]);
        assert!(
            // Device times have whole seconds, so a report just after the onset may carry a time
            // up to a second before it.
            (-1.0..=periods * INTERVAL + 0.01).contains(&delay),
            "{fault}/{kind} opened {delay:.2} s after the fault"
        );
    }
    // Offline: detected on the platform clock, three report periods (or the 4 s floor) after the
    // last report, and within one period more.
    let (vin, onset) = &faults["offline"];
    let off = find(&listed, vin, "offline").unwrap();
    assert_eq!(off["level"], 2);
    let delay = secs_between(onset, &off["opened_at"]);
    assert!(
        (3.0 * INTERVAL - INTERVAL..=4.0 * INTERVAL + 1.5).contains(&delay),
        "offline opened {delay:.2} s after the vehicle went silent"
    );
    // Healthy vehicles raise nothing.
    let faulted: BTreeSet<&str> = faults.values().map(|(v, _)| v.as_str()).collect();
    let strays: Vec<_> = listed
        .iter()
        .filter(|a| !faulted.contains(a["entity_id"].as_str().unwrap()))
        .collect();
    assert!(strays.is_empty(), "alarms on healthy vehicles: {strays:?}");

    assert_eq!(
        server.metric("haihe_alarm_changes_total{change=\"opened\"}"),
        listed.len() as f64
    );

    // The same alarms arrived on the live stream as they opened.
    let opened_on_stream: BTreeSet<i64> = streamed
        .lock()
        .unwrap()
        .iter()
        .filter(|n| n["change"] == "opened")
        .map(|n| n["alarm"]["alarm_id"].as_i64().unwrap())
        .collect();
    for a in &listed {
        assert!(
            opened_on_stream.contains(&a["alarm_id"].as_i64().unwrap()),
            "not streamed: {a}"
        );
    }

    // Acknowledge the thermal event; a second acknowledgement is a conflict.
    let thermal = find(&listed, &faults["thermal"].0, "thermal_event").unwrap();
    let id = thermal["alarm_id"].as_i64().unwrap();
    let (status, body) = server.post_json(
        &format!("/api/v1/alarms/{id}/ack"),
        &serde_json::json!({"comment": "fire brigade informed"}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "acknowledged");
    assert_eq!(body["ack_comment"], "fire brigade informed");
    let (status, _) = server.post_json(&format!("/api/v1/alarms/{id}/ack"), &Value::Null);
    assert_eq!(status, 409);
    let critical = server.get("/api/v1/alarms?min_level=3&state=open&limit=1000");
    assert!(
        critical["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["level"].as_u64().unwrap() >= 3)
    );

    // The receiver has been down all along. Crash the server, start it again, and only then
    // bring the receiver up: every change must still arrive, once.
    let before_crash = alarms(&server);
    server.kill9();
    let server = Server::start_with(data, config);
    let got = Arc::new(Mutex::new(Received::default()));
    start_receiver(hook_port, Arc::clone(&got));

    let after = alarms(&server);
    let open_after = after.iter().filter(|a| a["closed_at"].is_null()).count();
    assert_eq!(server.metric("haihe_alarms_open"), open_after as f64);
    assert_eq!(
        after.iter().map(|a| &a["alarm_id"]).collect::<Vec<_>>(),
        before_crash
            .iter()
            .map(|a| &a["alarm_id"])
            .collect::<Vec<_>>(),
        "the restart changed the alarm list"
    );
    let mut want: BTreeSet<(i64, String)> = BTreeSet::new();
    for a in &after {
        let id = a["alarm_id"].as_i64().unwrap();
        want.insert((id, "opened".into()));
        if !a["acked_at"].is_null() {
            want.insert((id, "acknowledged".into()));
        }
        if !a["closed_at"].is_null() {
            want.insert((id, "closed".into()));
        }
    }
    let delivered = poll(90, "every alarm change at the webhook", || {
        let g = got.lock().unwrap();
        let have: BTreeSet<(i64, String)> = g
            .by_id
            .values()
            .map(|(change, id, _)| (*id, change.clone()))
            .collect();
        want.is_subset(&have)
            .then(|| (g.arrivals.clone(), g.bad_signatures))
    });
    let (arrivals, bad_signatures) = delivered;
    assert_eq!(bad_signatures, 0);
    let unique: BTreeSet<_> = arrivals.iter().collect();
    assert_eq!(
        unique.len(),
        arrivals.len(),
        "repeated deliveries: {arrivals:?}"
    );
    assert!(
        arrivals.windows(2).all(|w| w[0] < w[1]),
        "out of order: {arrivals:?}"
    );
    let delivered = server
        .metric("haihe_webhook_deliveries_total{webhook=\"duty-desk\",outcome=\"delivered\"}");
    assert!(delivered >= want.len() as f64, "{delivered}");
}
