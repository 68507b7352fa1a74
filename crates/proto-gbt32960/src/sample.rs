//! Realtime and reissue reports as `model::VehicleSample`: physical units, the column names of
//! `vehicle_samples`, sentinels as NULL plus a quality bit.

use model::{Motor, Timestamp, VehicleSample, Vin, quality as q};

use crate::frame::{Body, Command, Edition, Frame};
use crate::report::{Block2016, Block2025, Position, Report};
use crate::value::{CellV, Quality, RawInt, Scaled, TempC};

/// The sample a realtime (0x02) or reissue (0x03) command carries; `None` for any other frame,
/// for a reply, or when the identifier is not a usable VIN.
pub fn to_sample(frame: &Frame, received_at: Timestamp) -> Option<VehicleSample> {
    let h = &frame.header;
    let reissue = match h.command {
        Command::REALTIME => false,
        Command::REISSUE => true,
        _ => return None,
    };
    let Body::Report(report) = &frame.body else {
        return None;
    };
    if !h.response.is_command() {
        return None;
    }
    let vin = Vin::from_field(&h.vin.0).ok()?;
    let mut s = Builder::new(vin, received_at, h.edition, reissue);
    match report.time().timestamp() {
        Some(ts) => s.row.ts = ts,
        None => s.row.quality |= q::DEVICE_TIME,
    }
    match report {
        Report::V2016(r) => r.blocks.iter().for_each(|b| s.block_2016(b)),
        Report::V2025(r) => r.blocks.iter().for_each(|b| s.block_2025(b)),
    }
    Some(s.finish())
}

struct Builder {
    row: VehicleSample,
    /// Extremes reported by the vehicle (2016 0x06) take precedence over the ones we compute.
    reported_extremes: bool,
}

impl Builder {
    fn new(vin: Vin, received_at: Timestamp, edition: Edition, reissue: bool) -> Self {
        let source = match edition {
            Edition::V2016 => "gbt32960-2016",
            Edition::V2025 => "gbt32960-2025",
        };
        let row = VehicleSample::new(vin, received_at, received_at, source, reissue);
        Self {
            row,
            reported_extremes: false,
        }
    }

    fn value<T: RawInt, const O: i64, const D: u32, const S: bool>(
        &mut self,
        v: Scaled<T, O, D, S>,
        bit: u64,
    ) -> Option<f64> {
        if v.quality() != Quality::Valid {
            self.row.quality |= bit;
        }
        v.get()
    }

    fn code(&mut self, name: Option<&'static str>, raw: u8, bit: u64) -> Option<String> {
        if raw >= 0xFE {
            self.row.quality |= bit;
            return None;
        }
        Some(name.map_or_else(|| format!("0x{raw:02X}"), str::to_owned))
    }

    fn gear(&mut self, g: crate::value::Gear) {
        if g.is_valid() {
            self.row.gear = Some(g.position().to_owned());
        } else {
            self.row.quality |= q::GEAR;
        }
    }

    fn position(&mut self, p: &Position, coord_system: &str) {
        self.row.position_valid = Some(p.is_valid());
        self.row.coord_system = Some(coord_system.to_owned());
        // A terminal that never had a fix sends 0/0 with the invalid flag: that is no position,
        // not a point in the Gulf of Guinea.
        if !p.is_valid() && p.lon.0 == 0 && p.lat.0 == 0 {
            self.row.quality |= q::POSITION;
            return;
        }
        self.row.lon = self.value(p.lon, q::POSITION).and(p.lon_deg());
        self.row.lat = self.value(p.lat, q::POSITION).and(p.lat_deg());
    }

    fn cells(&mut self, cells: &[CellV]) {
        for &c in cells {
            let v = self.value(c, q::CELL_VOLTAGES);
            self.row.cell_voltages_v.push(v);
        }
    }

