//! A deterministic model of one battery-electric vehicle: what it does (parked, driving,
//! charging) and what its terminal would measure while it does it.
//!
//! The model is physical enough that the numbers agree with each other the way a platform's
//! checks expect: distance comes from the speed profile, the battery current from the power the
//! wheels and auxiliaries draw, SOC from the current (coulomb counting), cell voltages from SOC
//! through an open-circuit-voltage curve minus the resistive drop, the pack voltage is the sum
//! of the cells, temperatures rise with I²R heat and relax toward ambient, and motor speed and
//! torque follow from wheel speed and tractive force. Everything random comes from the vehicle's
//! own seeded generator, so a seed always gives the same day.
//!
//! A vehicle may carry one [`Fault`] with an onset in its simulated time; from the onset on the
//! fault's physics replace the healthy ones where they differ, and [`Vehicle::alarms`] lists the
//! flags its BMS raises.

use crate::SimError;
use crate::fault::{Fault, RaisedAlarm};
use crate::rng::Rng;
use crate::routes::{Route, routes};

/// Cells in series (one 2016 subsystem / one 2025 pack).
pub const CELLS: usize = 96;
/// Battery temperature probes.
pub const PROBES: usize = 32;

const G: f64 = 9.81;
const AIR_DENSITY: f64 = 1.2;
/// Drive-train efficiency battery → wheel, and the share of braking energy recovered.
const DRIVE_EFFICIENCY: f64 = 0.9;
const REGEN_EFFICIENCY: f64 = 0.65;
const MAX_REGEN_W: f64 = 60_000.0;
/// Comfortable and hard decelerations, m/s²: a driver brakes for a stop at the first and never
/// needs more than the second.
const COMFORT_DECEL: f64 = 1.2;
const MAX_DECEL: f64 = 3.5;
/// Accelerations, m/s²: standing start, and the most a driver asks for at speed.
const MAX_ACCEL: f64 = 2.5;
/// Longest internal integration step, seconds; reports may be minutes apart.
const MAX_SUBSTEP: f64 = 1.0;
/// Pack heat capacity (J/K) and time constant of passive relaxation toward ambient (s).
const PACK_HEAT_CAPACITY: f64 = 250_000.0;
const PACK_TAU_S: f64 = 2_400.0;
/// The thermal management starts cooling above this mean probe temperature (°C).
const COOLING_ON_C: f64 = 32.0;
const COOLING_TAU_S: f64 = 900.0;
/// Below this SOC a parked vehicle goes to charge; below the second a trip is cut short.
const CHARGE_BELOW_SOC: f64 = 0.35;
const RESERVE_SOC: f64 = 0.10;

/// A fault counts as set in this close to its onset, so that float sums of report intervals
/// land on the right side of it.
const ONSET_EPS_S: f64 = 1e-6;
/// Probes per battery module: the 32 probes watch 8 modules of 12 cells.
const PROBES_PER_MODULE: usize = 4;
/// Thermal runaway: how fast the hottest probe of the module climbs, how the module's other
/// probes follow (they sit further from the failing cell), where the climb levels off, and how
/// far below that it starts to slow.
const RUNAWAY_C_PER_S: f64 = 8.0;
const RUNAWAY_PROBE_SHARE: [f64; PROBES_PER_MODULE] = [1.0, 0.9, 0.8, 0.7];
const RUNAWAY_PEAK_C: f64 = 95.0;
const RUNAWAY_KNEE_C: f64 = 10.0;
/// Cell drift: how far the shorted cell falls below its healthy voltage, and in how long.
const DRIFT_V: f64 = 0.45;
const DRIFT_RAMP_S: f64 = 5.0;
/// A vehicle that must be driving at its fault's onset keeps driving at least this long after.
const HOLD_AFTER_ONSET_S: f64 = 60.0;

const THERMAL_ALARMS: [RaisedAlarm; 3] = [
    RaisedAlarm {
        name: "temperature_difference",
        level: 3,
    },
    RaisedAlarm {
        name: "battery_high_temperature",
        level: 3,
    },
    RaisedAlarm {
        name: "thermal_event",
        level: 4,
    },
];
const INSULATION_ALARMS: [RaisedAlarm; 1] = [RaisedAlarm {
    name: "insulation",
    level: 3,
}];

/// Open-circuit voltage of an NMC cell at SOC 0 %, 10 %, … 100 %.
const OCV: [f64; 11] = [
    3.30, 3.55, 3.62, 3.66, 3.71, 3.76, 3.83, 3.90, 3.98, 4.06, 4.15,
];

/// The cell's open-circuit voltage at a state of charge (0–1), linear between table points.
pub fn ocv(soc: f64) -> f64 {
    let x = soc.clamp(0.0, 1.0) * 10.0;
    let i = (x.floor() as usize).min(9);
    let t = x - i as f64;
    OCV[i] + (OCV[i + 1] - OCV[i]) * t
}

/// The temperature the pack's chiller cools toward.
fn chiller_c(ambient_c: f64) -> f64 {
    ambient_c.min(25.0)
}

/// What the vehicle is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    Parked,
    Driving,
    Charging,
}

/// The gear lever as Table A.1 of GB/T 32960 describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GearPosition {
    Park,
    Drive,
}

/// The charger's view of the vehicle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChargeState {
    NotCharging,
    Charging,
    /// Still plugged in, target SOC reached.
    Complete,
}

/// What a drive motor is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MotorMode {
    Consuming,
    Generating,
    Off,
    Ready,
}

/// One drive motor's readings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MotorReading {
    pub no: u8,
    pub mode: MotorMode,
    pub speed_rpm: f64,
    pub torque_nm: f64,
    pub temp_c: f64,
    pub controller_temp_c: f64,
    pub controller_voltage_v: f64,
    pub controller_current_a: f64,
}

