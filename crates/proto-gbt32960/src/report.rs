//! Realtime (0x02) and reissue (0x03) reports: the collection time, then information blocks in
//! arrival order, and in 2025 a trailing signature.
//!
//! The two editions reuse type numbers for different blocks (0x06–0x08), so each has its own
//! block enum and the frame's start bytes pick which one is read.

use std::ops::Range;

use serde::Serialize;
use wire::{DecodeError, Reader, Writer};

use crate::EncodeError;
use crate::layout::fixed;
use crate::value::{
    Brake, CellV, ChargingState, CoordSystem, DcdcState, EngineState, Gear, List, MotorState, Num8,
    Num16, RunMode, Scaled, SigAlgorithm, TempC, Time, VehicleState, hex_bytes,
};

#[cfg(test)]
use crate::value::arb;
#[cfg(test)]
use proptest::prelude::*;

/// A realtime or reissue report of either edition.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Report {
    V2016(Report2016),
    V2025(Report2025),
}

impl Report {
    pub fn time(&self) -> Time {
        match self {
            Self::V2016(r) => r.time,
            Self::V2025(r) => r.time,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report2016 {
    pub time: Time,
    pub blocks: Vec<Block2016>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report2025 {
    pub time: Time,
    pub blocks: Vec<Block2025>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signature>,
    /// Bytes after the signature (seen in the wild; kept so the frame re-encodes unchanged).
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "hex_bytes")]
    pub trailing: Vec<u8>,
}

/// A signature: in a 2025 report it follows the 0xFF marker; in an activation it ends the body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Signature {
    pub algorithm: SigAlgorithm,
    #[serde(serialize_with = "hex_bytes")]
    pub r: Vec<u8>,
    #[serde(serialize_with = "hex_bytes")]
    pub s: Vec<u8>,
    /// Byte offsets within the frame of the data the signature covers: from the first byte of the
    /// collection time to the byte before the 0xFF marker (the reading of rtm_con and sunsky74).
    /// Set by the decoder; the encoder ignores it.
    pub signed_range: Range<usize>,
}

impl Signature {
    pub(crate) fn read(
        r: &mut Reader<'_>,
        signed_range: Range<usize>,
    ) -> Result<Self, DecodeError> {
        let algorithm = SigAlgorithm(r.u8("signature.algorithm")?);
        let rl = r.u16("signature.r_length")?;
        let rv = r.bytes(usize::from(rl), "signature.r")?.to_vec();
        let sl = r.u16("signature.s_length")?;
        let sv = r.bytes(usize::from(sl), "signature.s")?.to_vec();
        Ok(Self {
            algorithm,
            r: rv,
            s: sv,
            signed_range,
        })
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.put_u8(self.algorithm.0);
        for (part, what) in [(&self.r, "signature R"), (&self.s, "signature S")] {
            let len = u16::try_from(part.len()).map_err(|_| EncodeError::TooMany {
                what,
                count: part.len(),
            })?;
            out.put_u16(len);
            out.put_slice(part);
        }
        Ok(())
    }
}

/// A vendor block 0x80–0xFE (WORD length + data), or the raw remainder after an information type
/// this decoder does not know (its length is implicit, so nothing after it can be read).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RawBlock {
    pub type_id: u8,
    #[serde(serialize_with = "hex_bytes")]
    pub data: Vec<u8>,
}

/// Blocks of a 2016 report (main body and Annex B).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block2016 {
    Vehicle(Vehicle2016),
    Motors(Motors2016),
    FuelCell(FuelCell2016),
    Engine(Engine2016),
    Position(Position),
    Extremes(Extremes2016),
    Alarm(Alarm2016),
    CellVoltages(CellVoltages2016),
    ProbeTemperatures(ProbeTemperatures2016),
    UserDefined(RawBlock),
    Unknown(RawBlock),
}

/// Blocks of a 2025 report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block2025 {
    Vehicle(Vehicle2025),
    Motors(Motors2025),
    FuelCell(FuelCell2025),
    Engine(Engine2025),
    Position(Position2025),
    Alarm(Alarm2025),
    PackVoltages(PackVoltages2025),
    PackTemperatures(PackTemperatures2025),
    FuelCellStacks(FuelCellStacks2025),
    SuperCapacitor(SuperCapacitor2025),
    SuperCapacitorExtremes(SuperCapacitorExtremes2025),
    UserDefined(RawBlock),
    Unknown(RawBlock),
}

