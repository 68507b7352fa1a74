//! Timelines of connector states and sessions, with the figures expected from them.

use super::*;

const H: i64 = 3600;
const T0: i64 = 1_790_000_000;

fn at(hours: f64) -> Timestamp {
    Timestamp::from_micros((T0 as f64 * 1e6 + hours * H as f64 * 1e6) as i64)
}

fn station(op: &str, id: &str, district: &str) -> Station {
    Station {
        operator_id: op.into(),
        station_id: id.into(),
        name: format!("station {id}"),
        lon: None,
        lat: None,
        district: Some(district.into()),
        connectors: 2,
        rated_power_kw: 120.0,
        source: "tcec".into(),
    }
}

fn status(op: &str, st: &str, conn: &str, hours: f64, s: ConnectorState) -> ConnectorStatus {
    ConnectorStatus {
        operator_id: op.into(),
        station_id: st.into(),
        equipment_id: String::new(),
        connector_id: conn.into(),
        ts: at(hours),
        received_at: at(hours),
        status: s,
        raw_status: String::new(),
        source: "tcec".into(),
        power_kw: None,
        soc_pct: None,
    }
}

fn session(op: &str, st: &str, conn: &str, start: f64, end: f64, kwh: f64) -> ChargingSession {
    ChargingSession {
        session_id: format!("{conn}-{start}"),
        operator_id: op.into(),
        station_id: st.into(),
        equipment_id: String::new(),
        connector_id: conn.into(),
        start_ts: at(start),
        end_ts: at(end),
        received_at: at(end),
        energy_kwh: Some(kwh),
        fee_total: None,
        stop_reason: None,
        id_tag: None,
        source: "tcec".into(),
    }
}

use ConnectorState::{Available, Charging, Faulted, Offline};

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[test]
fn utilisation_availability_and_faults_follow_the_timeline() {
    let stations = [station("OP1", "S1", "120101")];
    // Period: 0 h .. 6 h. Available since before the period; charging 1–3 h; faulted 3–4 h.
    let changes = [
        status("OP1", "S1", "C1", -1.0, Available),
        status("OP1", "S1", "C1", 1.0, Charging),
        status("OP1", "S1", "C1", 3.0, Faulted),
        status("OP1", "S1", "C1", 4.0, Available),
    ];
    let latest = [status("OP1", "S1", "C1", 5.5, Available)];
    let rows = ChargingRows {
        stations: &stations,
        latest: &latest,
        changes: &changes,
        sessions: &[],
    };
    let got = charging_stats(&rows, at(0.0), at(6.0), GroupBy::Station);
    assert_eq!(got.len(), 1);
    let g = &got[0];
    assert_eq!(g.key, "OP1/S1");
    assert_eq!(g.name.as_deref(), Some("station S1"));
    assert_eq!(g.connectors, 1);
    assert!((g.observed_hours - 6.0).abs() < 1e-9);
    assert!(close(g.utilisation, 2.0 / 6.0), "{g:?}");
    assert!(close(g.availability, 5.0 / 6.0), "{g:?}");
    assert_eq!(g.faults, 1);
    assert_eq!(g.sessions, 0);
    assert_eq!(g.avg_power_kw, None);
}

#[test]
fn time_before_the_first_change_is_unknown_unless_nothing_changed() {
    let stations = [station("OP1", "S1", "120101")];
    let changes = [status("OP1", "S1", "C1", 2.0, Charging)];
    // C2 never changed: its latest state held all along.
    let latest = [
        status("OP1", "S1", "C1", 2.0, Charging),
        status("OP1", "S1", "C2", 3.0, Offline),
    ];
    let rows = ChargingRows {
        stations: &stations,
        latest: &latest,
        changes: &changes,
        sessions: &[],
    };
    let g = &charging_stats(&rows, at(0.0), at(4.0), GroupBy::Station)[0];
    // C1: 2 h known (charging); C2: 4 h known (offline).
    assert!((g.observed_hours - 6.0).abs() < 1e-9, "{g:?}");
    assert!(close(g.utilisation, 2.0 / 6.0), "{g:?}");
    assert!(close(g.availability, 2.0 / 6.0), "{g:?}");
}

