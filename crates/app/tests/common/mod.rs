//! Shared harness of the system tests: spawn the real `haihe serve`, learn its ports from
//! `ports.json`, talk GB/T 32960 over TCP and JSON over HTTP.

#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use proto_gbt32960::*;

pub const PLATFORM_USER: &str = "carmaker-a";
pub const PLATFORM_PASS: &str = "change-me";

/// Polls `f` until it returns `Some` or `secs` pass.
pub fn poll<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub struct Server {
    pub dir: PathBuf,
    pub config: PathBuf,
    pub child: Child,
    pub http: u16,
    pub gbt: u16,
    /// The JT/T 808 port (0 if the server did not report one).
    pub jt808: u16,
    /// The OCPP port (0 if the server did not report one).
    pub ocpp: u16,
    pub token: String,
}

pub fn write_config(dir: &Path, extra: &str) -> PathBuf {
    let config = dir.join("haihe.toml");
    // Every listener on a free port, so that tests can run side by side.
    let jt808 = if extra.contains("[jt808]") {
        ""
    } else {
        "[jt808]\nlisten = \"127.0.0.1:0\"\n"
    };
    let ocpp = if extra.contains("[ocpp]") {
        ""
    } else {
        "[ocpp]\nlisten = \"127.0.0.1:0\"\n"
    };
    let text = format!(
        r#"
[http]
listen = "127.0.0.1:0"
[gbt32960]
listen = "127.0.0.1:0"
terminals = "open"
[[gbt32960.platforms]]
username = "{PLATFORM_USER}"
password = "{PLATFORM_PASS}"
org = "carmaker-a"
vin_prefixes = ["LA9"]
{jt808}{ocpp}{extra}
"#
    );
    std::fs::write(&config, text).unwrap();
    config
}

impl Server {
    /// Starts a server on a new data directory inside `dir`.
    pub fn start(dir: &Path, extra_config: &str) -> Self {
        let config = write_config(dir, extra_config);
        Self::start_with(dir.join("data"), config)
    }

    /// Starts (or restarts) a server on `data` with `config`.
    pub fn start_with(data: PathBuf, config: PathBuf) -> Self {
        let _ = std::fs::remove_file(data.join("ports.json"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(data.with_extension("log"))
            .unwrap();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_haihe"))
            .args(["serve", "--config"])
            .arg(&config)
            .arg("--data-dir")
            .arg(&data)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn haihe serve");
        let mut server = Self {
            dir: data.clone(),
            config,
            child,
            http: 0,
            gbt: 0,
            jt808: 0,
            ocpp: 0,
            token: String::new(),
        };
        let ports: serde_json::Value = poll(120, "ports.json", || {
            if let Ok(Some(status)) = server.child.try_wait() {
                let log = std::fs::read_to_string(data.with_extension("log")).unwrap_or_default();
                panic!("haihe serve exited with {status}:\n{log}");
            }
            let text = std::fs::read_to_string(data.join("ports.json")).ok()?;
            serde_json::from_str(&text).ok()
        });
        server.http = ports["http"].as_u64().unwrap() as u16;
        server.gbt = ports["gbt32960"].as_u64().unwrap() as u16;
        server.jt808 = ports["jt808"].as_u64().unwrap_or(0) as u16;
        server.ocpp = ports["ocpp"].as_u64().unwrap_or(0) as u16;
        server.token = std::fs::read_to_string(data.join("admin.token"))
            .unwrap()
            .trim()
            .to_owned();
        poll(60, "healthz", || {
            (server.get_status("/healthz") == 200).then_some(())
        });
        server
    }

    /// A handle that can query this server's HTTP API from another thread.
    pub fn probe(&self) -> Probe {
        Probe {
            http: self.http,
            token: self.token.clone(),
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.with_extension("log")).unwrap_or_default()
    }

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into()
    }

    pub fn get_status(&self, path: &str) -> u16 {
        Self::agent()
            .get(format!("http://127.0.0.1:{}{path}", self.http))
            .call()
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    }

    pub fn get_text(&self, path: &str) -> (u16, String) {
        let mut r = Self::agent()
            .get(format!("http://127.0.0.1:{}{path}", self.http))
            .header("Authorization", format!("Bearer {}", self.token))
            .call()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.body_mut().read_to_string().unwrap())
    }