/// The vehicle's fixed characteristics, drawn once from its seed.
#[derive(Debug, Clone)]
struct Spec {
    capacity_ah: f64,
    mass_kg: f64,
    cda_m2: f64,
    crr: f64,
    max_power_w: f64,
    motors: usize,
    wheel_radius_m: f64,
    gear_ratio: f64,
    ambient_c: f64,
    /// Resistance of each cell, ohms.
    cell_r: Vec<f64>,
    /// Each cell's fixed SOC offset (capacity spread), fraction.
    cell_offset: Vec<f64>,
    /// How strongly each probe sees the pack's heat (its place in the pack).
    probe_heat: Vec<f64>,
    insulation_base_kohm: f64,
}

impl Spec {
    fn pack_resistance(&self) -> f64 {
        self.cell_r.iter().sum()
    }
}

/// A fault given to a vehicle, with what its seed decided about it.
#[derive(Debug, Clone)]
struct FaultPlan {
    fault: Fault,
    /// Simulated seconds since the vehicle was built.
    onset_s: f64,
    /// Thermal: the first probe of the failing module; cell drift: the shorted cell.
    index: usize,
    /// Insulation: the resistance after the breakdown, kΩ.
    insulation_kohm: f64,
}

/// One simulated vehicle. Advance it with [`Vehicle::step`]; read what its terminal would
/// report with the accessors.
#[derive(Debug, Clone)]
pub struct Vehicle {
    vin: String,
    rng: Rng,
    spec: Spec,
    activity: Activity,
    /// Parked: time until the next departure. Charging complete: time until unplugged.
    phase_left_s: f64,
    trip_left_m: f64,
    charge_target: f64,
    charger_w: f64,
    charge_complete: bool,

    route: usize,
    /// Position along the route, metres from its first waypoint.
    route_pos_m: f64,
    /// +1 toward the route's last waypoint, −1 back.
    dir: f64,
    speed_mps: f64,
    accel_mps2: f64,
    cruise_mps: f64,
    cruise_left_s: f64,
    /// Distance to the next traffic stop (lights, junction).
    stop_in_m: f64,
    /// Time left standing at a stop.
    dwell_s: f64,
    /// Tractive force at the wheels during the last step, N (negative when braking).
    force_n: f64,
    odometer_m: f64,

    soc: f64,
    /// Battery current, A; positive = discharge (the sign real terminals send).
    current_a: f64,
    cell_drift: Vec<f64>,
    cell_v: Vec<f64>,
    probe_c: Vec<f64>,
    motor_c: [f64; 2],
    controller_c: [f64; 2],
    insulation_kohm: f64,
    elapsed_s: f64,
    fault: Option<FaultPlan>,
    /// Trips do not end before this simulated time (a vehicle that must be on the road when
    /// its fault sets in).
    hold_trip_until_s: f64,
}

/// The identifier of vehicle `index`: `prefix` followed by the zero-padded index, 17 characters.
pub fn vin_for(prefix: &str, index: u64) -> Result<String, SimError> {
    if prefix.len() >= 17 || !prefix.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(SimError::Config(format!(
            "VIN prefix {prefix:?} must be 0–16 letters or digits"
        )));
    }
    let width = 17 - prefix.len();
    let digits = index.to_string();
    if digits.len() > width {
        return Err(SimError::Config(format!(
            "vehicle {index} does not fit the {width} digits left by prefix {prefix:?}"
        )));
    }
    Ok(format!("{prefix}{index:0width$}"))
}

impl Vehicle {
    /// A vehicle whose specification, route, starting activity and SOC all come from `seed`.
    /// Fleets start mixed: about half on the road, a third parked, the rest on a charger.
    pub fn new(vin: impl Into<String>, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let roll = rng.unit();
        let (activity, soc) = if roll < 0.45 {
            (Activity::Driving, rng.range(0.3, 0.95))
        } else if roll < 0.8 {
            (Activity::Parked, rng.range(0.4, 0.95))
        } else {
            (Activity::Charging, rng.range(0.15, 0.5))
        };
        Self::build(vin.into(), rng, activity, soc)
    }

    /// The vehicle `seed` gives, with `fault` setting in `onset_s` simulated seconds after it
    /// is built. Faults that need the vehicle on the road ([`Fault::needs_driving`]) start it
    /// mid-trip at 60–90 % SOC and keep it moving until a minute past the onset (no traffic
    /// stops, no end of trip); the others start it as [`Vehicle::new`] does.
    pub fn faulted(vin: impl Into<String>, seed: u64, fault: Fault, onset_s: f64) -> Self {
        let v = if fault.needs_driving() {
            let soc = Rng::derive(seed, 1).range(60.0, 90.0);
            Self::starting(vin, seed, Activity::Driving, soc)
        } else {
            Self::new(vin, seed)
        };
        v.with_fault(fault, onset_s)
    }

    /// Gives the vehicle `fault`, setting in at `onset_s` simulated seconds since it was built
    /// (now, if that has passed). Which module or cell fails, and how far the insulation
    /// falls, come from the vehicle's seed.
    pub fn with_fault(mut self, fault: Fault, onset_s: f64) -> Self {
        let index = match fault {
            Fault::Thermal => self.rng.below(PROBES / PROBES_PER_MODULE) * PROBES_PER_MODULE,
            Fault::CellDrift => self.rng.below(CELLS),
            Fault::Insulation | Fault::Offline => 0,
        };
        let insulation_kohm = self.rng.range(15.0, 25.0);
        if fault.needs_driving() {
            self.hold_trip_until_s = onset_s + HOLD_AFTER_ONSET_S;
            if self.elapsed_s == 0.0 && self.activity == Activity::Driving {
                // Head for the route's farther end (at least 2.5 km away), so that no
                // turning round stops the car before the onset.
                let length = self.route().length_m();
                let ahead = if self.dir > 0.0 {
                    length - self.route_pos_m
                } else {
                    self.route_pos_m
                };
                if ahead < length / 2.0 {
                    self.dir = -self.dir;
                }
            }
        }
        self.fault = Some(FaultPlan {
            fault,
            onset_s: onset_s.max(0.0),
            index,
            insulation_kohm,
        });
        self.apply_fault();
        self.update_cells(0.0);
        self
    }