#[test]
fn sessions_give_energy_count_and_average_power_per_group() {
    let stations = [
        station("OP1", "S1", "120101"),
        station("OP1", "S2", "120102"),
        station("OP2", "S9", "120101"),
    ];
    let latest = [
        status("OP1", "S1", "C1", -5.0, Available),
        status("OP1", "S2", "C2", -5.0, Available),
        status("OP2", "S9", "C9", -5.0, Available),
    ];
    let sessions = [
        session("OP1", "S1", "C1", 0.0, 1.0, 30.0),
        // No station id in the order: the connector says where it is.
        session("OP1", "", "C1", 2.0, 2.5, 10.0),
        session("OP1", "S2", "C2", 1.0, 3.0, 40.0),
        session("OP2", "S9", "C9", 1.0, 2.0, 7.0),
    ];
    let rows = ChargingRows {
        stations: &stations,
        latest: &latest,
        changes: &[],
        sessions: &sessions,
    };
    let by_station = charging_stats(&rows, at(0.0), at(6.0), GroupBy::Station);
    let s1 = by_station.iter().find(|g| g.key == "OP1/S1").unwrap();
    assert_eq!(s1.sessions, 2);
    assert!((s1.energy_kwh - 40.0).abs() < 1e-9);
    assert!(close(s1.avg_power_kw, 40.0 / 1.5), "{s1:?}");
    assert_eq!(s1.utilisation, Some(0.0));
    assert_eq!(s1.availability, Some(1.0));

    let by_district = charging_stats(&rows, at(0.0), at(6.0), GroupBy::District);
    let keys: Vec<_> = by_district.iter().map(|g| g.key.as_str()).collect();
    assert_eq!(keys, ["120101", "120102"]);
    assert_eq!(by_district[0].sessions, 3);
    assert_eq!(by_district[0].connectors, 2);
    assert!((by_district[0].energy_kwh - 47.0).abs() < 1e-9);

    let by_operator = charging_stats(&rows, at(0.0), at(6.0), GroupBy::Operator);
    let keys: Vec<_> = by_operator.iter().map(|g| g.key.as_str()).collect();
    assert_eq!(keys, ["OP1", "OP2"]);
    assert_eq!(by_operator[0].sessions, 3);
    assert!((by_operator[0].energy_kwh - 80.0).abs() < 1e-9);
    assert!(close(by_operator[1].avg_power_kw, 7.0));
    for g in GroupBy::ALL {
        assert_eq!(GroupBy::parse(g.as_str()), Some(g));
    }
}

#[test]
fn completeness_counts_stale_connectors_and_orders_never_pushed() {
    let stations = [
        station("OP1", "S1", "120101"),
        station("OP1", "S2", "120101"),
    ];
    let changes = [
        status("OP1", "S1", "C1", 0.5, Charging),
        status("OP1", "S1", "C1", 1.0, Available),
        status("OP1", "S1", "C1", 2.0, Charging),
        status("OP1", "S1", "C1", 3.0, Available),
    ];
    let latest = [
        status("OP1", "S1", "C1", 3.0, Available),
        status("OP1", "S1", "C3", 0.1, Available),
    ];
    let sessions = [session("OP1", "S1", "C1", 0.5, 1.0, 5.0)];
    let rows = ChargingRows {
        stations: &stations,
        latest: &latest,
        changes: &changes,
        sessions: &sessions,
    };
    let got = completeness(&rows, at(0.0), at(4.0), at(1.0));
    assert_eq!(got.len(), 1);
    let c = &got[0];
    assert_eq!(c.operator_id, "OP1");
    assert_eq!(c.stations, 2);
    assert_eq!(c.connectors, 2);
    assert_eq!(c.stale_connectors, 1, "C3 was last heard before the limit");
    assert_eq!(c.stations_without_status, 1, "S2");
    assert_eq!(c.charging_spells, 2);
    assert_eq!(c.sessions, 1);
    assert_eq!(c.missing_orders, 1);
    assert_eq!(c.last_status_at, Some(at(3.0)));
}