fixed! { "vehicle"
    /// 0x01 vehicle data, 2016 (20 bytes; the last two are the Annex B pedals, which the main
    /// body reserves and every terminal in the field sends).
    pub struct Vehicle2016 {
        vehicle_state: VehicleState,
        charging_state: ChargingState,
        run_mode: RunMode,
        speed_kmh: Scaled<u16, 0, 10>,
        odometer_km: Scaled<u32, 0, 10>,
        total_voltage_v: Scaled<u16, 0, 10>,
        total_current_a: Scaled<u16, 10000, 10>,
        soc_pct: Num8,
        dcdc_state: DcdcState,
        gear: Gear,
        /// 2016 defines no sentinel for it.
        insulation_kohm: Scaled<u16, 0, 1, false>,
        accelerator_pct: Num8,
        /// 0–100 % travel; 101 (shown as `on`) = brake on without a travel value.
        brake_pct: Brake,
    }
}

fixed! { "vehicle"
    /// 0x01 vehicle data, 2025 (18 bytes).
    pub struct Vehicle2025 {
        vehicle_state: VehicleState,
        charging_state: ChargingState,
        run_mode: RunMode,
        speed_kmh: Scaled<u16, 0, 10>,
        odometer_km: Scaled<u32, 0, 10>,
        total_voltage_v: Scaled<u16, 0, 10>,
        total_current_a: Scaled<u16, 30000, 10>,
        soc_pct: Num8,
        dcdc_state: DcdcState,
        gear: Gear,
        insulation_kohm: Num16,
    }
}

fixed! { "motor"
    /// One drive motor, 2016 (12 bytes).
    pub struct Motor2016 {
        no: Num8,
        state: MotorState,
        controller_temp_c: TempC,
        speed_rpm: Scaled<u16, 20000, 1>,
        torque_nm: Scaled<u16, 20000, 10>,
        temp_c: TempC,
        controller_voltage_v: Scaled<u16, 0, 10>,
        controller_current_a: Scaled<u16, 10000, 10>,
    }
}

fixed! { "motor"
    /// One drive motor, 2025 (10 bytes).
    pub struct Motor2025 {
        no: Num8,
        state: MotorState,
        controller_temp_c: TempC,
        speed_rpm: Scaled<u16, 32000, 1>,
        torque_nm: Scaled<u32, 200_000, 10>,
        temp_c: TempC,
    }
}

/// 0x02 drive motors, 2016.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Motors2016 {
    #[cfg_attr(test, proptest(strategy = "arb::list(any::<Motor2016>(), 4)"))]
    pub motors: List<Motor2016>,
}

/// 0x02 drive motors, 2025.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Motors2025 {
    #[cfg_attr(test, proptest(strategy = "arb::list(any::<Motor2025>(), 4)"))]
    pub motors: List<Motor2025>,
}

/// 0x03 fuel cell, 2016.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct FuelCell2016 {
    pub voltage_v: Scaled<u16, 0, 10>,
    pub current_a: Scaled<u16, 0, 10>,
    pub consumption_kg_per_100km: Scaled<u16, 0, 100>,
    /// 2016 defines no sentinel for the probe temperatures.
    #[cfg_attr(
        test,
        proptest(strategy = "arb::list(any::<Scaled<u8, 40, 1, false>>(), 8)")
    )]
    pub probe_temps_c: List<Scaled<u8, 40, 1, false>>,
    pub tail: FuelCellTail2016,
}

fixed! { "fuel_cell"
    /// The fixed fields after the probe list of a 2016 fuel-cell block.
    pub struct FuelCellTail2016 {
        h2_max_temp_c: Scaled<u16, 400, 10>,
        h2_max_temp_probe: Num8,
        h2_max_concentration_mg_per_kg: Num16,
        h2_concentration_sensor: Num8,
        /// 2016 defines no sentinel for it.
        h2_max_pressure_mpa: Scaled<u16, 0, 10, false>,
        h2_pressure_sensor: Num8,
        dcdc_state: DcdcState,
    }
}

fixed! { "fuel_cell"
    /// 0x03 fuel-cell engine and on-board hydrogen system, 2025 (12 bytes).
    pub struct FuelCell2025 {
        h2_max_temp_c: Scaled<u16, 40, 1>,
        h2_max_temp_probe: Num8,
        h2_max_concentration_pct: Scaled<u16, 0, 10000>,
        h2_concentration_sensor: Num8,
        h2_max_pressure_mpa: Scaled<u16, 0, 10>,
        h2_pressure_sensor: Num8,
        dcdc_state: DcdcState,
        h2_remaining_pct: Num8,
        dcdc_temp_c: TempC,
    }
}