    fn probes(&mut self, probes: &[TempC]) {
        for &t in probes {
            let v = self.value(t, q::PROBE_TEMPS);
            self.row.probe_temps_c.push(v);
        }
    }

    fn alarm(&mut self, level: crate::value::Num8, flags: u32) {
        self.row.alarm_level = self.value(level, q::ALARM).map(|l| l as u8);
        self.row.alarm_flags = Some(flags);
    }

    fn block_2016(&mut self, b: &Block2016) {
        match b {
            Block2016::Vehicle(v) => {
                self.row.vehicle_status = self.code(
                    v.vehicle_state.value_name(),
                    v.vehicle_state.0,
                    q::VEHICLE_STATUS,
                );
                self.row.charging_status = self.code(
                    v.charging_state.value_name(),
                    v.charging_state.0,
                    q::CHARGING_STATUS,
                );
                self.row.run_mode = self.code(v.run_mode.value_name(), v.run_mode.0, q::RUN_MODE);
                self.row.speed_kmh = self.value(v.speed_kmh, q::SPEED);
                self.row.odometer_km = self.value(v.odometer_km, q::ODOMETER);
                self.row.total_voltage_v = self.value(v.total_voltage_v, q::TOTAL_VOLTAGE);
                self.row.total_current_a = self.value(v.total_current_a, q::TOTAL_CURRENT);
                self.row.soc_pct = self.value(v.soc_pct, q::SOC);
                self.row.insulation_kohm = self.value(v.insulation_kohm, q::INSULATION);
                self.gear(v.gear);
                if v.dcdc_state.is_sentinel()
                    || v.accelerator_pct.get().is_none()
                    || v.brake_pct.0 >= 0xFE
                {
                    self.row.quality |= q::OTHER;
                }
            }
            Block2016::Motors(m) => {
                self.row.motors.clear();
                for m in m.motors.items() {
                    let motor = Motor {
                        no: self.value(m.no, q::MOTORS).map(|n| n as u8),
                        state: self.code(m.state.value_name(), m.state.0, q::MOTORS),
                        controller_temp_c: self.value(m.controller_temp_c, q::MOTORS),
                        speed_rpm: self.value(m.speed_rpm, q::MOTORS),
                        torque_nm: self.value(m.torque_nm, q::MOTORS),
                        temp_c: self.value(m.temp_c, q::MOTORS),
                        controller_voltage_v: self.value(m.controller_voltage_v, q::MOTORS),
                        controller_current_a: self.value(m.controller_current_a, q::MOTORS),
                    };
                    self.row.motors.push(motor);
                }
            }
            // 2016 names no coordinate system; GNSS receivers report WGS-84, and the 2025
            // edition's explicit field exists because some platforms had sent GCJ-02 instead.
            // 2016 names no coordinate system; GNSS receivers report WGS-84 (the 2025 edition
            // added the field because some senders used GCJ-02).
            Block2016::Position(p) => self.position(p, "wgs84"),
            Block2016::Extremes(e) => {
                self.reported_extremes = true;
                self.row.max_cell_voltage_v = self.value(e.max_cell_voltage_v, q::MAX_CELL_VOLTAGE);
                self.row.min_cell_voltage_v = self.value(e.min_cell_voltage_v, q::MIN_CELL_VOLTAGE);
                self.row.max_temp_c = self.value(e.max_temp_c, q::MAX_TEMP);
                self.row.min_temp_c = self.value(e.min_temp_c, q::MIN_TEMP);
            }
            Block2016::Alarm(a) => self.alarm(a.max_level, a.flags.0),
            Block2016::CellVoltages(c) => {
                self.row.cell_voltages_v.clear();
                for s in c.subsystems.items() {
                    self.cells(s.cells_v.items());
                }
            }
            Block2016::ProbeTemperatures(t) => {
                self.row.probe_temps_c.clear();
                for s in t.subsystems.items() {
                    self.probes(s.probes_c.items());
                }
            }
            Block2016::Unknown(_) => self.row.quality |= q::TRUNCATED,
            Block2016::FuelCell(_) | Block2016::Engine(_) | Block2016::UserDefined(_) => {}
        }
    }

