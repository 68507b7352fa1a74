//! The TOML configuration of DESIGN.md §5, with every key overridable by `HAIHE_SECTION__KEY`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Config {
    #[serde(default = "default_data_dir")]
    pub(crate) data_dir: PathBuf,
    #[serde(default)]
    pub(crate) http: Http,
    #[serde(default)]
    pub(crate) gbt32960: Gbt32960,
    #[serde(default)]
    pub(crate) jt808: Jt808,
    #[serde(default)]
    pub(crate) storage: Storage,
    #[serde(default)]
    pub(crate) live: Live,
    /// Thresholds of the derived alarm rules (`[rules]`); every key has a default.
    #[serde(default)]
    pub(crate) rules: rules::RulesConfig,
    #[serde(default)]
    pub(crate) notify: Notify,
    #[serde(default)]
    pub(crate) ocpp: Ocpp,
    #[serde(default)]
    pub(crate) tcec: Tcec,
    /// Orderly charging: sites with a power limit (`[[sites]]`).
    #[serde(default)]
    pub(crate) sites: Vec<Site>,
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("./haihe-data")
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Http {
    pub(crate) listen: String,
}

impl Default for Http {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TerminalPolicy {
    Open,
    Registered,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Gbt32960 {
    #[serde(default = "default_gbt_listen")]
    pub(crate) listen: String,
    #[serde(default = "default_terminals")]
    pub(crate) terminals: TerminalPolicy,
    #[serde(default)]
    pub(crate) ack_realtime: bool,
    #[serde(default)]
    pub(crate) platforms: Vec<Platform>,
    #[serde(default = "default_max_connections")]
    pub(crate) max_connections: usize,
    #[serde(default = "default_idle_timeout")]
    pub(crate) idle_timeout_secs: u64,
}

fn default_gbt_listen() -> String {
    "0.0.0.0:32960".into()
}
fn default_terminals() -> TerminalPolicy {
    TerminalPolicy::Open
}
fn default_max_connections() -> usize {
    200_000
}
fn default_idle_timeout() -> u64 {
    300
}

impl Default for Gbt32960 {
    fn default() -> Self {
        Self {
            listen: default_gbt_listen(),
            terminals: default_terminals(),
            ack_realtime: false,
            platforms: Vec::new(),
            max_connections: default_max_connections(),
            idle_timeout_secs: default_idle_timeout(),
        }
    }
}

/// `[jt808]`: the JT/T 808 gateway for fleet terminals.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Jt808 {
    #[serde(default = "default_jt808_listen")]
    pub(crate) listen: String,
    /// `registered` (default): only terminals in the fleet registry may register.
    #[serde(default = "default_jt808_terminals")]
    pub(crate) terminals: TerminalPolicy,
    /// Terminal models (as they name themselves in 0x0100) whose frames are accepted with a bad
    /// checksum or body length. Off for every model unless listed.
    #[serde(default)]
    pub(crate) lenient_models: Vec<String>,
    #[serde(default = "default_max_connections")]
    pub(crate) max_connections: usize,
    #[serde(default = "default_idle_timeout")]
    pub(crate) idle_timeout_secs: u64,
}

fn default_jt808_listen() -> String {
    "0.0.0.0:6808".into()
}
fn default_jt808_terminals() -> TerminalPolicy {
    TerminalPolicy::Registered
}

impl Default for Jt808 {
    fn default() -> Self {
        Self {
            listen: default_jt808_listen(),
            terminals: default_jt808_terminals(),
            lenient_models: Vec::new(),
            max_connections: default_max_connections(),
            idle_timeout_secs: default_idle_timeout(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Platform {
    pub(crate) username: String,
    pub(crate) password: String,
    pub(crate) org: String,
    #[serde(default)]
    pub(crate) vin_prefixes: Vec<String>,
    #[serde(default)]
    pub(crate) vins: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Storage {
    #[serde(default = "default_flush")]
    pub(crate) flush_interval_secs: u64,
    #[serde(default = "default_retention")]
    pub(crate) retention_days: u32,
    /// Bytes buffered in memory before a flush is forced.
    #[serde(default = "default_flush_bytes")]
    pub(crate) flush_bytes: usize,
    /// Bytes of records between the gateway and the store before gateways stop reading.
    #[serde(default = "default_in_flight")]
    pub(crate) max_in_flight_bytes: usize,
}

fn default_flush() -> u64 {
    60
}
fn default_retention() -> u32 {
    1095
}
fn default_flush_bytes() -> usize {
    256 << 20
}
fn default_in_flight() -> usize {
    64 << 20
}

impl Default for Storage {
    fn default() -> Self {
        Self {
            flush_interval_secs: default_flush(),
            retention_days: default_retention(),
            flush_bytes: default_flush_bytes(),
            max_in_flight_bytes: default_in_flight(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Live {
    #[serde(default = "default_offline")]
    pub(crate) offline_after_secs: u64,
}

fn default_offline() -> u64 {
    90
}

impl Default for Live {
    fn default() -> Self {
        Self {
            offline_after_secs: default_offline(),
        }
    }
}

/// `[notify]`: where alarm changes are sent.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Notify {
    #[serde(default)]
    pub(crate) webhooks: Vec<Webhook>,
}

/// `[[notify.webhooks]]`: an HTTP endpoint that receives every change of every alarm of at least
/// `min_level`, signed with `secret`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Webhook {
    /// Names the delivery position kept in the catalog; renaming a webhook starts it afresh.
    pub(crate) name: String,
    /// `http://host:port/path`.
    pub(crate) url: String,
    /// Key of the HMAC-SHA256 signature in `X-Haihe-Signature`.
    pub(crate) secret: String,
    #[serde(default = "default_min_level")]
    pub(crate) min_level: u8,
    #[serde(default = "default_webhook_timeout")]
    pub(crate) timeout_secs: u64,
    /// The longest wait between retries while the receiver is down.
    #[serde(default = "default_max_backoff")]
    pub(crate) max_backoff_secs: u64,
}

fn default_min_level() -> u8 {
    1
}
fn default_webhook_timeout() -> u64 {
    10
}
fn default_max_backoff() -> u64 {
    60
}

impl Config {
    /// Reads `file` (if given), applies `HAIHE_*` environment overrides, then `data_dir_flag`.
    pub(crate) fn load(file: Option<&Path>, data_dir_flag: Option<&Path>) -> anyhow::Result<Self> {
        let text = match file {
            Some(p) => std::fs::read_to_string(p)
                .with_context(|| format!("reading config {}", p.display()))?,
            None => String::new(),
        };
        let mut table: toml::Table = toml::from_str(&text).with_context(|| {
            format!(
                "parsing config {}",
                file.map_or("".into(), |p| p.display().to_string())
            )
        })?;
        apply_env(&mut table, std::env::vars())?;
        let mut cfg: Self = table.try_into().context("invalid configuration")?;
        if let Some(d) = data_dir_flag {
            cfg.data_dir = d.to_path_buf();
        }
        Ok(cfg)
    }
}

/// `HAIHE_SECTION__KEY=value` sets `[section] key`; `HAIHE_KEY` a top-level key. Values that parse
/// as TOML (numbers, booleans, arrays) keep their type; anything else is a string.
fn apply_env(
    table: &mut toml::Table,
    vars: impl Iterator<Item = (String, String)>,
) -> anyhow::Result<()> {
    for (name, value) in vars {
        let Some(path) = name.strip_prefix("HAIHE_") else {
            continue;
        };
        let parts: Vec<String> = path.split("__").map(str::to_ascii_lowercase).collect();
        if parts.iter().any(String::is_empty) || parts.len() > 2 {
            anyhow::bail!("environment variable {name}: expected HAIHE_SECTION__KEY or HAIHE_KEY");
        }
        let parsed = toml::from_str::<toml::Table>(&format!("v = {value}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or(toml::Value::String(value));
        let (section, key) = match parts.as_slice() {
            [key] => (None, key.clone()),
            [section, key] => (Some(section.clone()), key.clone()),
            _ => unreachable!("checked above"),
        };
        let target = match section {
            None => &mut *table,
            Some(s) => table
                .entry(s.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                .as_table_mut()
                .with_context(|| format!("environment variable {name}: [{s}] is not a section"))?,
        };
        target.insert(key, parsed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn design_example_parses_and_env_overrides_win() {
        let text = r#"
data_dir = "./haihe-data"
[http]
listen = "127.0.0.1:8080"
[gbt32960]
listen = "0.0.0.0:32960"
terminals = "open"
ack_realtime = false
[[gbt32960.platforms]]
username = "carmaker-a"
password = "change-me"
org = "carmaker-a"
vin_prefixes = ["LA9"]
[jt808]
listen = "0.0.0.0:6808"
[storage]
flush_interval_secs = 60
retention_days = 1095
[live]
offline_after_secs = 90
[rules]
temp_max_c = 58.0
[[notify.webhooks]]
name = "duty-desk"
url = "http://127.0.0.1:9999/alarms"
secret = "s3cret"
min_level = 3
"#;
        let mut table: toml::Table = toml::from_str(text).unwrap();
        let env = [
            ("HAIHE_HTTP__LISTEN", "127.0.0.1:0"),
            ("HAIHE_GBT32960__ACK_REALTIME", "true"),
            ("HAIHE_STORAGE__FLUSH_INTERVAL_SECS", "5"),
            ("HAIHE_DATA_DIR", "/tmp/x"),
            ("PATH", "/bin"),
        ];
        apply_env(
            &mut table,
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
        .unwrap();
        let cfg: Config = table.try_into().unwrap();
        assert_eq!(cfg.http.listen, "127.0.0.1:0");
        assert!(cfg.gbt32960.ack_realtime);
        assert_eq!(cfg.storage.flush_interval_secs, 5);
        assert_eq!(cfg.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(cfg.gbt32960.platforms[0].vin_prefixes, ["LA9"]);
        assert_eq!(cfg.jt808.listen, "0.0.0.0:6808");
        assert_eq!(cfg.jt808.terminals, TerminalPolicy::Registered);
        assert_eq!(cfg.live.offline_after_secs, 90);
        assert_eq!(cfg.rules.temp_max_c, 58.0);
        assert_eq!(
            cfg.rules.clear_after_samples,
            rules::RulesConfig::default().clear_after_samples
        );
        let hook = &cfg.notify.webhooks[0];
        assert_eq!(
            (hook.name.as_str(), hook.min_level, hook.timeout_secs),
            ("duty-desk", 3, 10)
        );
    }

    #[test]
    fn mistakes_are_clear_errors() {
        let mut t: toml::Table = toml::from_str("[gbt32960]\nterminals = \"maybe\"").unwrap();
        apply_env(&mut t, std::iter::empty()).unwrap();
        let err = t.try_into::<Config>().unwrap_err().to_string();
        assert!(err.contains("maybe"), "{err}");
        let mut t = toml::Table::new();
        let bad = apply_env(
            &mut t,
            std::iter::once(("HAIHE_A__B__C".to_string(), "1".to_string())),
        );
        assert!(bad.is_err());
        let t: toml::Table = toml::from_str("[http]\nlisten = \"x\"\nlisen = \"y\"").unwrap();
        assert!(
            t.try_into::<Config>()
                .unwrap_err()
                .to_string()
                .contains("lisen")
        );
    }
}

/// `[ocpp]`: the CSMS for the city's own chargers (OCPP-J 1.6 and 2.0.1).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Ocpp {
    #[serde(default = "default_ocpp_listen")]
    pub(crate) listen: String,
    /// `registered` (default): only chargers listed in `[[ocpp.chargers]]` may connect, with their
    /// password (security profile 1); `open`: any id may connect without a password.
    /// (DESIGN.md's example names this key `chargers`, which TOML cannot hold beside the
    /// `[[ocpp.chargers]]` list.)
    #[serde(default = "default_ocpp_chargers")]
    pub(crate) admission: TerminalPolicy,
    #[serde(default)]
    pub(crate) chargers: Vec<OcppCharger>,
    /// Security profile 2: serve `wss://` with this certificate chain and key (PEM files).
    #[serde(default)]
    pub(crate) tls_cert: Option<PathBuf>,
    #[serde(default)]
    pub(crate) tls_key: Option<PathBuf>,
    /// Seconds between heartbeats asked of chargers in the BootNotification answer.
    #[serde(default = "default_heartbeat")]
    pub(crate) heartbeat_interval_secs: u32,
    /// Seconds the CSMS waits for a charger to answer one of its calls.
    #[serde(default = "default_call_timeout")]
    pub(crate) call_timeout_secs: u32,
}

fn default_ocpp_listen() -> String {
    "0.0.0.0:9000".into()
}
fn default_ocpp_chargers() -> TerminalPolicy {
    TerminalPolicy::Registered
}
fn default_heartbeat() -> u32 {
    300
}
fn default_call_timeout() -> u32 {
    30
}

impl Default for Ocpp {
    fn default() -> Self {
        Self {
            listen: default_ocpp_listen(),
            admission: default_ocpp_chargers(),
            chargers: Vec::new(),
            tls_cert: None,
            tls_key: None,
            heartbeat_interval_secs: default_heartbeat(),
            call_timeout_secs: default_call_timeout(),
        }
    }
}

/// `[[ocpp.chargers]]`: one charger the city runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OcppCharger {
    pub(crate) id: String,
    /// Basic-auth password (security profile 1 and 2).
    #[serde(default)]
    pub(crate) password: Option<String>,
    /// The site (station) the charger belongs to; `[[sites]]` may give it a power limit.
    #[serde(default)]
    pub(crate) site: Option<String>,
    /// Orderly charging: a higher priority gets its share first (default 0).
    #[serde(default)]
    pub(crate) priority: i32,
}

/// `[[sites]]`: a station or depot with a power limit shared among its OCPP chargers' sessions,
/// and its time-of-use tariff.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Site {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) name: Option<String>,
    pub(crate) max_power_kw: f64,
    #[serde(default)]
    pub(crate) lon: Option<f64>,
    #[serde(default)]
    pub(crate) lat: Option<f64>,
    #[serde(default)]
    pub(crate) district: Option<String>,
    /// Time-of-use periods (Beijing time), e.g. `{ from = "08:00", to = "11:00", price = 1.2,
    /// max_power_kw = 40.0 }`: the price per kWh and, optionally, a lower limit in that period.
    #[serde(default)]
    pub(crate) tariff: Vec<TariffPeriod>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TariffPeriod {
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) price: f64,
    #[serde(default)]
    pub(crate) max_power_kw: Option<f64>,
}

/// `[tcec]`: charging operators' platforms connected over T/CEC 102.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Tcec {
    /// This platform's own OperatorID (what it sends when it polls operators); default
    /// `HAIHE0001`.
    #[serde(default)]
    pub(crate) operator_id: Option<String>,
    #[serde(default)]
    pub(crate) peers: Vec<TcecPeer>,
    /// Seconds between polls of each operator (status; station info every 10th round).
    #[serde(default)]
    pub(crate) poll_interval_secs: Option<u64>,
}

/// `[[tcec.peers]]`: one operator platform with the secrets exchanged with it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TcecPeer {
    pub(crate) operator_id: String,
    pub(crate) operator_secret: String,
    pub(crate) data_secret: String,
    pub(crate) data_secret_iv: String,
    pub(crate) sig_secret: String,
    /// Where Haihe polls (`query_token`, `query_stations_info`, …); empty: push only.
    #[serde(default)]
    pub(crate) base_url: Option<String>,
    /// The organisation whose tokens may see this operator's stations.
    #[serde(default)]
    pub(crate) org: Option<String>,
}