fixed! { "engine"
    /// 0x04 engine, 2016 (5 bytes).
    pub struct Engine2016 {
        state: EngineState,
        crankshaft_rpm: Num16,
        fuel_consumption_l_per_100km: Scaled<u16, 0, 100>,
    }
}

fixed! { "engine"
    /// 0x04 engine, 2025: crankshaft speed only (2 bytes).
    pub struct Engine2025 {
        crankshaft_rpm: Num16,
    }
}

/// 0x05 position (2016: 9 bytes). Status bit 0 set = no valid fix (the last valid position is
/// still sent); bit 1 = south; bit 2 = west. Coordinates are degrees × 10⁶.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Position {
    pub status: u8,
    pub lon: Scaled<u32, 0, 1_000_000>,
    pub lat: Scaled<u32, 0, 1_000_000>,
}

impl Position {
    pub fn is_valid(&self) -> bool {
        self.status & 0x01 == 0
    }

    /// Signed degrees (west negative).
    pub fn lon_deg(&self) -> Option<f64> {
        self.lon
            .get()
            .map(|v| if self.status & 0x04 != 0 { -v } else { v })
    }

    /// Signed degrees (south negative).
    pub fn lat_deg(&self) -> Option<f64> {
        self.lat
            .get()
            .map(|v| if self.status & 0x02 != 0 { -v } else { v })
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            status: r.u8("position.status")?,
            lon: Scaled::read(r, "position.lon")?,
            lat: Scaled::read(r, "position.lat")?,
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.put_u8(self.status);
        self.lon.write(out);
        self.lat.write(out);
    }
}

impl Serialize for Position {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("status", &self.status)?;
        m.serialize_entry("valid", &self.is_valid())?;
        match self.lon_deg() {
            Some(v) => m.serialize_entry("lon", &v)?,
            None => m.serialize_entry("lon", &self.lon)?,
        }
        match self.lat_deg() {
            Some(v) => m.serialize_entry("lat", &v)?,
            None => m.serialize_entry("lat", &self.lat)?,
        }
        m.end()
    }
}

/// 0x05 position, 2025 (10 bytes): the coordinate system comes between status and longitude.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Position2025 {
    pub coord_system: CoordSystem,
    pub position: Position,
}

impl Serialize for Position2025 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let p = &self.position;
        let mut m = s.serialize_map(Some(5))?;
        m.serialize_entry("status", &p.status)?;
        m.serialize_entry("valid", &p.is_valid())?;
        m.serialize_entry("coord_system", &self.coord_system)?;
        match p.lon_deg() {
            Some(v) => m.serialize_entry("lon", &v)?,
            None => m.serialize_entry("lon", &p.lon)?,
        }
        match p.lat_deg() {
            Some(v) => m.serialize_entry("lat", &v)?,
            None => m.serialize_entry("lat", &p.lat)?,
        }
        m.end()
    }
}

fixed! { "extremes"
    /// 0x06 extreme values, 2016 (14 bytes).
    pub struct Extremes2016 {
        max_voltage_subsystem: Num8,
        max_voltage_cell: Num8,
        max_cell_voltage_v: CellV,
        min_voltage_subsystem: Num8,
        min_voltage_cell: Num8,
        min_cell_voltage_v: CellV,
        max_temp_subsystem: Num8,
        max_temp_probe: Num8,
        max_temp_c: TempC,
        min_temp_subsystem: Num8,
        min_temp_probe: Num8,
        min_temp_c: TempC,
    }
}

/// A manufacturer-defined fault code (DWORD), shown as 8 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct FaultCode(pub u32);

impl Serialize for FaultCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{:08X}", self.0))
    }
}

/// The four fault-code lists both editions carry.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct FaultLists {
    #[cfg_attr(test, proptest(strategy = "arb::list(any::<FaultCode>(), 4)"))]
    pub ress_faults: List<FaultCode>,
    #[cfg_attr(test, proptest(strategy = "arb::list(any::<FaultCode>(), 4)"))]
    pub motor_faults: List<FaultCode>,
    #[cfg_attr(test, proptest(strategy = "arb::list(any::<FaultCode>(), 4)"))]
    pub engine_faults: List<FaultCode>,
    #[cfg_attr(test, proptest(strategy = "arb::list(any::<FaultCode>(), 4)"))]
    pub other_faults: List<FaultCode>,
}

