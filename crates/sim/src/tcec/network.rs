//! The operator's charging network: stations spread over Tianjin's districts, their chargers
//! and connectors, the time-of-use tariff, and the life of each connector (free, a vehicle
//! plugs in, charges for 20–90 minutes, leaves; now and then a fault or a lost link).
//!
//! Everything here is a function of the seed and of the simulated clock handed in; the caller
//! decides how fast that clock runs and what to do with the changes.

use std::collections::BTreeMap;

use model::{BEIJING_OFFSET_SECS, CivilTime, Timestamp};
use proto_tcec::codes::{
    ConnectorStatus, ConnectorType, Construction, EquipmentType, NationalStandard, ParkStatus,
    StationStatus, StationType, StopReason,
};
use proto_tcec::model::{
    ChargeDetail, ChargeOrderInfo, ConnectorInfo, ConnectorStatusInfo, EquipmentInfo, StationInfo,
};

use crate::rng::Rng;

/// Tianjin's districts: GB/T 2260 code, name, and a point near the district's centre (GCJ-02,
/// read off a map; stations are scattered within a few kilometres of it).
pub const DISTRICTS: [(&str, &str, f64, f64); 16] = [
    ("120101", "和平区", 117.2150, 39.1170),
    ("120102", "河东区", 117.2510, 39.1280),
    ("120103", "河西区", 117.2230, 39.1010),
    ("120104", "南开区", 117.1500, 39.1380),
    ("120105", "河北区", 117.1970, 39.1480),
    ("120106", "红桥区", 117.1510, 39.1670),
    ("120110", "东丽区", 117.3140, 39.0870),
    ("120111", "西青区", 117.0080, 39.1410),
    ("120112", "津南区", 117.3570, 38.9380),
    ("120113", "北辰区", 117.1350, 39.2240),
    ("120114", "武清区", 117.0440, 39.3840),
    ("120115", "宝坻区", 117.3090, 39.7170),
    ("120116", "滨海新区", 117.7100, 39.0030),
    ("120117", "宁河区", 117.8260, 39.3300),
    ("120118", "静海区", 116.9740, 38.9470),
    ("120119", "蓟州区", 117.4080, 40.0460),
];

/// Where stations are built, with the street names that go with them.
const SITES: [(&str, Construction, StationType); 8] = [
    ("公交枢纽站", Construction::TransportHub, StationType::Bus),
    (
        "购物中心停车场",
        Construction::BuildingParking,
        StationType::Public,
    ),
    ("小区充电站", Construction::Residential, StationType::Public),
    (
        "产业园充电站",
        Construction::IndustrialPark,
        StationType::Public,
    ),
    (
        "写字楼地下车库",
        Construction::OfficeBuilding,
        StationType::Public,
    ),
    (
        "出租车充电站",
        Construction::TransportHub,
        StationType::Taxi,
    ),
    (
        "物流园充电站",
        Construction::IndustrialPark,
        StationType::Logistics,
    ),
    (
        "路边充电点",
        Construction::RoadsideParking,
        StationType::Public,
    ),
];

const ROADS: [&str; 10] = [
    "南京路",
    "卫津路",
    "复康路",
    "友谊路",
    "黑牛城道",
    "津塘路",
    "中山路",
    "红旗路",
    "海河东路",
    "快速路",
];

/// The kind of a charger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChargerKind {
    Dc120,
    Dc60,
    Ac7,
}

impl ChargerKind {
    /// Rated power, kW.
    pub fn power_kw(self) -> f64 {
        match self {
            Self::Dc120 => 120.0,
            Self::Dc60 => 60.0,
            Self::Ac7 => 7.0,
        }
    }

    fn model(self) -> &'static str {
        match self {
            Self::Dc120 => "TCDZ-DC120-2G",
            Self::Dc60 => "TCDZ-DC60-2G",
            Self::Ac7 => "TCDZ-AC7-2G",
        }
    }

    fn equipment_type(self) -> EquipmentType {
        match self {
            Self::Ac7 => EquipmentType::Ac,
            _ => EquipmentType::Dc,
        }
    }
}