    pub fn get(&self, path: &str) -> serde_json::Value {
        let (status, text) = self.get_text(path);
        assert_eq!(status, 200, "GET {path}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    pub fn sql(&self, sql: &str) -> serde_json::Value {
        let (status, body) = self.post_json("/api/v1/sql", &serde_json::json!({ "sql": sql }));
        assert_eq!(status, 200, "SQL {sql}: {body}");
        body
    }

    /// POSTs `body` as JSON with the admin token; the status and the JSON answer (`null` when
    /// the answer is not JSON).
    pub fn post_json(&self, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        let mut r = Self::agent()
            .post(format!("http://127.0.0.1:{}{path}", self.http))
            .header("Authorization", format!("Bearer {}", self.token))
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .unwrap();
        let status = r.status().as_u16();
        let text = r.body_mut().read_to_string().unwrap();
        (status, serde_json::from_str(&text).unwrap_or_default())
    }

    /// The value of one Prometheus sample line that starts with `prefix` (name and labels).
    pub fn metric(&self, prefix: &str) -> f64 {
        self.probe().metric(prefix)
    }

    pub fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM and wait: a clean stop.
    pub fn stop(&mut self) {
        let _ = std::process::Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = poll(60, "server to stop", || {
            self.child.try_wait().ok().flatten()
        });
    }

    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

/// The HTTP side of a server, for watcher threads.
pub struct Probe {
    http: u16,
    token: String,
}

impl Probe {
    /// The value of one Prometheus sample line that starts with `prefix` (name and labels).
    pub fn metric(&self, prefix: &str) -> f64 {
        let Ok(mut r) = Server::agent()
            .get(format!("http://127.0.0.1:{}/metrics", self.http))
            .header("Authorization", format!("Bearer {}", self.token))
            .call()
        else {
            return 0.0;
        };
        let text = r.body_mut().read_to_string().unwrap_or_default();
        text.lines()
            .find(|l| l.starts_with(prefix) && l[prefix.len()..].starts_with([' ', '{']))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A GB/T 32960 client over a blocking socket.
pub struct Client {
    pub stream: TcpStream,
    framer: Framer,
}

impl Client {
    pub fn connect(port: u16) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        Self {
            stream,
            framer: Framer::new(),
        }
    }

    pub fn send(&mut self, frame: &Frame) {
        self.stream.write_all(&frame.encode().unwrap()).unwrap();
    }

    pub fn send_bytes(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// The next reply, or `None` when the server closed the connection.
    pub fn recv(&mut self) -> Option<Frame> {
        let mut buf = [0u8; 4096];
        loop {
            if let Some(f) = self.framer.next_frame() {
                return Some(decode(&f.unwrap()).unwrap());
            }
            match self.stream.read(&mut buf) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.framer.push(&buf[..n]),
            }
        }
    }
}

pub fn header(command: Command, id: &str) -> Header {
    Header {
        edition: Edition::V2016,
        command,
        response: Response::COMMAND,
        vin: FixedStr::new(id),
        encryption: Encryption(1),
    }
}

pub fn t(secs: u32) -> Time {
    // 2026-11-27 08:00:00 Beijing + secs (within the day).
    Time([
        26,
        11,
        27,
        8 + (secs / 3600) as u8,
        (secs / 60 % 60) as u8,
        (secs % 60) as u8,
    ])
}

pub fn login(vin: &str, seq: u16) -> Frame {
    Frame {
        header: header(Command::VEHICLE_LOGIN, vin),
        body: Body::VehicleLogin2016(VehicleLogin2016 {
            time: t(0),
            seq,
            iccid: FixedStr::new("89860000000000000001"),
            subsystem_count: 1,
            code_len: 0,
            codes: vec![],
        }),
    }
}

pub fn platform_login(user: &str, pass: &str) -> Frame {
    Frame {
        header: header(Command::PLATFORM_LOGIN, "PLATFORM000000001"),
        body: Body::PlatformLogin(PlatformLogin {
            time: t(0),
            seq: 1,
            username: FixedStr::new(user),
            password: FixedStr::new(pass),
            encryption: Encryption(1),
        }),
    }
}

pub fn heartbeat(id: &str) -> Frame {
    Frame {
        header: header(Command::HEARTBEAT, id),
        body: Body::Empty,
    }
}

/// Realtime report number `n` of a vehicle: values that differ per report.
pub fn report(vin: &str, n: u32) -> Frame {
    let f = f64::from(n);
    let cells = List::Items(
        (0..12)
            .map(|i| CellV::from_value(3.6 + f64::from(i) * 0.001 + f * 0.0001))
            .collect(),
    );
    let probes = List::Items(
        (0..4)
            .map(|i| TempC::from_value(20.0 + f64::from(i)))
            .collect(),
    );
    let blocks = vec![
        Block2016::Vehicle(Vehicle2016 {
            vehicle_state: VehicleState(1),
            charging_state: ChargingState(3),
            run_mode: RunMode(1),
            speed_kmh: Scaled::from_value(30.0 + f * 0.5),
            odometer_km: Scaled::from_value(1000.0 + f * 0.1),
            total_voltage_v: Scaled::from_value(350.0),
            total_current_a: Scaled::from_value(-12.5),
            soc_pct: Num8::from_value(80.0 - f64::from(n % 50)),
            dcdc_state: DcdcState(1),
            gear: Gear(0x2E),
            insulation_kohm: Scaled::from_value(5000.0),
            accelerator_pct: Num8::from_value(10.0),
            brake_pct: Brake(0),
        }),
        Block2016::Position(Position {
            status: 0,
            lon: Scaled::from_value(117.2 + f * 0.0001),
            lat: Scaled::from_value(39.08 + f * 0.0001),
        }),
        Block2016::CellVoltages(CellVoltages2016 {
            subsystems: List::Items(vec![SubsystemVoltages2016 {
                no: 1,
                voltage_v: Scaled::from_value(350.0),
                current_a: Scaled::from_value(-12.5),
                total_cells: Num16::from_value(12.0),
                start_index: Num16::from_value(1.0),
                cells_v: cells,
            }]),
        }),
        Block2016::ProbeTemperatures(ProbeTemperatures2016 {
            subsystems: List::Items(vec![ProbeGroup {
                no: 1,
                probes_c: probes,
            }]),
        }),
    ];
    Frame {
        header: header(Command::REALTIME, vin),
        body: Body::Report(Report::V2016(Report2016 { time: t(n), blocks })),
    }
}