impl FaultLists {
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let mut one =
            |field| List::read::<u8>(r, field, 4, |r| r.u32("alarm.fault_code").map(FaultCode));
        Ok(Self {
            ress_faults: one("alarm.ress_fault_count")?,
            motor_faults: one("alarm.motor_fault_count")?,
            engine_faults: one("alarm.engine_fault_count")?,
            other_faults: one("alarm.other_fault_count")?,
        })
    }

    fn write(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        for list in [
            &self.ress_faults,
            &self.motor_faults,
            &self.engine_faults,
            &self.other_faults,
        ] {
            list.write::<u8>(out, "fault codes", |c, o| {
                o.put_u32(c.0);
                Ok(())
            })?;
        }
        Ok(())
    }
}

/// General alarm flags with the names of the edition's Table 18 (2016) or Table 24 (2025).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct AlarmFlags<const EDITION: u16>(pub u32);

impl<const EDITION: u16> AlarmFlags<EDITION> {
    /// Indices of the set bits, lowest first.
    pub fn bits(self) -> impl Iterator<Item = u8> {
        (0u8..32).filter(move |b| self.0 >> b & 1 == 1)
    }
}

impl<const EDITION: u16> Serialize for AlarmFlags<EDITION> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let names: Vec<String> = self
            .bits()
            .map(
                |b| match model::alarm_flags::flag_name(EDITION == 2025, b) {
                    Some(n) => n.to_owned(),
                    None => format!("reserved_bit_{b}"),
                },
            )
            .collect();
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("raw", &self.0)?;
        m.serialize_entry("set", &names)?;
        m.end()
    }
}

/// 0x07 alarm, 2016.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Alarm2016 {
    pub max_level: Num8,
    pub flags: AlarmFlags<2016>,
    #[serde(flatten)]
    pub faults: FaultLists,
}

/// One entry of the 2025 per-flag level list (N5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct FlagLevel {
    pub bit: u8,
    pub level: u8,
}

/// 0x06 alarm, 2025: levels go to 4 (thermal event) and each set flag may carry its own level.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Alarm2025 {
    pub max_level: Num8,
    pub flags: AlarmFlags<2025>,
    #[serde(flatten)]
    pub faults: FaultLists,
    #[cfg_attr(test, proptest(strategy = "arb::list(any::<FlagLevel>(), 4)"))]
    pub flag_levels: List<FlagLevel>,
}

/// One subsystem of the 2016 Annex B 0x08 block: cells `start_index..` of `total_cells`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct SubsystemVoltages2016 {
    pub no: u8,
    pub voltage_v: Scaled<u16, 0, 10>,
    pub current_a: Scaled<u16, 10000, 10>,
    pub total_cells: Num16,
    pub start_index: Num16,
    #[cfg_attr(test, proptest(strategy = "arb::list(any::<CellV>(), 12)"))]
    pub cells_v: List<CellV>,
}

/// 0x08 rechargeable energy storage voltages, 2016 Annex B.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct CellVoltages2016 {
    #[cfg_attr(
        test,
        proptest(strategy = "arb::list(any::<SubsystemVoltages2016>(), 3)")
    )]
    pub subsystems: List<SubsystemVoltages2016>,
}

/// Probe temperatures of one subsystem (2016) or pack (2025).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct ProbeGroup {
    pub no: u8,
    #[cfg_attr(test, proptest(strategy = "arb::list(any::<TempC>(), 12)"))]
    pub probes_c: List<TempC>,
}

impl ProbeGroup {
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            no: r.u8("temperatures.no")?,
            probes_c: List::read_values::<u16>(
                r,
                "temperatures.probe_count",
                "temperatures.probe",
            )?,
        })
    }

    fn write(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.put_u8(self.no);
        self.probes_c.write::<u16>(out, "probes", |t, o| {
            t.write(o);
            Ok(())
        })
    }
}

/// 0x09 rechargeable energy storage temperatures, 2016 Annex B.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct ProbeTemperatures2016 {
    #[cfg_attr(test, proptest(strategy = "arb::list(any::<ProbeGroup>(), 3)"))]
    pub subsystems: List<ProbeGroup>,
}

/// One pack of the 2025 0x07 block: voltages of its minimum parallel units.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct PackVoltage2025 {
    pub no: Num8,
    pub voltage_v: Scaled<u16, 0, 10>,
    pub current_a: Scaled<u16, 30000, 10>,
    #[cfg_attr(test, proptest(strategy = "arb::list(any::<CellV>(), 12)"))]
    pub cells_v: List<CellV>,
}