    /// A vehicle that starts doing `activity` at `soc_pct`; the rest comes from `seed`.
    pub fn starting(vin: impl Into<String>, seed: u64, activity: Activity, soc_pct: f64) -> Self {
        let mut rng = Rng::new(seed);
        rng.next_u64();
        Self::build(vin.into(), rng, activity, soc_pct / 100.0)
    }

    fn build(vin: String, mut rng: Rng, activity: Activity, soc: f64) -> Self {
        let motors = if rng.chance(0.3) { 2 } else { 1 };
        let cell_r: Vec<f64> = (0..CELLS).map(|_| rng.range(0.58e-3, 0.72e-3)).collect();
        let cell_offset: Vec<f64> = (0..CELLS).map(|_| rng.range(-0.008, 0.008)).collect();
        let probe_heat: Vec<f64> = (0..PROBES).map(|_| rng.range(0.8, 1.2)).collect();
        let spec = Spec {
            capacity_ah: rng.range(130.0, 180.0),
            mass_kg: rng.range(1_600.0, 2_300.0),
            cda_m2: rng.range(0.55, 0.8),
            crr: rng.range(0.009, 0.013),
            max_power_w: if motors == 2 {
                rng.range(150e3, 220e3)
            } else {
                rng.range(90e3, 150e3)
            },
            motors,
            wheel_radius_m: rng.range(0.31, 0.35),
            gear_ratio: rng.range(8.5, 10.5),
            ambient_c: rng.range(5.0, 30.0),
            cell_r,
            cell_offset,
            probe_heat,
            insulation_base_kohm: rng.range(3_000.0, 12_000.0),
        };
        let route = rng.below(routes().len());
        let length = routes()[route].length_m();
        let ambient = spec.ambient_c;
        let mut v = Self {
            vin,
            activity,
            phase_left_s: 0.0,
            trip_left_m: 0.0,
            charge_target: 0.9,
            charger_w: 7_000.0,
            charge_complete: false,
            route,
            route_pos_m: rng.range(0.0, length),
            dir: if rng.chance(0.5) { 1.0 } else { -1.0 },
            speed_mps: 0.0,
            accel_mps2: 0.0,
            cruise_mps: 0.0,
            cruise_left_s: 0.0,
            stop_in_m: rng.range(200.0, 1_200.0),
            dwell_s: 0.0,
            force_n: 0.0,
            odometer_m: rng.range(2_000.0, 80_000.0) * 1000.0,
            soc: soc.clamp(0.05, 1.0),
            current_a: 0.0,
            cell_drift: vec![0.0; CELLS],
            cell_v: vec![0.0; CELLS],
            probe_c: (0..PROBES).map(|_| ambient + rng.range(0.0, 3.0)).collect(),
            motor_c: [ambient + 5.0; 2],
            controller_c: [ambient + 3.0; 2],
            insulation_kohm: spec.insulation_base_kohm,
            elapsed_s: 0.0,
            fault: None,
            hold_trip_until_s: 0.0,
            spec,
            rng,
        };
        match activity {
            Activity::Parked => v.park(),
            Activity::Driving => {
                v.depart();
                // Start mid-trip at a plausible speed rather than at a standstill, but slow
                // enough to stop comfortably for what lies ahead.
                let room = (2.0 * COMFORT_DECEL * (v.stop_at() - 2.0).max(0.0)).sqrt();
                v.speed_mps = (v.cruise_mps * v.rng.range(0.5, 1.0)).min(room);
            }
            Activity::Charging => v.plug_in(),
        }
        v.update_cells(0.0);
        if activity == Activity::Charging {
            // The charger's current is flowing from the first moment (it needs the pack
            // voltage, hence the cells first).
            v.charge(0.0);
            v.update_cells(0.0);
        }
        v
    }

    /// Advances the model by `dt` seconds (internally in steps of at most one second).
    pub fn step(&mut self, dt: f64) {
        let mut left = dt.max(0.0);
        while left > 1e-9 {
            let mut h = left.min(MAX_SUBSTEP);
            // A substep ends at the fault's onset, so that the fault's physics start there.
            if let Some(onset) = self.fault.as_ref().map(|f| f.onset_s)
                && self.elapsed_s + ONSET_EPS_S < onset
                && self.elapsed_s + h > onset
            {
                h = onset - self.elapsed_s;
            }
            // Each activity sets the battery current it drew over the substep (and may move on
            // to the next activity); SOC and heat follow from that current.
            let current = match self.activity {
                Activity::Driving => self.drive(h),
                Activity::Charging => self.charge(h),
                Activity::Parked => self.rest(h),
            };
            self.soc = (self.soc - current * h / (3600.0 * self.spec.capacity_ah)).clamp(0.0, 1.0);
            self.heat(h, current);
            self.elapsed_s += h;
            left -= h;
        }
        self.apply_fault();
        self.update_cells(dt);
    }

