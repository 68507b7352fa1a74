//! The GB/T 32960 frames a simulated terminal or platform sends, built with the codec's typed
//! messages: logins, logouts, heartbeats, and realtime reports from a [`Vehicle`].
//!
//! Realtime reports are the hot path of a load test, so [`RealtimeEncoder`] keeps one frame
//! whose lists are allocated once and overwrites its values in place for every report.

use proto_gbt32960::{
    Alarm2016, Alarm2025, AlarmFlags, Block2016, Block2025, Body, Brake, CellV, CellVoltages2016,
    ChargingState, Command, CoordSystem, DcdcState, Edition, EncodeError, Encryption, Extremes2016,
    FaultLists, FixedStr, FlagLevel, Frame, Gear, Header, List, Logout, Motor2016, Motor2025,
    MotorState, Motors2016, Motors2025, Num8, Num16, PackTemperatures2025, PackVoltage2025,
    PackVoltages2025, PlatformLogin, Position, Position2025, ProbeGroup, ProbeTemperatures2016,
    Report, Report2016, Report2025, Response, RunMode, Scaled, SubsystemVoltages2016, TempC, Time,
    Vehicle2016, Vehicle2025, VehicleLogin2016, VehicleLogin2025, VehicleState,
};

use model::alarm_flags::{FLAG_NAMES_2016, FLAG_NAMES_2025};

use crate::vehicle::{
    Activity, CELLS, ChargeState, GearPosition, MotorMode, MotorReading, PROBES, Vehicle,
};

fn header(edition: Edition, command: Command, id: &FixedStr<17>) -> Header {
    Header {
        edition,
        command,
        response: Response::COMMAND,
        vin: *id,
        encryption: Encryption(0x01),
    }
}

/// The login sequence: starts at 1 each (Beijing) day, +1 per login, wraps after 65 531.
#[derive(Debug, Clone, Default)]
pub struct LoginSeq {
    day: [u8; 3],
    last: u16,
}

impl LoginSeq {
    pub fn next(&mut self, time: Time) -> u16 {
        let day = [time.0[0], time.0[1], time.0[2]];
        if day != self.day {
            self.day = day;
            self.last = 0;
        }
        self.last = if self.last >= 65_531 {
            1
        } else {
            self.last + 1
        };
        self.last
    }
}

/// A 20-digit ICCID derived from the VIN, so that the same vehicle always has the same SIM.
pub fn iccid(vin: &str) -> String {
    let digits: String = vin
        .bytes()
        .rev()
        .take(16)
        .map(|b| char::from(b'0' + b % 10))
        .collect();
    format!("8986{digits:0>16}")
}

/// 0x01 vehicle login. The 2016 body names one RESS subsystem without uploading its code; the
/// 2025 body one BMS with one pack whose 24-character code is derived from the VIN.
pub fn vehicle_login(edition: Edition, vin: &FixedStr<17>, seq: u16, time: Time) -> Frame {
    let text = vin.text();
    let iccid = FixedStr::new(&iccid(&text));
    let body = match edition {
        Edition::V2016 => Body::VehicleLogin2016(VehicleLogin2016 {
            time,
            seq,
            iccid,
            subsystem_count: 1,
            code_len: 0,
            codes: vec![],
        }),
        Edition::V2025 => Body::VehicleLogin2025(VehicleLogin2025 {
            time,
            seq,
            iccid,
            bms: vec![vec![FixedStr::new(&format!("SIMPACK{text:0>17}"))]],
        }),
    };
    Frame {
        header: header(edition, Command::VEHICLE_LOGIN, vin),
        body,
    }
}

/// 0x04 vehicle logout or 0x06 platform logout, carrying the session's login sequence.
pub fn logout(
    edition: Edition,
    command: Command,
    id: &FixedStr<17>,
    seq: u16,
    time: Time,
) -> Frame {
    Frame {
        header: header(edition, command, id),
        body: Body::Logout(Logout { time, seq }),
    }
}