/// 0x07 power-battery minimum-parallel-unit voltages, 2025.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct PackVoltages2025 {
    #[cfg_attr(test, proptest(strategy = "arb::list(any::<PackVoltage2025>(), 3)"))]
    pub packs: List<PackVoltage2025>,
}

/// 0x08 power-battery temperatures, 2025.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct PackTemperatures2025 {
    #[cfg_attr(test, proptest(strategy = "arb::list(any::<ProbeGroup>(), 3)"))]
    pub packs: List<ProbeGroup>,
}

/// One fuel-cell stack (2025 0x30).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct FuelCellStack {
    pub no: Num8,
    pub voltage_v: Scaled<u16, 0, 10>,
    pub current_a: Scaled<u16, 0, 10>,
    pub h2_inlet_pressure_kpa: Scaled<u16, 1000, 10>,
    pub air_inlet_pressure_kpa: Scaled<u16, 1000, 10>,
    pub air_inlet_temp_c: TempC,
    #[cfg_attr(test, proptest(strategy = "arb::list(any::<TempC>(), 8)"))]
    pub coolant_temps_c: List<TempC>,
}

/// 0x30 fuel-cell stacks, 2025.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct FuelCellStacks2025 {
    #[cfg_attr(test, proptest(strategy = "arb::list(any::<FuelCellStack>(), 3)"))]
    pub stacks: List<FuelCellStack>,
}

/// 0x31 super-capacitor, 2025.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct SuperCapacitor2025 {
    pub system_no: Num8,
    pub total_voltage_v: Scaled<u16, 0, 10>,
    pub total_current_a: Scaled<u16, 30000, 10>,
    #[cfg_attr(test, proptest(strategy = "arb::list(any::<CellV>(), 12)"))]
    pub cells_v: List<CellV>,
    #[cfg_attr(test, proptest(strategy = "arb::list(any::<TempC>(), 8)"))]
    pub probes_c: List<TempC>,
}

fixed! { "super_capacitor_extremes"
    /// 0x32 super-capacitor extreme values, 2025 (18 bytes).
    pub struct SuperCapacitorExtremes2025 {
        max_voltage_system: Num8,
        max_voltage_cell: Num16,
        max_cell_voltage_v: CellV,
        min_voltage_system: Num8,
        min_voltage_cell: Num16,
        min_cell_voltage_v: CellV,
        max_temp_system: Num8,
        max_temp_probe: Num16,
        max_temp_c: TempC,
        min_temp_system: Num8,
        min_temp_probe: Num16,
        min_temp_c: TempC,
    }
}

/// The signature marker that ends the blocks of a 2025 report.
const SIGNATURE_MARKER: u8 = 0xFF;

fn read_raw_block(r: &mut Reader<'_>, type_id: u8) -> Result<RawBlock, DecodeError> {
    let len = r.u16("user_defined.length")?;
    Ok(RawBlock {
        type_id,
        data: r.bytes(usize::from(len), "user_defined.data")?.to_vec(),
    })
}

fn write_raw_block(b: &RawBlock, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    if !(0x80..=0xFE).contains(&b.type_id) {
        return Err(EncodeError::Invalid(
            "a user-defined block's type must be 0x80–0xFE",
        ));
    }
    let len = u16::try_from(b.data.len()).map_err(|_| EncodeError::TooMany {
        what: "user-defined block bytes",
        count: b.data.len(),
    })?;
    out.put_u8(b.type_id);
    out.put_u16(len);
    out.put_slice(&b.data);
    Ok(())
}

fn unknown_block(r: &mut Reader<'_>, type_id: u8) -> RawBlock {
    RawBlock {
        type_id,
        data: r.rest().to_vec(),
    }
}

fn write_unknown(b: &RawBlock, out: &mut Vec<u8>) {
    out.put_u8(b.type_id);
    out.put_slice(&b.data);
}