    /// Seconds since the fault set in; `None` before its onset or without a fault.
    fn fault_time(&self) -> Option<(&FaultPlan, f64)> {
        let f = self.fault.as_ref()?;
        let t = self.elapsed_s - f.onset_s;
        (t >= -ONSET_EPS_S).then_some((f, t.max(0.0)))
    }

    /// The measurements a fault sets outright rather than through the physics of a substep.
    fn apply_fault(&mut self) {
        if let Some((f, _)) = self.fault_time()
            && f.fault == Fault::Insulation
        {
            // Broken down: the fault's resistance, give or take the meter's noise.
            let kohm = f.insulation_kohm;
            self.insulation_kohm = kohm * (1.0 + self.rng.range(-0.01, 0.01));
        }
    }

    fn park(&mut self) {
        self.activity = Activity::Parked;
        self.phase_left_s = self.rng.range(120.0, 900.0);
        self.speed_mps = 0.0;
        self.accel_mps2 = 0.0;
        self.force_n = 0.0;
        self.current_a = 0.0;
        self.charge_complete = false;
    }

    fn depart(&mut self) {
        self.activity = Activity::Driving;
        let usable_km = (self.soc - RESERVE_SOC).max(0.0) * self.capacity_kwh() / 0.2;
        self.trip_left_m = self.rng.range(3.0, 25.0).min(usable_km.max(1.0)) * 1000.0;
        self.new_cruise();
        self.dwell_s = 0.0;
    }

    fn plug_in(&mut self) {
        self.activity = Activity::Charging;
        self.charge_target = self.rng.range(0.8, 0.95);
        // Most public chargers in the city are DC; depots and homes use AC wall boxes.
        self.charger_w = if self.rng.chance(0.6) {
            self.rng.range(40e3, 90e3)
        } else {
            7_000.0
        };
        self.charge_complete = false;
        self.speed_mps = 0.0;
        self.accel_mps2 = 0.0;
        self.force_n = 0.0;
    }

    fn new_cruise(&mut self) {
        let limit = self.route().speed_limit_kmh / 3.6;
        self.cruise_mps = limit * self.rng.range(0.7, 1.0);
        self.cruise_left_s = self.rng.range(20.0, 90.0);
    }

    fn rest(&mut self, h: f64) -> f64 {
        self.phase_left_s -= h;
        if self.phase_left_s <= 0.0 {
            if self.soc < CHARGE_BELOW_SOC {
                self.plug_in();
            } else {
                self.depart();
            }
        }
        0.0
    }

    fn charge(&mut self, h: f64) -> f64 {
        let aux_w = 300.0;
        if self.charge_complete {
            // Plugged in and full: only the auxiliaries draw from the pack.
            let current = aux_w / self.pack_voltage_v();
            self.current_a = current;
            self.phase_left_s -= h;
            if self.phase_left_s <= 0.0 {
                self.park();
            }
            return current;
        }
        // Constant power up to 80 %, then the BMS tapers the current toward full.
        let taper = if self.soc < 0.8 {
            1.0
        } else {
            (1.0 - (self.soc - 0.8) / 0.2 * 0.85).max(0.15)
        };
        let power = self.charger_w * taper - aux_w;
        let current = -power / self.pack_voltage_v();
        self.current_a = current;
        if self.soc >= self.charge_target {
            self.charge_complete = true;
            self.phase_left_s = self.rng.range(60.0, 600.0);
        }
        current
    }

    /// The distance to where the vehicle must next stand still: a traffic stop, the end of
    /// its trip or the end of its route.
    fn stop_at(&self) -> f64 {
        let to_end = if self.dir > 0.0 {
            self.route().length_m() - self.route_pos_m
        } else {
            self.route_pos_m
        };
        self.stop_in_m.min(self.trip_left_m).min(to_end).max(0.0)
    }

    fn drive(&mut self, h: f64) -> f64 {
        let holding = self.elapsed_s < self.hold_trip_until_s;
        if holding {
            // The fault must find the vehicle on the road and moving (a platform only calls a
            // moving vehicle's silence "offline"): the trip's end and the next traffic stop
            // stay ahead — a green wave.
            self.trip_left_m = self.trip_left_m.max(1_000.0);
            self.stop_in_m = self.stop_in_m.max(1_000.0);
        }
        let length = self.route().length_m();
        let stop_at = self.stop_at();
        let v = self.speed_mps;
        let a = if self.dwell_s > 0.0 {
            self.dwell_s -= h;
            0.0
        } else if stop_at <= 2.0 {
            // At the stop line: stop as fast as the brakes allow.
            -(v / h).min(MAX_DECEL)
        } else {
            self.cruise_left_s -= h;
            if self.cruise_left_s <= 0.0 {
                self.new_cruise();
            }
            // Brake for the stop once the deceleration it needs reaches a comfortable level
            // (aiming two metres short keeps a margin for the step's discreteness).
            let needed = v * v / (2.0 * (stop_at - 2.0));
            if needed >= COMFORT_DECEL {
                -needed.min(MAX_DECEL)
            } else {
                let power_limited =
                    self.spec.max_power_w * DRIVE_EFFICIENCY / (self.spec.mass_kg * v.max(1.0));
                ((self.cruise_mps - v) / h).clamp(-COMFORT_DECEL, MAX_ACCEL.min(power_limited))
            }
        };
        let v_new = (v + a * h).max(0.0);
        // The trapezoid: distance always agrees with the speeds reported before and after.
        let d = (v + v_new) / 2.0 * h;
        self.accel_mps2 = (v_new - v) / h;
        self.speed_mps = v_new;
        let before = self.route_pos_m;
        self.route_pos_m = (self.route_pos_m + self.dir * d).clamp(0.0, length);
        let moved = (self.route_pos_m - before).abs();
        self.stop_in_m -= moved;
        self.trip_left_m -= moved;
        self.odometer_m += moved;

        // Power at the wheels from the forces, and the battery power that supplies it.
        let v_avg = (v + v_new) / 2.0;
        let rolling = if v_avg > 0.0 {
            self.spec.mass_kg * G * self.spec.crr
        } else {
            0.0
        };
        let aero = 0.5 * AIR_DENSITY * self.spec.cda_m2 * v_avg * v_avg;
        self.force_n = self.spec.mass_kg * self.accel_mps2 + rolling + aero;
        let wheel_w = self.force_n * v_avg;
        let battery_w = if wheel_w >= 0.0 {
            wheel_w / DRIVE_EFFICIENCY
        } else {
            (wheel_w * REGEN_EFFICIENCY).max(-MAX_REGEN_W)
        };
        let aux_w = 800.0 + (self.spec.ambient_c - 20.0).abs() * 60.0;
        let current = (battery_w + aux_w) / self.pack_voltage_v();
        self.current_a = current;

        if self.soc < RESERVE_SOC {
            // Head for a charger: end the trip at the next stop the driver can make calmly.
            let calm = v_new * v_new / (2.0 * COMFORT_DECEL) + 50.0;
            self.trip_left_m = self.trip_left_m.min(self.stop_in_m.max(calm));
        }
        if self.speed_mps == 0.0 && self.dwell_s <= 0.0 && self.stop_at() < 2.5 {
            if self.trip_left_m < 2.5 {
                self.park();
            } else {
                let to_end = if self.dir > 0.0 {
                    length - self.route_pos_m
                } else {
                    self.route_pos_m
                };
                if to_end < 2.5 {
                    // End of the route: turn round and drive back.
                    self.dir = -self.dir;
                }
                let dwell = self.rng.range(10.0, 60.0);
                self.dwell_s = if holding { 0.0 } else { dwell };
                self.stop_in_m = self.rng.range(300.0, 1_500.0);
            }
        }
        current
    }