/// One connector and where it is in its life.
#[derive(Debug, Clone)]
pub struct Connector {
    pub id: String,
    pub equipment_id: String,
    pub station: usize,
    pub kind: ChargerKind,
    pub status: ConnectorStatus,
    /// Simulated time of the next change.
    pub next_change: Timestamp,
    pub session: Option<Session>,
    /// Energy delivered by finished sessions, kWh, by the Beijing date they ended on (for
    /// `query_station_stats`).
    pub energy_by_day: BTreeMap<String, f64>,
}

/// A vehicle on a connector.
#[derive(Debug, Clone)]
pub struct Session {
    pub start_charge_seq: String,
    pub start: Timestamp,
    pub end: Timestamp,
    /// kW.
    pub power: f64,
    pub soc_start: f64,
    pub battery_kwh: f64,
    pub stop_reason: StopReason,
}

/// The static description of the network and the live connectors.
#[derive(Debug, Clone)]
pub struct Network {
    pub operator_id: String,
    pub stations: Vec<StationInfo>,
    pub connectors: Vec<Connector>,
    rng: Rng,
    orders: u64,
}

/// What changed on one step.
#[derive(Debug, Clone)]
pub enum Change {
    Status(ConnectorStatusInfo),
    Order(ChargeOrderInfo),
}

fn minutes(n: f64) -> i64 {
    (n * 60_000_000.0) as i64
}

fn add(t: Timestamp, micros: i64) -> Timestamp {
    Timestamp::from_micros(t.as_micros() + micros)
}