    fn block_2025(&mut self, b: &Block2025) {
        match b {
            Block2025::Vehicle(v) => {
                self.row.vehicle_status = self.code(
                    v.vehicle_state.value_name(),
                    v.vehicle_state.0,
                    q::VEHICLE_STATUS,
                );
                self.row.charging_status = self.code(
                    v.charging_state.value_name(),
                    v.charging_state.0,
                    q::CHARGING_STATUS,
                );
                self.row.run_mode = self.code(v.run_mode.value_name(), v.run_mode.0, q::RUN_MODE);
                self.row.speed_kmh = self.value(v.speed_kmh, q::SPEED);
                self.row.odometer_km = self.value(v.odometer_km, q::ODOMETER);
                self.row.total_voltage_v = self.value(v.total_voltage_v, q::TOTAL_VOLTAGE);
                self.row.total_current_a = self.value(v.total_current_a, q::TOTAL_CURRENT);
                self.row.soc_pct = self.value(v.soc_pct, q::SOC);
                self.row.insulation_kohm = self.value(v.insulation_kohm, q::INSULATION);
                self.gear(v.gear);
                if v.dcdc_state.is_sentinel() {
                    self.row.quality |= q::OTHER;
                }
            }
            Block2025::Motors(m) => {
                self.row.motors.clear();
                for m in m.motors.items() {
                    let motor = Motor {
                        no: self.value(m.no, q::MOTORS).map(|n| n as u8),
                        state: self.code(m.state.value_name(), m.state.0, q::MOTORS),
                        controller_temp_c: self.value(m.controller_temp_c, q::MOTORS),
                        speed_rpm: self.value(m.speed_rpm, q::MOTORS),
                        torque_nm: self.value(m.torque_nm, q::MOTORS),
                        temp_c: self.value(m.temp_c, q::MOTORS),
                        controller_voltage_v: None,
                        controller_current_a: None,
                    };
                    self.row.motors.push(motor);
                }
            }
            Block2025::Position(p) => {
                let cs = p.coord_system.value_name().unwrap_or("other");
                self.position(&p.position, cs);
            }
            Block2025::Alarm(a) => self.alarm(a.max_level, a.flags.0),
            Block2025::PackVoltages(p) => {
                self.row.cell_voltages_v.clear();
                for pack in p.packs.items() {
                    self.cells(pack.cells_v.items());
                }
            }
            Block2025::PackTemperatures(t) => {
                self.row.probe_temps_c.clear();
                for pack in t.packs.items() {
                    self.probes(pack.probes_c.items());
                }
            }
            Block2025::Unknown(_) => self.row.quality |= q::TRUNCATED,
            Block2025::FuelCell(_)
            | Block2025::Engine(_)
            | Block2025::FuelCellStacks(_)
            | Block2025::SuperCapacitor(_)
            | Block2025::SuperCapacitorExtremes(_)
            | Block2025::UserDefined(_) => {}
        }
    }

    fn finish(mut self) -> VehicleSample {
        if !self.reported_extremes {
            // 2025 dropped the extremes block; the lists hold the same information.
            let (lo, hi) = min_max(&self.row.cell_voltages_v);
            self.row.min_cell_voltage_v = lo;
            self.row.max_cell_voltage_v = hi;
            let (lo, hi) = min_max(&self.row.probe_temps_c);
            self.row.min_temp_c = lo;
            self.row.max_temp_c = hi;
        }
        self.row
    }
}

fn min_max(values: &[Option<f64>]) -> (Option<f64>, Option<f64>) {
    values.iter().flatten().fold((None, None), |(lo, hi), &v| {
        (
            Some(lo.map_or(v, |l: f64| l.min(v))),
            Some(hi.map_or(v, |h: f64| h.max(v))),
        )
    })
}