    fn heat(&mut self, h: f64, current: f64) {
        let ambient = self.spec.ambient_c;
        let q = current * current * self.spec.pack_resistance();
        let mean = self.probe_c.iter().sum::<f64>() / PROBES as f64;
        let cooling = mean > COOLING_ON_C;
        for (t, k) in self.probe_c.iter_mut().zip(&self.spec.probe_heat) {
            let mut dt = k * q / PACK_HEAT_CAPACITY - (*t - ambient) / PACK_TAU_S;
            if cooling {
                // The chiller can cool below a hot day's ambient.
                dt -= (*t - chiller_c(ambient)) / COOLING_TAU_S;
            }
            *t += dt * h;
        }
        if let Some((f, _)) = self.fault_time()
            && f.fault == Fault::Thermal
        {
            // Runaway: the failing module's probes climb on their own heat, slowing only as
            // the module's energy is spent near the peak.
            let first = f.index;
            for (j, share) in RUNAWAY_PROBE_SHARE.iter().enumerate() {
                let t = &mut self.probe_c[first + j];
                let slowing = ((RUNAWAY_PEAK_C - *t) / RUNAWAY_KNEE_C).clamp(0.0, 1.0);
                *t += RUNAWAY_C_PER_S * share * slowing * h;
            }
        }
        // Motors lose about 5 % of their power as heat, controllers about 2 %.
        let shaft_w = (self.force_n * self.speed_mps).abs();
        for i in 0..self.spec.motors {
            let share = self.motor_share(i);
            let m = &mut self.motor_c[i];
            *m += (0.05 * shaft_w * share / 20_000.0 - (*m - ambient) / 600.0) * h;
            let c = &mut self.controller_c[i];
            *c += (0.02 * shaft_w * share / 8_000.0 - (*c - ambient) / 400.0) * h;
        }
        if self
            .fault_time()
            .is_some_and(|(f, _)| f.fault == Fault::Insulation)
        {
            // Held at the breakdown value by `apply_fault`.
            return;
        }
        let target = self.spec.insulation_base_kohm
            * if self.activity == Activity::Charging {
                0.85
            } else {
                1.0
            };
        let noise = self.rng.range(-0.002, 0.002) * target;
        self.insulation_kohm += (target - self.insulation_kohm) * (h / 300.0).min(1.0) + noise;
    }

    /// Cell voltages from SOC, the spread between cells, their slow drift and the IR drop.
    fn update_cells(&mut self, dt: f64) {
        // The shorted cell of a drift fault, and how far it has fallen.
        let shorted = match self.fault_time() {
            Some((f, t)) if f.fault == Fault::CellDrift => {
                Some((f.index, DRIFT_V * (t / DRIFT_RAMP_S).min(1.0)))
            }
            _ => None,
        };
        let walk = 0.0004 * dt.min(3600.0).sqrt();
        for i in 0..CELLS {
            let d = &mut self.cell_drift[i];
            if walk > 0.0 {
                *d = (*d + self.rng.range(-walk, walk)).clamp(-0.005, 0.005);
            }
            let cell_soc = self.soc + self.spec.cell_offset[i] + *d;
            self.cell_v[i] = ocv(cell_soc) - self.current_a * self.spec.cell_r[i];
            if let Some((cell, fallen)) = shorted
                && cell == i
            {
                self.cell_v[i] -= fallen;
            }
        }
    }