/// 0x05 platform login; `code` is the platform's own identifier in the header.
pub fn platform_login(
    edition: Edition,
    code: &FixedStr<17>,
    username: &str,
    password: &str,
    seq: u16,
    time: Time,
) -> Frame {
    Frame {
        header: header(edition, Command::PLATFORM_LOGIN, code),
        body: Body::PlatformLogin(PlatformLogin {
            time,
            seq,
            username: FixedStr::new(username),
            password: FixedStr::new(password),
            encryption: Encryption(0x01),
        }),
    }
}

/// 0x07 heartbeat (empty data unit).
pub fn heartbeat(edition: Edition, id: &FixedStr<17>) -> Frame {
    Frame {
        header: header(edition, Command::HEARTBEAT, id),
        body: Body::Empty,
    }
}

/// Builds realtime reports from vehicles, reusing one frame and its lists.
///
/// 2016 reports carry vehicle, motors, position, extremes, alarm, 0x08 cell voltages and 0x09
/// probe temperatures; 2025 reports vehicle, motors, position (WGS-84), alarm, 0x07 pack
/// voltages and 0x08 temperatures, unsigned.
#[derive(Debug)]
pub struct RealtimeEncoder {
    frame: Frame,
}

impl RealtimeEncoder {
    pub fn new(edition: Edition) -> Self {
        let cells = || List::Items(vec![CellV::from_value(0.0); CELLS]);
        let probes = || List::Items(vec![TempC::from_value(0.0); PROBES]);
        let faults = || FaultLists {
            ress_faults: List::Items(vec![]),
            motor_faults: List::Items(vec![]),
            engine_faults: List::Items(vec![]),
            other_faults: List::Items(vec![]),
        };
        let zero_position = Position {
            status: 0,
            lon: Scaled::from_value(0.0),
            lat: Scaled::from_value(0.0),
        };
        let report = match edition {
            Edition::V2016 => Report::V2016(Report2016 {
                time: Time([0; 6]),
                blocks: vec![
                    Block2016::Vehicle(Vehicle2016 {
                        vehicle_state: VehicleState(0x01),
                        charging_state: ChargingState(0x03),
                        run_mode: RunMode(0x01),
                        speed_kmh: Scaled::from_value(0.0),
                        odometer_km: Scaled::from_value(0.0),
                        total_voltage_v: Scaled::from_value(0.0),
                        total_current_a: Scaled::from_value(0.0),
                        soc_pct: Num8::from_value(0.0),
                        dcdc_state: DcdcState(0x01),
                        gear: Gear(0x0F),
                        insulation_kohm: Scaled::from_value(0.0),
                        accelerator_pct: Num8::from_value(0.0),
                        brake_pct: Brake(0),
                    }),
                    Block2016::Motors(Motors2016 {
                        motors: List::Items(vec![]),
                    }),
                    Block2016::Position(zero_position),
                    Block2016::Extremes(Extremes2016 {
                        max_voltage_subsystem: Num8::from_value(1.0),
                        max_voltage_cell: Num8::from_value(1.0),
                        max_cell_voltage_v: CellV::from_value(0.0),
                        min_voltage_subsystem: Num8::from_value(1.0),
                        min_voltage_cell: Num8::from_value(1.0),
                        min_cell_voltage_v: CellV::from_value(0.0),
                        max_temp_subsystem: Num8::from_value(1.0),
                        max_temp_probe: Num8::from_value(1.0),
                        max_temp_c: TempC::from_value(0.0),
                        min_temp_subsystem: Num8::from_value(1.0),
                        min_temp_probe: Num8::from_value(1.0),
                        min_temp_c: TempC::from_value(0.0),
                    }),
                    Block2016::Alarm(Alarm2016 {
                        max_level: Num8::from_value(0.0),
                        flags: AlarmFlags(0),
                        faults: faults(),
                    }),
                    Block2016::CellVoltages(CellVoltages2016 {
                        subsystems: List::Items(vec![SubsystemVoltages2016 {
                            no: 1,
                            voltage_v: Scaled::from_value(0.0),
                            current_a: Scaled::from_value(0.0),
                            total_cells: Num16::from_value(CELLS as f64),
                            start_index: Num16::from_value(1.0),
                            cells_v: cells(),
                        }]),
                    }),
                    Block2016::ProbeTemperatures(ProbeTemperatures2016 {
                        subsystems: List::Items(vec![ProbeGroup {
                            no: 1,
                            probes_c: probes(),
                        }]),
                    }),
                ],
            }),
            Edition::V2025 => Report::V2025(Report2025 {
                time: Time([0; 6]),
                blocks: vec![
                    Block2025::Vehicle(Vehicle2025 {
                        vehicle_state: VehicleState(0x01),
                        charging_state: ChargingState(0x03),
                        run_mode: RunMode(0x01),
                        speed_kmh: Scaled::from_value(0.0),
                        odometer_km: Scaled::from_value(0.0),
                        total_voltage_v: Scaled::from_value(0.0),
                        total_current_a: Scaled::from_value(0.0),
                        soc_pct: Num8::from_value(0.0),
                        dcdc_state: DcdcState(0x01),
                        gear: Gear(0x0F),
                        insulation_kohm: Num16::from_value(0.0),
                    }),
                    Block2025::Motors(Motors2025 {
                        motors: List::Items(vec![]),
                    }),
                    Block2025::Position(Position2025 {
                        coord_system: CoordSystem(0x01),
                        position: zero_position,
                    }),
                    Block2025::Alarm(Alarm2025 {
                        max_level: Num8::from_value(0.0),
                        flags: AlarmFlags(0),
                        faults: faults(),
                        flag_levels: List::Items(vec![]),
                    }),
                    Block2025::PackVoltages(PackVoltages2025 {
                        packs: List::Items(vec![PackVoltage2025 {
                            no: Num8::from_value(1.0),
                            voltage_v: Scaled::from_value(0.0),
                            current_a: Scaled::from_value(0.0),
                            cells_v: cells(),
                        }]),
                    }),
                    Block2025::PackTemperatures(PackTemperatures2025 {
                        packs: List::Items(vec![ProbeGroup {
                            no: 1,
                            probes_c: probes(),
                        }]),
                    }),
                ],
                signature: None,
                trailing: vec![],
            }),
        };
        Self {
            frame: Frame {
                header: header(edition, Command::REALTIME, &FixedStr([0; 17])),
                body: Body::Report(report),
            },
        }
    }

