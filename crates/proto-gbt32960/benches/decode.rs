//! Decode throughput of realistic realtime frames, into typed messages and on to samples.
//!
//! The frames: vehicle data, 2 motors, position, (2016: extremes), alarm, 96 cell voltages and
//! 32 probe temperatures; the 2025 frame also carries an SM2 signature (64 bytes).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use model::Timestamp;
use proto_gbt32960::*;

fn time() -> Time {
    Time([26, 11, 27, 10, 30, 0])
}

fn cells() -> List<CellV> {
    List::Items(
        (0..96)
            .map(|i| CellV::from_value(3.9 + f64::from(i % 7) * 0.001))
            .collect(),
    )
}

fn probes() -> List<TempC> {
    List::Items(
        (0..32)
            .map(|i| TempC::from_value(25.0 + f64::from(i % 5)))
            .collect(),
    )
}

fn header(edition: Edition) -> Header {
    Header {
        edition,
        command: Command::REALTIME,
        response: Response::COMMAND,
        vin: FixedStr::new("LA9BENCH000000001"),
        encryption: Encryption(0x01),
    }
}

fn faults() -> FaultLists {
    FaultLists {
        ress_faults: List::Items(vec![]),
        motor_faults: List::Items(vec![]),
        engine_faults: List::Items(vec![]),
        other_faults: List::Items(vec![FaultCode(0x0008_0002)]),
    }
}

fn frame_2016() -> Vec<u8> {
    let motor = |no| Motor2016 {
        no: Num8::from_value(no),
        state: MotorState(0x01),
        controller_temp_c: TempC::from_value(45.0),
        speed_rpm: Scaled::from_value(3120.0),
        torque_nm: Scaled::from_value(85.5),
        temp_c: TempC::from_value(60.0),
        controller_voltage_v: Scaled::from_value(376.2),
        controller_current_a: Scaled::from_value(42.3),
    };
    let blocks = vec![
        Block2016::Vehicle(Vehicle2016 {
            vehicle_state: VehicleState(1),
            charging_state: ChargingState(3),
            run_mode: RunMode(1),
            speed_kmh: Scaled::from_value(52.3),
            odometer_km: Scaled::from_value(12345.6),
            total_voltage_v: Scaled::from_value(376.4),
            total_current_a: Scaled::from_value(-42.1),
            soc_pct: Num8::from_value(68.0),
            dcdc_state: DcdcState(1),
            gear: Gear(0x2E),
            insulation_kohm: Scaled::from_value(8000.0),
            accelerator_pct: Num8::from_value(23.0),
            brake_pct: Brake(0),
        }),
        Block2016::Motors(Motors2016 {
            motors: List::Items(vec![motor(1.0), motor(2.0)]),
        }),
        Block2016::Position(Position {
            status: 0,
            lon: Scaled::from_value(117.200_983),
            lat: Scaled::from_value(39.084_158),
        }),
        Block2016::Extremes(Extremes2016 {
            max_voltage_subsystem: Num8::from_value(1.0),
            max_voltage_cell: Num8::from_value(6.0),
            max_cell_voltage_v: CellV::from_value(3.906),
            min_voltage_subsystem: Num8::from_value(1.0),
            min_voltage_cell: Num8::from_value(1.0),
            min_cell_voltage_v: CellV::from_value(3.9),
            max_temp_subsystem: Num8::from_value(1.0),
            max_temp_probe: Num8::from_value(5.0),
            max_temp_c: TempC::from_value(29.0),
            min_temp_subsystem: Num8::from_value(1.0),
            min_temp_probe: Num8::from_value(1.0),
            min_temp_c: TempC::from_value(25.0),
        }),
        Block2016::Alarm(Alarm2016 {
            max_level: Num8::from_value(0.0),
            flags: AlarmFlags(0),
            faults: faults(),
        }),
        Block2016::CellVoltages(CellVoltages2016 {
            subsystems: List::Items(vec![SubsystemVoltages2016 {
                no: 1,
                voltage_v: Scaled::from_value(376.4),
                current_a: Scaled::from_value(-42.1),
                total_cells: Num16::from_value(96.0),
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
    ];
    let body = Body::Report(Report::V2016(Report2016 {
        time: time(),
        blocks,
    }));
    Frame {
        header: header(Edition::V2016),
        body,
    }
    .encode()
    .expect("encodes")
}

fn frame_2025() -> Vec<u8> {
    let motor = |no| Motor2025 {
        no: Num8::from_value(no),
        state: MotorState(0x01),
        controller_temp_c: TempC::from_value(45.0),
        speed_rpm: Scaled::from_value(3120.0),
        torque_nm: Scaled::from_value(85.5),
        temp_c: TempC::from_value(60.0),
    };
    let blocks = vec![
        Block2025::Vehicle(Vehicle2025 {
            vehicle_state: VehicleState(1),
            charging_state: ChargingState(3),
            run_mode: RunMode(1),
            speed_kmh: Scaled::from_value(52.3),
            odometer_km: Scaled::from_value(12345.6),
            total_voltage_v: Scaled::from_value(376.4),
            total_current_a: Scaled::from_value(-42.1),
            soc_pct: Num8::from_value(68.0),
            dcdc_state: DcdcState(1),
            gear: Gear(0x2E),
            insulation_kohm: Scaled::from_value(8000.0),
        }),
        Block2025::Motors(Motors2025 {
            motors: List::Items(vec![motor(1.0), motor(2.0)]),
        }),
        Block2025::Position(Position2025 {
            coord_system: CoordSystem(1),
            position: Position {
                status: 0,
                lon: Scaled::from_value(117.2),
                lat: Scaled::from_value(39.08),
            },
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
                voltage_v: Scaled::from_value(376.4),
                current_a: Scaled::from_value(-42.1),
                cells_v: cells(),
            }]),
        }),
        Block2025::PackTemperatures(PackTemperatures2025 {
            packs: List::Items(vec![ProbeGroup {
                no: 1,
                probes_c: probes(),
            }]),
        }),
    ];
    let signature = Signature {
        algorithm: SigAlgorithm(1),
        r: vec![0x5A; 32],
        s: vec![0xA5; 32],
        signed_range: 0..0,
    };
    let report = Report2025 {
        time: time(),
        blocks,
        signature: Some(signature),
        trailing: vec![],
    };
    Frame {
        header: header(Edition::V2025),
        body: Body::Report(Report::V2025(report)),
    }
    .encode()
    .expect("encodes")
}

fn bench(c: &mut Criterion) {
    let received = Timestamp::from_secs(1_795_000_000);
    for (name, bytes) in [("2016", frame_2016()), ("2025", frame_2025())] {
        let mut g = c.benchmark_group(format!("gbt32960_realtime_{name}_{}B", bytes.len()));
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function("decode", |b| {
            b.iter(|| decode(black_box(&bytes)).expect("decodes"));
        });
        g.bench_function("decode_to_sample", |b| {
            b.iter(|| {
                let f = decode(black_box(&bytes)).expect("decodes");
                to_sample(&f, received).expect("a sample")
            });
        });
        g.bench_function("framer_and_decode", |b| {
            let mut framer = Framer::new();
            b.iter(|| {
                framer.push(black_box(&bytes));
                let frame = framer.next_frame().expect("a frame").expect("valid");
                decode(&frame).expect("decodes")
            });
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