    fn route(&self) -> &'static Route {
        &routes()[self.route]
    }

    fn capacity_kwh(&self) -> f64 {
        self.spec.capacity_ah * ocv(0.5) * CELLS as f64 / 1000.0
    }

    /// Front motor takes 40 % of the force in a dual-motor car.
    fn motor_share(&self, i: usize) -> f64 {
        match (self.spec.motors, i) {
            (1, _) => 1.0,
            (_, 0) => 0.4,
            _ => 0.6,
        }
    }

    pub fn vin(&self) -> &str {
        &self.vin
    }

    pub fn activity(&self) -> Activity {
        self.activity
    }

    /// Seconds simulated since the vehicle was built.
    pub fn elapsed_s(&self) -> f64 {
        self.elapsed_s
    }

    /// The fault this vehicle was given and its onset (simulated seconds since it was built),
    /// whether or not it has set in yet.
    pub fn fault(&self) -> Option<(Fault, f64)> {
        self.fault.as_ref().map(|f| (f.fault, f.onset_s))
    }

    /// Whether the vehicle's fault has set in.
    pub fn fault_active(&self) -> bool {
        self.fault_time().is_some()
    }

    /// The general alarm flags the vehicle's BMS raises now, by standard name, with levels.
    /// They are raised from the onset on: the BMS's runaway detection (pressure and gas, not
    /// just the probes) and its insulation monitor react at once.
    pub fn alarms(&self) -> &'static [RaisedAlarm] {
        match self.fault_time().map(|(f, _)| f.fault) {
            Some(Fault::Thermal) => &THERMAL_ALARMS,
            Some(Fault::Insulation) => &INSULATION_ALARMS,
            Some(Fault::CellDrift | Fault::Offline) | None => &[],
        }
    }

    pub fn speed_kmh(&self) -> f64 {
        self.speed_mps * 3.6
    }

    pub fn accel_mps2(&self) -> f64 {
        self.accel_mps2
    }

    pub fn odometer_km(&self) -> f64 {
        self.odometer_m / 1000.0
    }

    pub fn soc_pct(&self) -> f64 {
        self.soc * 100.0
    }

    /// Battery current, A; positive while discharging, negative while charging.
    pub fn current_a(&self) -> f64 {
        self.current_a
    }

    /// The sum of the cell voltages.
    pub fn pack_voltage_v(&self) -> f64 {
        self.cell_v.iter().sum()
    }

    pub fn cell_voltages_v(&self) -> &[f64] {
        &self.cell_v
    }

    pub fn probe_temps_c(&self) -> &[f64] {
        &self.probe_c
    }

    pub fn ambient_c(&self) -> f64 {
        self.spec.ambient_c
    }

    pub fn insulation_kohm(&self) -> f64 {
        self.insulation_kohm
    }

    pub fn route_name(&self) -> &'static str {
        self.route().name
    }

    /// (longitude, latitude), WGS-84 degrees.
    pub fn position(&self) -> (f64, f64) {
        let (lon, lat, _) = self.route().locate(self.route_pos_m);
        (lon, lat)
    }

    /// Direction of travel, degrees clockwise from north.
    pub fn heading_deg(&self) -> f64 {
        let (_, _, h) = self.route().locate(self.route_pos_m);
        if self.dir > 0.0 {
            h
        } else {
            (h + 180.0) % 360.0
        }
    }

    pub fn gear(&self) -> GearPosition {
        match self.activity {
            Activity::Driving => GearPosition::Drive,
            _ => GearPosition::Park,
        }
    }

    /// Whether the motors push (Table A.1's drive-force bit).
    pub fn drive_force(&self) -> bool {
        self.activity == Activity::Driving && self.force_n > 0.0 && self.speed_mps > 0.0
    }

    /// Whether the brakes hold or slow the car (Table A.1's brake-force bit).
    pub fn brake_force(&self) -> bool {
        self.activity == Activity::Driving
            && (self.accel_mps2 < -0.3 || (self.speed_mps == 0.0 && self.dwell_s > 0.0))
    }

    pub fn accelerator_pct(&self) -> f64 {
        if self.drive_force() {
            (self.force_n * self.speed_mps / self.spec.max_power_w * 100.0).clamp(0.0, 100.0)
        } else {
            0.0
        }
    }

    pub fn brake_pct(&self) -> f64 {
        if !self.brake_force() {
            0.0
        } else if self.speed_mps == 0.0 {
            20.0
        } else {
            (-self.accel_mps2 / MAX_DECEL * 100.0).clamp(0.0, 100.0)
        }
    }

    pub fn charge_state(&self) -> ChargeState {
        match (self.activity, self.charge_complete) {
            (Activity::Charging, false) => ChargeState::Charging,
            (Activity::Charging, true) => ChargeState::Complete,
            _ => ChargeState::NotCharging,
        }
    }

    /// The DC-DC converter runs whenever the high-voltage system is on.
    pub fn dcdc_working(&self) -> bool {
        self.activity != Activity::Parked
    }

    pub fn motor_count(&self) -> usize {
        self.spec.motors
    }

    /// Motor `i` (0-based): speed from the wheels, torque from its share of the tractive force.
    pub fn motor(&self, i: usize) -> MotorReading {
        let ratio = self.spec.gear_ratio;
        let wheel_rps = self.speed_mps / (2.0 * std::f64::consts::PI * self.spec.wheel_radius_m);
        let speed_rpm = wheel_rps * 60.0 * ratio;
        let driving = self.activity == Activity::Driving;
        let torque_nm = if driving {
            self.force_n * self.motor_share(i) * self.spec.wheel_radius_m / ratio
        } else {
            0.0
        };
        let mode = if !driving {
            MotorMode::Off
        } else if speed_rpm < 1.0 || torque_nm.abs() < 0.5 {
            MotorMode::Ready
        } else if torque_nm > 0.0 {
            MotorMode::Consuming
        } else {
            MotorMode::Generating
        };
        let voltage = self.pack_voltage_v();
        let shaft_w = torque_nm * speed_rpm * std::f64::consts::PI / 30.0;
        let electric_w = if shaft_w >= 0.0 {
            shaft_w / 0.95
        } else {
            shaft_w * 0.95
        };
        MotorReading {
            no: i as u8 + 1,
            mode,
            speed_rpm,
            torque_nm,
            temp_c: self.motor_c[i],
            controller_temp_c: self.controller_c[i],
            controller_voltage_v: voltage,
            controller_current_a: electric_w / voltage,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::{TIANJIN_BOX, haversine_m};

    fn in_box((lon, lat): (f64, f64)) -> bool {
        let (x0, y0, x1, y1) = TIANJIN_BOX;
        (x0..=x1).contains(&lon) && (y0..=y1).contains(&lat)
    }

    /// One reading per step, for the checks below.
    #[derive(Debug, Clone)]
    struct Reading {
        activity: Activity,
        speed_kmh: f64,
        odometer_km: f64,
        soc: f64,
        pos: (f64, f64),
    }

    fn reading(v: &Vehicle) -> Reading {
        Reading {
            activity: v.activity(),
            speed_kmh: v.speed_kmh(),
            odometer_km: v.odometer_km(),
            soc: v.soc_pct(),
            pos: v.position(),
        }
    }

    /// Checks every invariant of one vehicle's hour and returns the readings.
    fn simulate_hour(mut v: Vehicle, dt: f64) -> Vec<Reading> {
        let steps = (3600.0 / dt) as usize;
        let mut out = vec![reading(&v)];
        for _ in 0..steps {
            v.step(dt);
            let r = reading(&v);
            let prev = out.last().unwrap();
            let vin = v.vin();
            assert!(
                r.odometer_km >= prev.odometer_km,
                "{vin}: odometer went back"
            );
            assert!(in_box(r.pos), "{vin}: left Tianjin at {:?}", r.pos);
            // Straight-line distance never beats the path the speeds allow (1 % for the
            // projection, 0.5 m for rounding).
            let moved = haversine_m(prev.pos, r.pos);
            let max_speed = prev.speed_kmh.max(r.speed_kmh) / 3.6;
            if dt <= MAX_SUBSTEP {
                let trapezoid = (prev.speed_kmh + r.speed_kmh) / 3.6 / 2.0 * dt;
                assert!(
                    moved <= trapezoid * 1.01 + 0.5,
                    "{vin}: {moved} m in {dt} s"
                );
            }
            assert!(
                moved <= (r.odometer_km - prev.odometer_km) * 1000.0 * 1.01 + 0.5,
                "{vin}: moved {moved} m, odometer {}",
                r.odometer_km - prev.odometer_km
            );
            assert!(
                dt > MAX_SUBSTEP || moved <= max_speed * dt * 1.01 + 0.5,
                "{vin}: {moved} m at ≤ {max_speed} m/s"
            );
            assert!(r.speed_kmh <= 110.0, "{vin}: {} km/h", r.speed_kmh);
            if dt <= MAX_SUBSTEP && r.activity == prev.activity {
                let a = (r.speed_kmh - prev.speed_kmh) / 3.6 / dt;
                assert!(
                    (-MAX_DECEL - 1e-9..=MAX_ACCEL + 1e-9).contains(&a),
                    "{vin}: {a} m/s²"
                );
            }
            if r.activity != Activity::Driving {
                assert_eq!(r.speed_kmh, 0.0);
            }
            if r.activity != Activity::Driving && prev.activity != Activity::Driving {
                assert_eq!(r.pos, prev.pos, "{vin}: moved while {:?}", r.activity);
            }
            check_battery(&v);
            out.push(r);
        }
        out
    }

    fn check_battery(v: &Vehicle) {
        let vin = v.vin();
        let cells = v.cell_voltages_v();
        assert_eq!(cells.len(), CELLS);
        let sum: f64 = cells.iter().sum();
        assert!((v.pack_voltage_v() - sum).abs() < 1e-6);
        let (lo, hi) = cells
            .iter()
            .fold((f64::MAX, f64::MIN), |(l, h), &c| (l.min(c), h.max(c)));
        assert!(lo > 3.0 && hi < 4.35, "{vin}: cells {lo}–{hi} V");
        assert!(hi - lo < 0.2, "{vin}: spread {} V", hi - lo);
        // The mean cell sits at the OCV of the pack's SOC, less the resistive drop.
        let mean = sum / CELLS as f64;
        let drop = v.current_a() * 0.65e-3;
        let expected = ocv(v.soc_pct() / 100.0) - drop;
        assert!(
            (mean - expected).abs() < 0.05 + v.current_a().abs() * 0.15e-3,
            "{vin}: mean cell {mean} V, expected {expected} V at {} % and {} A",
            v.soc_pct(),
            v.current_a()
        );
        for &t in v.probe_temps_c() {
            assert!(
                t >= chiller_c(v.ambient_c()) - 0.5 && t <= 60.0,
                "{vin}: probe {t} °C (ambient {})",
                v.ambient_c()
            );
        }
        let i = v.insulation_kohm();
        assert!(
            (1_000.0..=20_000.0).contains(&i),
            "{vin}: insulation {i} kΩ"
        );
        for m in 0..v.motor_count() {
            let r = v.motor(m);
            let rpm_per_kmh = if v.speed_kmh() > 0.0 {
                r.speed_rpm / v.speed_kmh()
            } else {
                0.0
            };
            assert!(
                v.speed_kmh() == 0.0 && r.speed_rpm == 0.0 || (50.0..=110.0).contains(&rpm_per_kmh),
                "{vin}: {} rpm at {} km/h",
                r.speed_rpm,
                v.speed_kmh()
            );
            assert!(r.torque_nm.abs() < 600.0, "{vin}: {} N·m", r.torque_nm);
            assert!(r.temp_c < 120.0 && r.controller_temp_c < 100.0);
        }
    }

    /// Splits readings into runs of one activity.
    fn phases(readings: &[Reading]) -> Vec<&[Reading]> {
        readings.chunk_by(|a, b| a.activity == b.activity).collect()
    }

    #[test]
    fn a_fleet_hour_keeps_every_invariant() {
        let mut drove = 0;
        let mut charged = 0;
        let mut total_km = 0.0;
        for i in 0..40 {
            let v = Vehicle::new(vin_for("LSIM", i).unwrap(), 1000 + i);
            let readings = simulate_hour(v, 1.0);
            for p in phases(&readings) {
                let (first, last) = (&p[0], &p[p.len() - 1]);
                let km = last.odometer_km - first.odometer_km;
                match first.activity {
                    Activity::Driving if km > 1.0 => {
                        drove += 1;
                        assert!(last.soc < first.soc, "SOC did not fall over {km} km");
                        // 0.08–0.35 kWh/km covers a light car in town to a heavy one on the
                        // expressway; ~0.5 kWh per SOC point.
                        let kwh_per_km = (first.soc - last.soc) / 100.0 * 55.0 / km;
                        assert!((0.05..0.45).contains(&kwh_per_km), "{kwh_per_km} kWh/km");
                    }
                    Activity::Charging if p.len() > 120 => {
                        charged += 1;
                        assert!(last.soc > first.soc);
                        assert_eq!(km, 0.0);
                    }
                    Activity::Parked => assert!((last.soc - first.soc).abs() < 1e-9),
                    _ => {}
                }
                total_km += km;
            }
        }
        assert!(drove >= 15, "only {drove} drives");
        assert!(charged >= 3, "only {charged} charges");
        // 40 vehicles, about half driving at any moment at 20–60 km/h average.
        assert!((150.0..1200.0).contains(&total_km), "{total_km} km");
    }

    #[test]
    fn coarse_steps_give_the_same_kind_of_hour() {
        // Reports 10 s apart integrate in 1 s substeps: invariants hold at the coarse scale.
        for i in 0..10 {
            simulate_hour(Vehicle::new(vin_for("LSIM", i).unwrap(), 77 + i), 10.0);
        }
    }

    #[test]
    fn a_vehicle_goes_parked_driving_parked_charging() {
        let mut v = Vehicle::starting("LSIMSEQ0000000001", 5, Activity::Parked, 45.0);
        let mut seen = vec![v.activity()];
        for _ in 0..6 * 3600 {
            v.step(1.0);
            if seen.last() != Some(&v.activity()) {
                seen.push(v.activity());
            }
        }
        let text = format!("{seen:?}");
        assert!(
            text.contains("Parked, Driving, Parked") && text.contains("Charging"),
            "{text}"
        );
    }

    #[test]
    fn charging_raises_soc_and_warms_the_pack() {
        let mut v = Vehicle::starting("LSIMCHG0000000001", 9, Activity::Charging, 20.0);
        let t0 = v.probe_temps_c().iter().sum::<f64>();
        let soc0 = v.soc_pct();
        assert_eq!(v.charge_state(), ChargeState::Charging);
        assert!(v.current_a() < 0.0);
        v.step(600.0);
        assert!(v.soc_pct() > soc0 + 1.0, "{} → {}", soc0, v.soc_pct());
        assert!(v.probe_temps_c().iter().sum::<f64>() > t0);
        assert_eq!(v.speed_kmh(), 0.0);
    }

    #[test]
    fn same_seed_same_vehicle() {
        let mut a = Vehicle::new("LSIM0000000000001", 42);
        let mut b = Vehicle::new("LSIM0000000000001", 42);
        for _ in 0..100 {
            a.step(3.0);
            b.step(3.0);
        }
        assert_eq!(a.position(), b.position());
        assert_eq!(a.cell_voltages_v(), b.cell_voltages_v());
        let c = Vehicle::new("LSIM0000000000002", 43);
        assert_ne!(a.position(), c.position());
    }

    #[test]
    fn vins_are_17_characters_and_unique() {
        assert_eq!(vin_for("LSIM", 42).unwrap(), "LSIM0000000000042");
        assert_eq!(vin_for("LA9", 7).unwrap(), "LA900000000000007");
        assert!(vin_for("LSIM", 10_u64.pow(13)).is_err());
        assert!(vin_for("L-S", 1).is_err());
        assert!(vin_for("ABCDEFGHIJKLMNOPQ", 1).is_err());
        let vins: std::collections::HashSet<_> =
            (0..1000).map(|i| vin_for("LSIM", i).unwrap()).collect();
        assert_eq!(vins.len(), 1000);
    }

    #[test]
    fn raised_alarms_are_standard_flag_names() {
        use model::alarm_flags::{FLAG_NAMES_2016, FLAG_NAMES_2025};
        for a in THERMAL_ALARMS.iter().chain(&INSULATION_ALARMS) {
            assert!(FLAG_NAMES_2025.contains(&a.name), "{}", a.name);
            // 2016 has no thermal event bit; the encoder leaves it out there.
            assert!(
                FLAG_NAMES_2016.contains(&a.name) || a.name == "thermal_event",
                "{}",
                a.name
            );
        }
    }

    #[test]
    fn ocv_is_monotonic_between_3_3_and_4_15() {
        assert_eq!(ocv(0.0), 3.30);
        assert_eq!(ocv(1.0), 4.15);
        assert_eq!(ocv(2.0), 4.15);
        let mut last = 0.0;
        for i in 0..=1000 {
            let v = ocv(f64::from(i) / 1000.0);
            assert!(v >= last);
            last = v;
        }
    }
}