    /// Appends the realtime report of `vehicle` at `time` to `out`.
    pub fn encode(
        &mut self,
        vehicle: &Vehicle,
        time: Time,
        out: &mut Vec<u8>,
    ) -> Result<(), EncodeError> {
        self.fill(vehicle, time).encode_into(out)
    }

    /// The report of `vehicle` at `time` as a typed frame.
    pub fn fill(&mut self, v: &Vehicle, time: Time) -> &Frame {
        self.frame.header.vin = FixedStr::new(v.vin());
        let Body::Report(report) = &mut self.frame.body else {
            unreachable!("built as a report")
        };
        match report {
            Report::V2016(r) => {
                r.time = time;
                for b in &mut r.blocks {
                    fill_2016(b, v);
                }
            }
            Report::V2025(r) => {
                r.time = time;
                for b in &mut r.blocks {
                    fill_2025(b, v);
                }
            }
        }
        &self.frame
    }
}

fn vehicle_state(v: &Vehicle) -> VehicleState {
    VehicleState(match v.activity() {
        Activity::Driving => 0x01,
        Activity::Parked | Activity::Charging => 0x02,
    })
}

fn charging_state(v: &Vehicle) -> ChargingState {
    ChargingState(match v.charge_state() {
        ChargeState::Charging => 0x01,
        ChargeState::NotCharging => 0x03,
        ChargeState::Complete => 0x04,
    })
}

fn dcdc(v: &Vehicle) -> DcdcState {
    DcdcState(if v.dcdc_working() { 0x01 } else { 0x02 })
}

/// Table A.1: bits 3–0 the gear (14 D, 15 P), bit 4 brake force, bit 5 drive force.
fn gear(v: &Vehicle) -> Gear {
    let position = match v.gear() {
        GearPosition::Drive => 0x0E,
        GearPosition::Park => 0x0F,
    };
    let brake = if v.brake_force() { 0x10 } else { 0 };
    let drive = if v.drive_force() { 0x20 } else { 0 };
    Gear(position | brake | drive)
}