impl Report2016 {
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let time = Time::read(r, "report.time")?;
        let mut blocks = Vec::with_capacity(8);
        while let Some(type_id) = r.peek_u8() {
            r.u8("report.info_type")?;
            let block = match type_id {
                0x01 => Block2016::Vehicle(Vehicle2016::read(r)?),
                0x02 => Block2016::Motors(Motors2016 {
                    motors: List::read::<u8>(r, "motors.count", Motor2016::SIZE, Motor2016::read)?,
                }),
                0x03 => Block2016::FuelCell(FuelCell2016 {
                    voltage_v: Scaled::read(r, "fuel_cell.voltage_v")?,
                    current_a: Scaled::read(r, "fuel_cell.current_a")?,
                    consumption_kg_per_100km: Scaled::read(r, "fuel_cell.consumption")?,
                    probe_temps_c: List::read_values::<u16>(
                        r,
                        "fuel_cell.probe_count",
                        "fuel_cell.probe_temp",
                    )?,
                    tail: FuelCellTail2016::read(r)?,
                }),
                0x04 => Block2016::Engine(Engine2016::read(r)?),
                0x05 => Block2016::Position(Position::read(r)?),
                0x06 => Block2016::Extremes(Extremes2016::read(r)?),
                0x07 => Block2016::Alarm(Alarm2016 {
                    max_level: Scaled::read(r, "alarm.max_level")?,
                    flags: AlarmFlags(r.u32("alarm.flags")?),
                    faults: FaultLists::read(r)?,
                }),
                0x08 => Block2016::CellVoltages(CellVoltages2016 {
                    subsystems: List::read::<u8>(r, "cell_voltages.subsystem_count", 10, |r| {
                        Ok(SubsystemVoltages2016 {
                            no: r.u8("cell_voltages.no")?,
                            voltage_v: Scaled::read(r, "cell_voltages.voltage_v")?,
                            current_a: Scaled::read(r, "cell_voltages.current_a")?,
                            total_cells: Scaled::read(r, "cell_voltages.total_cells")?,
                            start_index: Scaled::read(r, "cell_voltages.start_index")?,
                            cells_v: List::read_values::<u8>(
                                r,
                                "cell_voltages.frame_cell_count",
                                "cell_voltages.cell",
                            )?,
                        })
                    })?,
                }),
                0x09 => Block2016::ProbeTemperatures(ProbeTemperatures2016 {
                    subsystems: List::read::<u8>(
                        r,
                        "temperatures.subsystem_count",
                        3,
                        ProbeGroup::read,
                    )?,
                }),
                0x80..=0xFE => Block2016::UserDefined(read_raw_block(r, type_id)?),
                _ => {
                    blocks.push(Block2016::Unknown(unknown_block(r, type_id)));
                    break;
                }
            };
            blocks.push(block);
        }
        Ok(Self { time, blocks })
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.put_slice(&self.time.0);
        for (i, block) in self.blocks.iter().enumerate() {
            match block {
                Block2016::Vehicle(b) => {
                    out.put_u8(0x01);
                    b.write(out);
                }
                Block2016::Motors(b) => {
                    out.put_u8(0x02);
                    b.motors.write::<u8>(out, "motors", |m, o| {
                        m.write(o);
                        Ok(())
                    })?;
                }
                Block2016::FuelCell(b) => {
                    out.put_u8(0x03);
                    b.voltage_v.write(out);
                    b.current_a.write(out);
                    b.consumption_kg_per_100km.write(out);
                    b.probe_temps_c
                        .write::<u16>(out, "fuel-cell probes", |t, o| {
                            t.write(o);
                            Ok(())
                        })?;
                    b.tail.write(out);
                }
                Block2016::Engine(b) => {
                    out.put_u8(0x04);
                    b.write(out);
                }
                Block2016::Position(b) => {
                    out.put_u8(0x05);
                    b.write(out);
                }
                Block2016::Extremes(b) => {
                    out.put_u8(0x06);
                    b.write(out);
                }
                Block2016::Alarm(b) => {
                    out.put_u8(0x07);
                    b.max_level.write(out);
                    out.put_u32(b.flags.0);
                    b.faults.write(out)?;
                }
                Block2016::CellVoltages(b) => {
                    out.put_u8(0x08);
                    b.subsystems.write::<u8>(out, "subsystems", |s, o| {
                        o.put_u8(s.no);
                        s.voltage_v.write(o);
                        s.current_a.write(o);
                        s.total_cells.write(o);
                        s.start_index.write(o);
                        s.cells_v.write::<u8>(o, "cells in frame", |c, o| {
                            c.write(o);
                            Ok(())
                        })
                    })?;
                }
                Block2016::ProbeTemperatures(b) => {
                    out.put_u8(0x09);
                    b.subsystems
                        .write::<u8>(out, "subsystems", ProbeGroup::write)?;
                }
                Block2016::UserDefined(b) => write_raw_block(b, out)?,
                Block2016::Unknown(b) => {
                    let known = matches!(b.type_id, 0x01..=0x09 | 0x80..=0xFE);
                    if i + 1 != self.blocks.len() || known {
                        return Err(EncodeError::Invalid(
                            "an unknown block must be last and of an unknown type",
                        ));
                    }
                    write_unknown(b, out);
                }
            }
        }
        Ok(())
    }
}