/// `yyyy-MM-dd HH:mm:ss` in Beijing time, as T/CEC payloads write times.
pub fn format_time(t: Timestamp) -> String {
    let c = t.to_civil(BEIJING_OFFSET_SECS);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// `yyyy-MM-dd` in Beijing time.
pub fn format_date(t: Timestamp) -> String {
    let c = t.to_civil(BEIJING_OFFSET_SECS);
    format!("{:04}-{:02}-{:02}", c.year, c.month, c.day)
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The time-of-use energy price (CNY/kWh) at an hour of the Beijing day, after the shape of
/// Tianjin's commercial tariff: valley 23–7, peak 10–15 and 18–21, flat otherwise.
pub fn elec_price(hour: u8) -> f64 {
    match hour {
        23 | 0..=6 => 0.35,
        10..=14 | 18..=20 => 1.10,
        _ => 0.70,
    }
}

/// The service fee, CNY/kWh.
pub const SERVICE_PRICE: f64 = 0.80;

/// The start of the next tariff period after `t` (periods change on whole hours).
fn next_period(t: Timestamp) -> Timestamp {
    let c = t.to_civil(BEIJING_OFFSET_SECS);
    let price = elec_price(c.hour);
    let mut hour_start = CivilTime {
        minute: 0,
        second: 0,
        ..c
    }
    .to_timestamp(BEIJING_OFFSET_SECS)
    .unwrap_or(t);
    loop {
        hour_start = Timestamp::from_secs(hour_start.as_secs() + 3600);
        let h = hour_start.to_civil(BEIJING_OFFSET_SECS).hour;
        if elec_price(h) != price {
            return hour_start;
        }
    }
}

/// The order of a finished session: energy spread evenly over its time and split by tariff
/// period, each period's figures rounded to cents and hundredths of a kWh, and the totals the
/// sums of the rounded details so that they add up.
pub fn order(connector_id: &str, s: &Session) -> ChargeOrderInfo {
    let total_us = (s.end.as_micros() - s.start.as_micros()).max(1) as f64;
    let energy = s.power * total_us / 3_600_000_000.0;
    let mut details = Vec::new();
    let mut from = s.start;
    while from.as_micros() < s.end.as_micros() && details.len() < 32 {
        let to = Timestamp::from_micros(next_period(from).as_micros().min(s.end.as_micros()));
        let share = (to.as_micros() - from.as_micros()) as f64 / total_us;
        let kwh = round2(energy * share);
        let price = elec_price(from.to_civil(BEIJING_OFFSET_SECS).hour);
        details.push(ChargeDetail {
            detail_start_time: format_time(from),
            detail_end_time: format_time(to),
            elec_price: Some(price),
            sevice_price: Some(SERVICE_PRICE),
            detail_power: Some(kwh),
            detail_elec_money: Some(round2(kwh * price)),
            detail_sevice_money: Some(round2(kwh * SERVICE_PRICE)),
        });
        from = to;
    }
    let sum = |f: fn(&ChargeDetail) -> Option<f64>| round2(details.iter().filter_map(f).sum());
    let elec = sum(|d| d.detail_elec_money);
    let service = sum(|d| d.detail_sevice_money);
    ChargeOrderInfo {
        start_charge_seq: s.start_charge_seq.clone(),
        connector_id: connector_id.to_owned(),
        start_time: format_time(s.start),
        end_time: format_time(s.end),
        total_power: Some(sum(|d| d.detail_power)),
        total_elec_money: Some(elec),
        total_sevice_money: Some(service),
        total_money: Some(round2(elec + service)),
        stop_reason: Some(s.stop_reason),
        sum_period: Some(details.len() as u8),
        charge_details: details,
    }
}

impl Network {
    /// `stations` stations of `operator_id`, the same for the same seed. Connectors start
    /// free at simulated time `now`, their first change spread over the next half hour.
    pub fn new(operator_id: &str, stations: usize, seed: u64, now: Timestamp) -> Self {
        let mut rng = Rng::derive(seed, 0x7CEC);
        let mut infos = Vec::with_capacity(stations);
        let mut connectors = Vec::new();
        for n in 0..stations {
            let (area, district, lng, lat) = DISTRICTS[rng.below(DISTRICTS.len())];
            let (site, construction, station_type) = SITES[rng.below(SITES.len())];
            let road = ROADS[rng.below(ROADS.len())];
            let station_id = format!("{area}{:04}", n + 1);
            let lng = lng + rng.range(-0.03, 0.03);
            let lat = lat + rng.range(-0.025, 0.025);
            let chargers = 2 + rng.below(4);
            // Commissioned over 2023–2026: a month in 0..46 from January 2023.
            let month = rng.below(46) as u32;
            let (year, mon) = (2023 + month / 12, month % 12 + 1);
            let mut equipment = Vec::with_capacity(chargers);
            for e in 0..chargers {
                let kind = match (station_type, rng.below(10)) {
                    (StationType::Bus | StationType::Logistics, _) => ChargerKind::Dc120,
                    (_, 0..=2) => ChargerKind::Dc120,
                    (_, 3..=6) => ChargerKind::Dc60,
                    _ => ChargerKind::Ac7,
                };
                let equipment_id = format!("{station_id}{:02}", e + 1);
                let mut infos_c = Vec::with_capacity(2);
                for c in 0..2 {
                    let connector_id = format!("{equipment_id}{}", c + 1);
                    let dc = kind != ChargerKind::Ac7;
                    infos_c.push(ConnectorInfo {
                        connector_id: connector_id.clone(),
                        connector_name: Some(format!("{}号桩{}枪", e + 1, c + 1)),
                        connector_type: Some(if dc {
                            ConnectorType::DcPlug
                        } else {
                            ConnectorType::AcPlug
                        }),
                        voltage_upper_limits: Some(if dc { 750.0 } else { 220.0 }),
                        voltage_lower_limits: Some(if dc { 200.0 } else { 220.0 }),
                        current: Some(match kind {
                            ChargerKind::Dc120 => 250.0,
                            ChargerKind::Dc60 => 125.0,
                            ChargerKind::Ac7 => 32.0,
                        }),
                        power: Some(kind.power_kw()),
                        park_no: Some(format!("{:03}", e * 2 + c + 1)),
                        national_standard: Some(NationalStandard::Gbt2015),
                    });
                    connectors.push(Connector {
                        id: connector_id,
                        equipment_id: equipment_id.clone(),
                        station: n,
                        kind,
                        status: ConnectorStatus::Idle,
                        next_change: add(now, minutes(rng.range(0.0, 30.0))),
                        session: None,
                        energy_by_day: BTreeMap::new(),
                    });
                }
                equipment.push(EquipmentInfo {
                    equipment_id,
                    manufacturer_id: Some("MA05TJDZ1".to_owned()),
                    manufacturer_name: Some("天津电桩科技".to_owned()),
                    equipment_model: Some(kind.model().to_owned()),
                    production_date: Some(format!("{year:04}-{mon:02}-{:02}", 1 + rng.below(28))),
                    equipment_type: Some(kind.equipment_type()),
                    connector_infos: infos_c,
                    equipment_lng: Some(round6(lng + rng.range(-0.0003, 0.0003))),
                    equipment_lat: Some(round6(lat + rng.range(-0.0003, 0.0003))),
                    power: Some(kind.power_kw()),
                    equipment_name: Some(format!("{}号桩", e + 1)),
                });
            }
            infos.push(StationInfo {
                station_id,
                operator_id: Some(operator_id.to_owned()),
                equipment_owner_id: Some(operator_id.to_owned()),
                station_name: Some(format!("{district}{road}{site}")),
                country_code: Some("CN".to_owned()),
                area_code: Some(area.to_owned()),
                address: Some(format!("天津市{district}{road}{}号", 1 + rng.below(300))),
                station_tel: Some(format!("022-{}", 23_000_000 + rng.below(6_000_000))),
                service_tel: Some("400-022-0000".to_owned()),
                station_type: Some(station_type),
                station_status: Some(StationStatus::InUse),
                park_nums: Some((chargers * 2) as u32),
                station_lng: Some(round6(lng)),
                station_lat: Some(round6(lat)),
                site_guide: Some(format!("{road}沿线，入口有充电标识")),
                construction: Some(construction),
                pictures: Vec::new(),
                match_cars: Some("所有车型".to_owned()),
                park_info: None,
                busine_hours: Some("00:00-24:00".to_owned()),
                electricity_fee: Some(
                    "谷0.35元/度(23-7时) 平0.70元/度 峰1.10元/度(10-15,18-21时)".to_owned(),
                ),
                service_fee: Some("0.80元/度".to_owned()),
                park_fee: Some("充电期间免费停车2小时".to_owned()),
                payment: Some("线上".to_owned()),
                support_order: Some(0),
                remark: Some(format!("{year:04}-{mon:02}投运")),
                oprator_type: None,
                equipment_infos: equipment,
            });
        }
        Self {
            operator_id: operator_id.to_owned(),
            stations: infos,
            connectors,
            rng,
            orders: 0,
        }
    }

    /// The status record of connector `i`, as pushed and polled.
    pub fn status_info(&self, i: usize, now: Timestamp) -> ConnectorStatusInfo {
        let c = &self.connectors[i];
        let occupied = matches!(
            c.status,
            ConnectorStatus::OccupiedNotCharging | ConnectorStatus::Charging
        );
        let charging = c.status == ConnectorStatus::Charging;
        let (current, voltage, soc) = match (&c.session, charging) {
            (Some(s), true) => {
                let voltage = if c.kind == ChargerKind::Ac7 {
                    220.0
                } else {
                    400.0
                };
                let hours = (now.as_micros() - s.start.as_micros()).max(0) as f64 / 3.6e9;
                let soc = (s.soc_start + 100.0 * s.power * hours / s.battery_kwh).min(100.0);
                (
                    Some(round2(s.power * 1000.0 / voltage)),
                    Some(voltage),
                    Some(soc.round()),
                )
            }
            _ => (None, None, None),
        };
        ConnectorStatusInfo {
            connector_id: c.id.clone(),
            equipment_id: Some(c.equipment_id.clone()),
            status: c.status,
            park_status: Some(if occupied {
                ParkStatus::Occupied
            } else {
                ParkStatus::Free
            }),
            lock_status: None,
            current_a: current,
            current_b: None,
            current_c: None,
            voltage_a: voltage,
            voltage_b: None,
            voltage_c: None,
            soc,
        }
    }

    /// Advances every connector whose change is due by `now`; returns what changed, in order.
    pub fn step(&mut self, now: Timestamp) -> Vec<Change> {
        let mut out = Vec::new();
        for i in 0..self.connectors.len() {
            // A connector may change more than once if the clock jumped far.
            let mut guard = 0;
            while self.connectors[i].next_change.as_micros() <= now.as_micros() && guard < 8 {
                guard += 1;
                let at = self.connectors[i].next_change;
                if let Some(order) = self.advance(i, at) {
                    out.push(Change::Order(order));
                }
                out.push(Change::Status(self.status_info(i, at)));
            }
        }
        out
    }

    fn next_seq(&mut self, at: Timestamp) -> String {
        self.orders += 1;
        let c = at.to_civil(BEIJING_OFFSET_SECS);
        // OperatorID + 18 characters: 27 for a 9-character operator id.
        format!(
            "{}{:04}{:02}{:02}{:02}{:02}{:02}{:04}",
            self.operator_id,
            c.year,
            c.month,
            c.day,
            c.hour,
            c.minute,
            c.second,
            self.orders % 10_000
        )
    }

    /// One change of connector `i` at `at`; the order, when a session ends.
    fn advance(&mut self, i: usize, at: Timestamp) -> Option<ChargeOrderInfo> {
        let status = self.connectors[i].status;
        let kind = self.connectors[i].kind;
        let mut order_out = None;
        let (next, wait_min) = match status {
            ConnectorStatus::Idle => {
                let r = self.rng.unit();
                if r < 0.02 {
                    (ConnectorStatus::Fault, self.rng.range(10.0, 60.0))
                } else if r < 0.03 {
                    (ConnectorStatus::Offline, self.rng.range(5.0, 30.0))
                } else {
                    // A vehicle arrives and plugs in; charging starts within minutes.
                    (
                        ConnectorStatus::OccupiedNotCharging,
                        self.rng.range(1.0, 4.0),
                    )
                }
            }
            ConnectorStatus::OccupiedNotCharging if self.connectors[i].session.is_none() => {
                let minutes_long = self.rng.range(20.0, 90.0);
                let vehicle_max = match kind {
                    ChargerKind::Ac7 => self.rng.range(3.3, 7.0),
                    _ => self.rng.range(40.0, 150.0),
                };
                let power = round2(vehicle_max.min(kind.power_kw()) * self.rng.range(0.85, 0.98));
                let battery = self.rng.range(45.0, 90.0);
                let soc_start = self.rng.range(10.0, 50.0);
                // The battery may fill first: the BMS ends the session.
                let room_kwh = battery * (95.0 - soc_start) / 100.0;
                let full_after = room_kwh / power * 60.0;
                let (length, stop_reason) = if full_after < minutes_long {
                    (full_after.max(1.0), StopReason::Bms)
                } else if self.rng.chance(0.05) {
                    (minutes_long, StopReason::ChargerFault)
                } else {
                    (minutes_long, StopReason::User)
                };
                let seq = self.next_seq(at);
                self.connectors[i].session = Some(Session {
                    start_charge_seq: seq,
                    start: at,
                    end: add(at, minutes(length)),
                    power,
                    soc_start,
                    battery_kwh: battery,
                    stop_reason,
                });
                (ConnectorStatus::Charging, length)
            }
            ConnectorStatus::Charging => {
                let c = &mut self.connectors[i];
                if let Some(s) = &mut c.session {
                    s.end = at;
                    let o = order(&c.id, s);
                    *c.energy_by_day.entry(format_date(at)).or_default() +=
                        o.total_power.unwrap_or(0.0);
                    order_out = Some(o);
                }
                // The driver unplugs and leaves a few minutes later.
                (
                    ConnectorStatus::OccupiedNotCharging,
                    self.rng.range(1.0, 8.0),
                )
            }
            // After the session (or a fault, or a lost link) the connector is free again.
            _ => {
                let wait = self.rng.range(5.0, 60.0);
                self.connectors[i].session = None;
                (ConnectorStatus::Idle, wait)
            }
        };
        let c = &mut self.connectors[i];
        c.status = next;
        c.next_change = add(at, minutes(wait_min));
        order_out
    }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp::from_secs(1_795_766_400); // 2026-11-27 16:00 Beijing

    #[test]
    fn same_seed_same_network() {
        let a = Network::new("MA01H3BQ2", 10, 7, T0);
        let b = Network::new("MA01H3BQ2", 10, 7, T0);
        assert_eq!(a.stations, b.stations);
        assert_eq!(a.connectors.len(), b.connectors.len());
        for s in &a.stations {
            assert!(s.area_code.as_deref().unwrap().starts_with("1201"));
            assert!(s.station_id.len() <= 20);
            let lat = s.station_lat.unwrap();
            assert!((38.5..40.3).contains(&lat), "{lat}");
            for e in &s.equipment_infos {
                assert_eq!(e.connector_infos.len(), 2);
                let year: u32 = e.production_date.as_deref().unwrap()[..4].parse().unwrap();
                assert!((2023..=2026).contains(&year));
            }
        }
    }

    #[test]
    fn sessions_produce_consistent_orders() {
        let mut n = Network::new("MA01H3BQ2", 5, 3, T0);
        let mut orders = Vec::new();
        let mut t = T0;
        for _ in 0..24 * 12 {
            t = add(t, minutes(5.0));
            for c in n.step(t) {
                if let Change::Order(o) = c {
                    orders.push(o);
                }
            }
        }
        assert!(orders.len() > 10, "{}", orders.len());
        for o in &orders {
            assert_eq!(o.start_charge_seq.len(), 27, "{}", o.start_charge_seq);
            let details: f64 = o.charge_details.iter().filter_map(|d| d.detail_power).sum();
            assert!((details - o.total_power.unwrap()).abs() < 0.001);
            assert_eq!(o.sum_period, Some(o.charge_details.len() as u8));
            let money = o.total_elec_money.unwrap() + o.total_sevice_money.unwrap();
            assert!((money - o.total_money.unwrap()).abs() < 0.001);
            assert!(o.total_power.unwrap() > 0.0);
            assert!(o.start_time < o.end_time);
        }
    }

    #[test]
    fn tariff_periods_split_details() {
        // 22:30 to 23:30 Beijing: a flat half hour and a valley half hour.
        let start = CivilTime {
            year: 2026,
            month: 11,
            day: 27,
            hour: 22,
            minute: 30,
            second: 0,
        }
        .to_timestamp(BEIJING_OFFSET_SECS)
        .unwrap();
        let s = Session {
            start_charge_seq: "x".into(),
            start,
            end: add(start, minutes(60.0)),
            power: 60.0,
            soc_start: 20.0,
            battery_kwh: 80.0,
            stop_reason: StopReason::User,
        };
        let o = order("c", &s);
        assert_eq!(o.charge_details.len(), 2);
        assert_eq!(o.charge_details[0].detail_end_time, "2026-11-27 23:00:00");
        assert_eq!(o.charge_details[0].elec_price, Some(0.70));
        assert_eq!(o.charge_details[1].elec_price, Some(0.35));
        assert_eq!(o.total_power, Some(60.0));
        assert_eq!(
            o.total_money,
            Some(round2(30.0 * 0.7 + 30.0 * 0.35 + 60.0 * 0.8))
        );
    }
}
