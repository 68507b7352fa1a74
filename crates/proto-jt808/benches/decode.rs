//! Decode throughput of a realistic 0x0200 location report with additional items (mileage,
//! fuel, recorder speed, 0x25 signals, 0x2A IO, 0x30 signal strength, 0x31 satellites): frame
//! to typed message (unescape, checksum, header, body), and on to `FleetReport`s.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use model::Timestamp;
use proto_jt808::*;

fn location_frame(version: Version) -> Vec<u8> {
    let phone = match version {
        Version::V2019 => Phone::from_digits("13800138000", 10),
        _ => Phone::from_digits("13800138000", 6),
    }
    .expect("phone");
    let header = Header::new(version, msg_id::LOCATION, phone, 0x1234);
    let loc = Location {
        alarm: 0,
        status: 0x000C_0003,
        lat: 39_084_158,
        lon: 117_200_983,
        alt: 12,
        speed: 523,
        direction: 271,
        time: BcdTime([0x26, 0x11, 0x27, 0x10, 0x30, 0x05]),
        items: vec![
            Item::Mileage(1_234_567),
            Item::Fuel(456),
            Item::RecorderSpeed(520),
            Item::ExtSignals(0x0000_0011),
            Item::Io(0),
            Item::Signal(27),
            Item::Satellites(14),
        ],
        tail: vec![],
    };
    Frame::new(header, Body::Location(loc))
        .encode()
        .expect("encodes")
}

fn bench(c: &mut Criterion) {
    let received = Timestamp::from_secs(1_795_000_000);
    for version in [Version::V2013, Version::V2019] {
        let bytes = location_frame(version);
        let mut g = c.benchmark_group(format!(
            "jt808_location_{}_{}B",
            version.as_str(),
            bytes.len()
        ));
        g.throughput(Throughput::Elements(1));
        g.bench_function("decode", |b| {
            b.iter(|| decode(black_box(&bytes)).expect("decodes"));
        });
        g.bench_function("decode_to_reports", |b| {
            b.iter(|| {
                let f = decode(black_box(&bytes)).expect("decodes");
                to_reports(&f, received)
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
        g.bench_function("encode_stored", |b| {
            let f = decode(&bytes).expect("decodes");
            b.iter(|| encode_stored(black_box(&f)).expect("encodes"));
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