fn motor_state(m: &MotorReading) -> MotorState {
    MotorState(match m.mode {
        MotorMode::Consuming => 0x01,
        MotorMode::Generating => 0x02,
        MotorMode::Off => 0x03,
        MotorMode::Ready => 0x04,
    })
}

fn position(v: &Vehicle) -> Position {
    let (lon, lat) = v.position();
    // East and north: status bits 1 and 2 stay clear; bit 0 clear = valid fix.
    Position {
        status: 0,
        lon: Scaled::from_value(lon),
        lat: Scaled::from_value(lat),
    }
}

fn set_cells(list: &mut List<CellV>, v: &Vehicle) {
    if let List::Items(cells) = list {
        cells.clear();
        cells.extend(v.cell_voltages_v().iter().map(|&c| CellV::from_value(c)));
    }
}

fn set_probes(list: &mut List<TempC>, v: &Vehicle) {
    if let List::Items(probes) = list {
        probes.clear();
        probes.extend(v.probe_temps_c().iter().map(|&t| TempC::from_value(t)));
    }
}

/// The alarms the vehicle raises as bits of an edition's flag table (`names`), with their
/// levels; alarms the edition has no bit for are left out.
fn alarm_bits<'a>(
    names: &'a [&'static str],
    v: &'a Vehicle,
) -> impl Iterator<Item = (u8, u8)> + 'a {
    v.alarms().iter().filter_map(move |a| {
        let bit = names.iter().position(|&n| n == a.name)?;
        Some((bit as u8, a.level))
    })
}