impl Report2025 {
    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let start = r.offset();
        let time = Time::read(r, "report.time")?;
        let mut blocks = Vec::with_capacity(8);
        let mut signature = None;
        while let Some(type_id) = r.peek_u8() {
            let marker_at = r.offset();
            r.u8("report.info_type")?;
            let block = match type_id {
                0x01 => Block2025::Vehicle(Vehicle2025::read(r)?),
                0x02 => Block2025::Motors(Motors2025 {
                    motors: List::read::<u8>(r, "motors.count", Motor2025::SIZE, Motor2025::read)?,
                }),
                0x03 => Block2025::FuelCell(FuelCell2025::read(r)?),
                0x04 => Block2025::Engine(Engine2025::read(r)?),
                0x05 => {
                    let status = r.u8("position.status")?;
                    let coord_system = CoordSystem(r.u8("position.coord_system")?);
                    let lon = Scaled::read(r, "position.lon")?;
                    let lat = Scaled::read(r, "position.lat")?;
                    Block2025::Position(Position2025 {
                        coord_system,
                        position: Position { status, lon, lat },
                    })
                }
                0x06 => Block2025::Alarm(Alarm2025 {
                    max_level: Scaled::read(r, "alarm.max_level")?,
                    flags: AlarmFlags(r.u32("alarm.flags")?),
                    faults: FaultLists::read(r)?,
                    flag_levels: List::read::<u8>(r, "alarm.flag_level_count", 2, |r| {
                        Ok(FlagLevel {
                            bit: r.u8("alarm.flag_bit")?,
                            level: r.u8("alarm.flag_level")?,
                        })
                    })?,
                }),
                0x07 => Block2025::PackVoltages(PackVoltages2025 {
                    packs: List::read::<u8>(r, "pack_voltages.pack_count", 7, |r| {
                        Ok(PackVoltage2025 {
                            no: Scaled::read(r, "pack_voltages.no")?,
                            voltage_v: Scaled::read(r, "pack_voltages.voltage_v")?,
                            current_a: Scaled::read(r, "pack_voltages.current_a")?,
                            cells_v: List::read_values::<u16>(
                                r,
                                "pack_voltages.unit_count",
                                "pack_voltages.unit",
                            )?,
                        })
                    })?,
                }),
                0x08 => Block2025::PackTemperatures(PackTemperatures2025 {
                    packs: List::read::<u8>(
                        r,
                        "pack_temperatures.pack_count",
                        3,
                        ProbeGroup::read,
                    )?,
                }),
                0x30 => Block2025::FuelCellStacks(FuelCellStacks2025 {
                    stacks: List::read::<u8>(r, "stacks.count", 12, |r| {
                        Ok(FuelCellStack {
                            no: Scaled::read(r, "stacks.no")?,
                            voltage_v: Scaled::read(r, "stacks.voltage_v")?,
                            current_a: Scaled::read(r, "stacks.current_a")?,
                            h2_inlet_pressure_kpa: Scaled::read(r, "stacks.h2_inlet_pressure")?,
                            air_inlet_pressure_kpa: Scaled::read(r, "stacks.air_inlet_pressure")?,
                            air_inlet_temp_c: Scaled::read(r, "stacks.air_inlet_temp")?,
                            coolant_temps_c: List::read_values::<u16>(
                                r,
                                "stacks.probe_count",
                                "stacks.probe",
                            )?,
                        })
                    })?,
                }),
                0x31 => Block2025::SuperCapacitor(SuperCapacitor2025 {
                    system_no: Scaled::read(r, "super_capacitor.system_no")?,
                    total_voltage_v: Scaled::read(r, "super_capacitor.voltage_v")?,
                    total_current_a: Scaled::read(r, "super_capacitor.current_a")?,
                    cells_v: List::read_values::<u16>(
                        r,
                        "super_capacitor.cell_count",
                        "super_capacitor.cell",
                    )?,
                    probes_c: List::read_values::<u16>(
                        r,
                        "super_capacitor.probe_count",
                        "super_capacitor.probe",
                    )?,
                }),
                0x32 => Block2025::SuperCapacitorExtremes(SuperCapacitorExtremes2025::read(r)?),
                0x80..=0xFE => Block2025::UserDefined(read_raw_block(r, type_id)?),
                SIGNATURE_MARKER => {
                    signature = Some(Signature::read(r, start..marker_at)?);
                    break;
                }
                _ => {
                    blocks.push(Block2025::Unknown(unknown_block(r, type_id)));
                    break;
                }
            };
            blocks.push(block);
        }
        let trailing = r.rest().to_vec();
        Ok(Self {
            time,
            blocks,
            signature,
            trailing,
        })
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.put_slice(&self.time.0);
        let mut ended = false;
        for (i, block) in self.blocks.iter().enumerate() {
            match block {
                Block2025::Vehicle(b) => {
                    out.put_u8(0x01);
                    b.write(out);
                }
                Block2025::Motors(b) => {
                    out.put_u8(0x02);
                    b.motors.write::<u8>(out, "motors", |m, o| {
                        m.write(o);
                        Ok(())
                    })?;
                }
                Block2025::FuelCell(b) => {
                    out.put_u8(0x03);
                    b.write(out);
                }
                Block2025::Engine(b) => {
                    out.put_u8(0x04);
                    b.write(out);
                }
                Block2025::Position(b) => {
                    out.put_u8(0x05);
                    out.put_u8(b.position.status);
                    out.put_u8(b.coord_system.0);
                    b.position.lon.write(out);
                    b.position.lat.write(out);
                }
                Block2025::Alarm(b) => {
                    out.put_u8(0x06);
                    b.max_level.write(out);
                    out.put_u32(b.flags.0);
                    b.faults.write(out)?;
                    b.flag_levels.write::<u8>(out, "flag levels", |f, o| {
                        o.put_u8(f.bit);
                        o.put_u8(f.level);
                        Ok(())
                    })?;
                }
                Block2025::PackVoltages(b) => {
                    out.put_u8(0x07);
                    b.packs.write::<u8>(out, "packs", |p, o| {
                        p.no.write(o);
                        p.voltage_v.write(o);
                        p.current_a.write(o);
                        p.cells_v.write::<u16>(o, "units", |c, o| {
                            c.write(o);
                            Ok(())
                        })
                    })?;
                }
                Block2025::PackTemperatures(b) => {
                    out.put_u8(0x08);
                    b.packs.write::<u8>(out, "packs", ProbeGroup::write)?;
                }
                Block2025::FuelCellStacks(b) => {
                    out.put_u8(0x30);
                    b.stacks.write::<u8>(out, "stacks", |s, o| {
                        s.no.write(o);
                        s.voltage_v.write(o);
                        s.current_a.write(o);
                        s.h2_inlet_pressure_kpa.write(o);
                        s.air_inlet_pressure_kpa.write(o);
                        s.air_inlet_temp_c.write(o);
                        s.coolant_temps_c.write::<u16>(o, "stack probes", |t, o| {
                            t.write(o);
                            Ok(())
                        })
                    })?;
                }
                Block2025::SuperCapacitor(b) => {
                    out.put_u8(0x31);
                    b.system_no.write(out);
                    b.total_voltage_v.write(out);
                    b.total_current_a.write(out);
                    b.cells_v
                        .write::<u16>(out, "super-capacitor cells", |c, o| {
                            c.write(o);
                            Ok(())
                        })?;
                    b.probes_c
                        .write::<u16>(out, "super-capacitor probes", |t, o| {
                            t.write(o);
                            Ok(())
                        })?;
                }
                Block2025::SuperCapacitorExtremes(b) => {
                    out.put_u8(0x32);
                    b.write(out);
                }
                Block2025::UserDefined(b) => write_raw_block(b, out)?,
                Block2025::Unknown(b) => {
                    let known = matches!(b.type_id, 0x01..=0x08 | 0x30..=0x32) || b.type_id >= 0x80;
                    if i + 1 != self.blocks.len() || known {
                        return Err(EncodeError::Invalid(
                            "an unknown block must be last and of an unknown type",
                        ));
                    }
                    write_unknown(b, out);
                    ended = true;
                }
            }
        }
        if self.signature.is_none() && !self.trailing.is_empty() {
            return Err(EncodeError::Invalid(
                "trailing bytes can only follow a signature",
            ));
        }
        if let Some(sig) = &self.signature {
            if ended {
                return Err(EncodeError::Invalid(
                    "a signature cannot follow an unknown block",
                ));
            }
            out.put_u8(SIGNATURE_MARKER);
            sig.write(out)?;
        }
        out.put_slice(&self.trailing);
        Ok(())
    }
}
