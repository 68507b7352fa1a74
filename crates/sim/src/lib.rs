//! Simulated fleets that speak the real protocols over real sockets: a load generator for
//! benchmarks, traffic for `haihe demo`, and the other end of the gateway's system tests.
//!
//! - [`vehicle`]: a deterministic (seeded) battery-electric vehicle that parks, drives along
//!   Tianjin routes ([`routes`]) and charges, with the measurements its terminal would report;
//! - [`fault`]: faults a vehicle can be given (thermal runaway, insulation breakdown, a
//!   drifting cell, a terminal that goes silent), so that tests know who should trip what;
//! - [`gbt32960`]: GB/T 32960 clients, one connection per vehicle (terminal mode) or many
//!   vehicles behind a platform login, with counters, reply tallies and heartbeat latency;
//! - [`roads`] and [`duty`]: a Tianjin road network and the fleet vehicles that work on it
//!   (buses on their lines, taxis between districts, port trucks, delivery and sweeping
//!   rounds), with ignition, odometer and fuel;
//! - [`jt808`]: JT/T 808 terminals (2011, 2013, 2019) for that fleet, one connection each:
//!   registration, authentication, reports, heartbeats, blind-area batches, reconnects, and
//!   the fleet registry CSV;
//! - [`tcec`]: a charging operator's platform over T/CEC 102 — stations, chargers and
//!   connectors across Tianjin's districts going through realistic states, pushing station info,
//!   status changes and finished orders to the platform and answering its polls;
//! - [`ocpp`]: OCPP-J 1.6 and 2.0.1 chargers (boot, status, heartbeats, transactions with meter
//!   values that obey the charging profiles they are sent, remote start/stop, availability,
//!   reconnects that resend what was not answered).
//!
//! The crate prints nothing: progress and the final figures come back as
//! [`gbt32960::Snapshot`]s and [`jt808::Summary`]s.

pub mod duty;
pub mod fault;
pub mod gbt32960;
pub mod jt808;
pub mod ocpp;
pub mod rng;
pub mod roads;
pub mod routes;
pub mod tcec;
pub mod vehicle;

/// Why a simulation could not run.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The server refused the platform login (a wrong username or password, usually); retrying
    /// would only be refused again.
    #[error("platform login refused by the server: response 0x{code:02X} ({label})")]
    PlatformLoginRefused { code: u8, label: &'static str },
    #[error("could not build a frame: {0}")]
    Encode(#[from] proto_gbt32960::EncodeError),
}