/// The flag word and the highest level of the vehicle's alarms in an edition.
fn alarm_word(names: &[&'static str], v: &Vehicle) -> (u32, Num8) {
    let (flags, level) = alarm_bits(names, v).fold((0u32, 0u8), |(f, l), (bit, level)| {
        (f | 1 << bit, l.max(level))
    });
    (flags, Num8::from_value(f64::from(level)))
}

/// 1-based positions of the largest and smallest raw values (first of equals).
fn extremes<T: Ord + Copy>(values: impl Iterator<Item = T>) -> ((usize, T), (usize, T)) {
    let mut it = values.enumerate();
    let first = it.next().expect("a non-empty list");
    let (mut hi, mut lo) = (first, first);
    for (i, x) in it {
        if x > hi.1 {
            hi = (i, x);
        }
        if x < lo.1 {
            lo = (i, x);
        }
    }
    ((hi.0 + 1, hi.1), (lo.0 + 1, lo.1))
}

fn fill_2016(b: &mut Block2016, v: &Vehicle) {
    match b {
        Block2016::Vehicle(x) => {
            x.vehicle_state = vehicle_state(v);
            x.charging_state = charging_state(v);
            x.speed_kmh = Scaled::from_value(v.speed_kmh());
            x.odometer_km = Scaled::from_value(v.odometer_km());
            x.total_voltage_v = Scaled::from_value(v.pack_voltage_v());
            x.total_current_a = Scaled::from_value(v.current_a());
            x.soc_pct = Num8::from_value(v.soc_pct());
            x.dcdc_state = dcdc(v);
            x.gear = gear(v);
            x.insulation_kohm = Scaled::from_value(v.insulation_kohm());
            x.accelerator_pct = Num8::from_value(v.accelerator_pct());
            x.brake_pct = Brake(v.brake_pct().round() as u8);
        }
        Block2016::Motors(x) => {
            if let List::Items(motors) = &mut x.motors {
                motors.clear();
                motors.extend((0..v.motor_count()).map(|i| {
                    let m = v.motor(i);
                    Motor2016 {
                        no: Num8::from_value(f64::from(m.no)),
                        state: motor_state(&m),
                        controller_temp_c: TempC::from_value(m.controller_temp_c),
                        speed_rpm: Scaled::from_value(m.speed_rpm),
                        torque_nm: Scaled::from_value(m.torque_nm),
                        temp_c: TempC::from_value(m.temp_c),
                        controller_voltage_v: Scaled::from_value(m.controller_voltage_v),
                        controller_current_a: Scaled::from_value(m.controller_current_a),
                    }
                }));
            }
        }
        Block2016::Position(p) => *p = position(v),
        Block2016::CellVoltages(x) => {
            if let List::Items(subsystems) = &mut x.subsystems {
                for s in subsystems {
                    s.voltage_v = Scaled::from_value(v.pack_voltage_v());
                    s.current_a = Scaled::from_value(v.current_a());
                    set_cells(&mut s.cells_v, v);
                }
            }
        }
        Block2016::ProbeTemperatures(x) => {
            if let List::Items(groups) = &mut x.subsystems {
                for g in groups {
                    set_probes(&mut g.probes_c, v);
                }
            }
        }
        Block2016::Extremes(e) => {
            // From the rounded wire values, so the extremes agree exactly with the lists.
            let ((hi_i, hi), (lo_i, lo)) =
                extremes(v.cell_voltages_v().iter().map(|&c| CellV::from_value(c).0));
            e.max_voltage_cell = Num8::from_value(hi_i as f64);
            e.max_cell_voltage_v = Scaled(hi);
            e.min_voltage_cell = Num8::from_value(lo_i as f64);
            e.min_cell_voltage_v = Scaled(lo);
            let ((hi_i, hi), (lo_i, lo)) =
                extremes(v.probe_temps_c().iter().map(|&t| TempC::from_value(t).0));
            e.max_temp_probe = Num8::from_value(hi_i as f64);
            e.max_temp_c = Scaled(hi);
            e.min_temp_probe = Num8::from_value(lo_i as f64);
            e.min_temp_c = Scaled(lo);
        }
        Block2016::Alarm(a) => {
            // All clear in normal running; a faulted vehicle's BMS raises its flags.
            let (flags, level) = alarm_word(&FLAG_NAMES_2016, v);
            a.flags = AlarmFlags(flags);
            a.max_level = level;
        }
        Block2016::FuelCell(_)
        | Block2016::Engine(_)
        | Block2016::UserDefined(_)
        | Block2016::Unknown(_) => {}
    }
}

fn fill_2025(b: &mut Block2025, v: &Vehicle) {
    match b {
        Block2025::Vehicle(x) => {
            x.vehicle_state = vehicle_state(v);
            x.charging_state = charging_state(v);
            x.speed_kmh = Scaled::from_value(v.speed_kmh());
            x.odometer_km = Scaled::from_value(v.odometer_km());
            x.total_voltage_v = Scaled::from_value(v.pack_voltage_v());
            x.total_current_a = Scaled::from_value(v.current_a());
            x.soc_pct = Num8::from_value(v.soc_pct());
            x.dcdc_state = dcdc(v);
            x.gear = gear(v);
            x.insulation_kohm = Num16::from_value(v.insulation_kohm());
        }
        Block2025::Motors(x) => {
            if let List::Items(motors) = &mut x.motors {
                motors.clear();
                motors.extend((0..v.motor_count()).map(|i| {
                    let m = v.motor(i);
                    Motor2025 {
                        no: Num8::from_value(f64::from(m.no)),
                        state: motor_state(&m),
                        controller_temp_c: TempC::from_value(m.controller_temp_c),
                        speed_rpm: Scaled::from_value(m.speed_rpm),
                        torque_nm: Scaled::from_value(m.torque_nm),
                        temp_c: TempC::from_value(m.temp_c),
                    }
                }));
            }
        }
        Block2025::Position(p) => p.position = position(v),
        Block2025::PackVoltages(x) => {
            if let List::Items(packs) = &mut x.packs {
                for p in packs {
                    p.voltage_v = Scaled::from_value(v.pack_voltage_v());
                    p.current_a = Scaled::from_value(v.current_a());
                    set_cells(&mut p.cells_v, v);
                }
            }
        }
        Block2025::PackTemperatures(x) => {
            if let List::Items(groups) = &mut x.packs {
                for g in groups {
                    set_probes(&mut g.probes_c, v);
                }
            }
        }
        Block2025::Alarm(a) => {
            // 2025 also lists each set flag's own level (N5).
            let (flags, level) = alarm_word(&FLAG_NAMES_2025, v);
            a.flags = AlarmFlags(flags);
            a.max_level = level;
            if let List::Items(levels) = &mut a.flag_levels {
                levels.clear();
                levels.extend(
                    alarm_bits(&FLAG_NAMES_2025, v).map(|(bit, level)| FlagLevel { bit, level }),
                );
            }
        }
        Block2025::FuelCell(_)
        | Block2025::Engine(_)
        | Block2025::FuelCellStacks(_)
        | Block2025::SuperCapacitor(_)
        | Block2025::SuperCapacitorExtremes(_)
        | Block2025::UserDefined(_)
        | Block2025::Unknown(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use model::Timestamp;
    use proto_gbt32960::{decode, to_sample};

    use super::*;
    use crate::vehicle::vin_for;

    const T0: i64 = 1_795_000_000;

    fn close(what: &str, got: Option<f64>, want: f64, tol: f64) {
        let got = got.unwrap_or_else(|| panic!("{what}: no value"));
        assert!((got - want).abs() <= tol, "{what}: got {got}, want {want}");
    }

    /// Every report of a fleet's half hour decodes, re-encodes to the same bytes, and maps to
    /// a sample carrying the values the model meant, within the wire's resolution.
    fn check_edition(edition: Edition) {
        let mut enc = RealtimeEncoder::new(edition);
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for i in 0..12 {
            let mut v = Vehicle::new(vin_for("LSIM", i).unwrap(), 500 + i);
            for k in 0..180 {
                v.step(10.0);
                let ts = Timestamp::from_secs(T0 + k * 10);
                let time = Time::from_timestamp(ts);
                out.clear();
                enc.encode(&v, time, &mut out).unwrap();
                let frame = decode(&out).unwrap();
                assert_eq!(&frame, enc.fill(&v, time));
                assert_eq!(frame.encode().unwrap(), out);
                let s = to_sample(&frame, ts).unwrap();
                check_sample(&s, &v, edition);
                assert_eq!(s.ts, ts);
                seen.insert((v.activity() as u8, s.charging_status.clone().unwrap()));
            }
        }
        // The fleet showed every state it can be in.
        for state in ["parked_charging", "not_charging"] {
            assert!(seen.iter().any(|(_, c)| c == state), "{state} never seen");
        }
    }

    fn check_sample(s: &model::VehicleSample, v: &Vehicle, edition: Edition) {
        assert_eq!(s.vin.as_str(), v.vin());
        assert_eq!(s.quality, 0, "{:?}", model::quality::names(s.quality));
        assert_eq!(
            s.source,
            match edition {
                Edition::V2016 => "gbt32960-2016",
                Edition::V2025 => "gbt32960-2025",
            }
        );
        let driving = v.activity() == Activity::Driving;
        assert_eq!(
            s.vehicle_status.as_deref(),
            Some(if driving { "started" } else { "stopped" })
        );
        let charging = match v.charge_state() {
            ChargeState::Charging => "parked_charging",
            ChargeState::Complete => "charge_complete",
            ChargeState::NotCharging => "not_charging",
        };
        assert_eq!(s.charging_status.as_deref(), Some(charging));
        assert_eq!(s.run_mode.as_deref(), Some("ev"));
        assert_eq!(s.gear.as_deref(), Some(if driving { "D" } else { "P" }));
        close("speed", s.speed_kmh, v.speed_kmh(), 0.05);
        close("odometer", s.odometer_km, v.odometer_km(), 0.05);
        close("voltage", s.total_voltage_v, v.pack_voltage_v(), 0.05);
        close("current", s.total_current_a, v.current_a(), 0.05);
        close("soc", s.soc_pct, v.soc_pct(), 0.5);
        close("insulation", s.insulation_kohm, v.insulation_kohm(), 0.5);
        let (lon, lat) = v.position();
        close("lon", s.lon, lon, 5e-7);
        close("lat", s.lat, lat, 5e-7);
        assert_eq!(s.position_valid, Some(true));
        assert_eq!(s.coord_system.as_deref(), Some("wgs84"));
        assert_eq!(s.alarm_level, Some(0));
        assert_eq!(s.alarm_flags, Some(0));
        assert_eq!(s.cell_voltages_v.len(), CELLS);
        for (got, &want) in s.cell_voltages_v.iter().zip(v.cell_voltages_v()) {
            close("cell", *got, want, 0.0005 + 1e-9);
        }
        assert_eq!(s.probe_temps_c.len(), PROBES);
        for (got, &want) in s.probe_temps_c.iter().zip(v.probe_temps_c()) {
            close("probe", *got, want, 0.5 + 1e-9);
        }
        // Extremes agree with the lists whether reported (2016) or derived (2025).
        let cells: Vec<f64> = s.cell_voltages_v.iter().flatten().copied().collect();
        let max = cells.iter().copied().fold(f64::MIN, f64::max);
        let min = cells.iter().copied().fold(f64::MAX, f64::min);
        assert_eq!(s.max_cell_voltage_v, Some(max));
        assert_eq!(s.min_cell_voltage_v, Some(min));
        let probes: Vec<f64> = s.probe_temps_c.iter().flatten().copied().collect();
        assert_eq!(
            s.max_temp_c,
            Some(probes.iter().copied().fold(f64::MIN, f64::max))
        );
        assert_eq!(
            s.min_temp_c,
            Some(probes.iter().copied().fold(f64::MAX, f64::min))
        );
        // The pack voltage is the sum of the cells to within the rounding of 96 cells.
        assert!((cells.iter().sum::<f64>() - s.total_voltage_v.unwrap()).abs() < 0.1);
        assert_eq!(s.motors.len(), v.motor_count());
        for (i, m) in s.motors.iter().enumerate() {
            let want = v.motor(i);
            assert_eq!(m.no, Some(want.no));
            let state = match want.mode {
                MotorMode::Consuming => "consuming",
                MotorMode::Generating => "generating",
                MotorMode::Off => "off",
                MotorMode::Ready => "ready",
            };
            assert_eq!(m.state.as_deref(), Some(state));
            close("rpm", m.speed_rpm, want.speed_rpm, 0.5);
            close("torque", m.torque_nm, want.torque_nm, 0.05);
            close("motor temp", m.temp_c, want.temp_c, 0.5);
            close(
                "controller temp",
                m.controller_temp_c,
                want.controller_temp_c,
                0.5,
            );
            match edition {
                Edition::V2016 => {
                    close(
                        "controller V",
                        m.controller_voltage_v,
                        v.pack_voltage_v(),
                        0.05,
                    );
                    close(
                        "controller A",
                        m.controller_current_a,
                        want.controller_current_a,
                        0.05,
                    );
                }
                Edition::V2025 => assert_eq!(m.controller_voltage_v, None),
            }
        }
    }

    #[test]
    fn reports_of_both_editions_decode_to_the_model_values() {
        check_edition(Edition::V2016);
        check_edition(Edition::V2025);
    }

    #[test]
    fn session_frames_decode() {
        let time = Time::from_timestamp(Timestamp::from_secs(T0));
        let vin = FixedStr::new("LSIM0000000000001");
        let code = FixedStr::new("SIMPLATFORM000001");
        for edition in [Edition::V2016, Edition::V2025] {
            let frames = [
                vehicle_login(edition, &vin, 3, time),
                logout(edition, Command::VEHICLE_LOGOUT, &vin, 3, time),
                platform_login(edition, &code, "carmaker-a", "change-me", 1, time),
                logout(edition, Command::PLATFORM_LOGOUT, &code, 1, time),
                heartbeat(edition, &vin),
            ];
            for f in frames {
                let bytes = f.encode().unwrap();
                assert_eq!(decode(&bytes).unwrap(), f);
            }
        }
        let Body::VehicleLogin2016(l) = vehicle_login(Edition::V2016, &vin, 3, time).body else {
            panic!("a 2016 login")
        };
        assert_eq!(l.iccid.text().len(), 20);
        assert!(l.iccid.text().bytes().all(|b| b.is_ascii_digit()));
    }

    #[test]
    fn login_sequence_restarts_each_day_and_wraps() {
        let day1 = Time([26, 11, 27, 23, 59, 59]);
        let day2 = Time([26, 11, 28, 0, 0, 1]);
        let mut seq = LoginSeq::default();
        assert_eq!(seq.next(day1), 1);
        assert_eq!(seq.next(day1), 2);
        assert_eq!(seq.next(day2), 1);
        seq.last = 65_531;
        assert_eq!(seq.next(day2), 1);
    }
}
