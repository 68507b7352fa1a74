//! Property tests: every message of both editions survives encode → decode unchanged, and a
//! stream of frames cut at arbitrary points (with garbage between frames) yields the same frames.

use proptest::collection::vec;
use proptest::prelude::*;

use crate::body::{
    Activation, ActivationResponse, Control, KeyExchange, Logout, Param, ParamList, ParamQuery,
    ParamValue, PlatformLogin, TerminalControl, Upgrade, VehicleLogin2016, VehicleLogin2025,
};
use crate::frame::{Body, Command, Edition, Frame, Header, Response};
use crate::report::*;
use crate::value::arb::bytes;
use crate::value::{Encryption, FixedStr, SigAlgorithm, Time};
use crate::{Framer, decode};

fn raw_block(types: std::ops::RangeInclusive<u8>) -> impl Strategy<Value = RawBlock> {
    (types, bytes(40)).prop_map(|(type_id, data)| RawBlock { type_id, data })
}

fn unknown_2016() -> impl Strategy<Value = RawBlock> {
    (prop_oneof![Just(0u8), 0x0Au8..=0x7F, Just(0xFF)], bytes(20))
        .prop_map(|(type_id, data)| RawBlock { type_id, data })
}

fn unknown_2025() -> impl Strategy<Value = RawBlock> {
    (
        prop_oneof![Just(0u8), 0x09u8..=0x2F, 0x33u8..=0x7F],
        bytes(20),
    )
        .prop_map(|(type_id, data)| RawBlock { type_id, data })
}

fn block_2016() -> impl Strategy<Value = Block2016> {
    prop_oneof![
        any::<Vehicle2016>().prop_map(Block2016::Vehicle),
        any::<Motors2016>().prop_map(Block2016::Motors),
        any::<FuelCell2016>().prop_map(Block2016::FuelCell),
        any::<Engine2016>().prop_map(Block2016::Engine),
        any::<Position>().prop_map(Block2016::Position),
        any::<Extremes2016>().prop_map(Block2016::Extremes),
        any::<Alarm2016>().prop_map(Block2016::Alarm),
        any::<CellVoltages2016>().prop_map(Block2016::CellVoltages),
        any::<ProbeTemperatures2016>().prop_map(Block2016::ProbeTemperatures),
        raw_block(0x80..=0xFE).prop_map(Block2016::UserDefined),
    ]
}

fn block_2025() -> impl Strategy<Value = Block2025> {
    prop_oneof![
        any::<Vehicle2025>().prop_map(Block2025::Vehicle),
        any::<Motors2025>().prop_map(Block2025::Motors),
        any::<FuelCell2025>().prop_map(Block2025::FuelCell),
        any::<Engine2025>().prop_map(Block2025::Engine),
        any::<Position2025>().prop_map(Block2025::Position),
        any::<Alarm2025>().prop_map(Block2025::Alarm),
        any::<PackVoltages2025>().prop_map(Block2025::PackVoltages),
        any::<PackTemperatures2025>().prop_map(Block2025::PackTemperatures),
        any::<FuelCellStacks2025>().prop_map(Block2025::FuelCellStacks),
        any::<SuperCapacitor2025>().prop_map(Block2025::SuperCapacitor),
        any::<SuperCapacitorExtremes2025>().prop_map(Block2025::SuperCapacitorExtremes),
        raw_block(0x80..=0xFE).prop_map(Block2025::UserDefined),
    ]
}

fn signature() -> impl Strategy<Value = Signature> {
    (any::<SigAlgorithm>(), bytes(64), bytes(64)).prop_map(|(algorithm, r, s)| Signature {
        algorithm,
        r,
        s,
        signed_range: 0..0,
    })
}

fn report_2016() -> impl Strategy<Value = Report2016> {
    (
        any::<Time>(),
        vec(block_2016(), 0..6),
        proptest::option::of(unknown_2016()),
    )
        .prop_map(|(time, mut blocks, unknown)| {
            blocks.extend(unknown.map(Block2016::Unknown));
            Report2016 { time, blocks }
        })
}

fn report_2025() -> impl Strategy<Value = Report2025> {
    let tail = prop_oneof![
        Just((None, None, Vec::new())),
        unknown_2025().prop_map(|u| (Some(u), None, Vec::new())),
        (signature(), bytes(4)).prop_map(|(s, t)| (None, Some(s), t)),
    ];
    (any::<Time>(), vec(block_2025(), 0..6), tail).prop_map(
        |(time, mut blocks, (unknown, signature, trailing))| {
            blocks.extend(unknown.map(Block2025::Unknown));
            Report2025 {
                time,
                blocks,
                signature,
                trailing,
            }
        },
    )
}

fn login_2016() -> impl Strategy<Value = VehicleLogin2016> {
    (
        any::<Time>(),
        any::<u16>(),
        any::<FixedStr<20>>(),
        0u8..6,
        0u8..30,
    )
        .prop_flat_map(|(time, seq, iccid, n, m)| {
            let codes = if m == 0 {
                Just(Vec::new()).boxed()
            } else {
                vec(vec(any::<u8>(), usize::from(m)), usize::from(n)).boxed()
            };
            codes.prop_map(move |codes| VehicleLogin2016 {
                time,
                seq,
                iccid,
                subsystem_count: n,
                code_len: m,
                codes,
            })
        })
}

fn activation() -> impl Strategy<Value = Activation> {
    (
        any::<Time>(),
        any::<FixedStr<16>>(),
        bytes(70),
        any::<FixedStr<17>>(),
        signature(),
    )
        .prop_map(|(time, chip_id, public_key, vin, signature)| Activation {
            time,
            chip_id,
            public_key,
            vin,
            signature,
        })
}

fn param_list(edition_2025: bool) -> impl Strategy<Value = ParamList> {
    let num = |ids: &'static [u8], max: u16| {
        (proptest::sample::select(ids), 0..=max).prop_map(|(id, n)| {
            vec![Param {
                id,
                value: ParamValue::Num(n),
            }]
        })
    };
    let byte_ids: &'static [u8] = if edition_2025 {
        &[0x02, 0x03, 0x09, 0x0C, 0x10]
    } else {
        &[0x09, 0x0C, 0x10]
    };
    let word_ids: &'static [u8] = if edition_2025 {
        &[0x01, 0x06, 0x0A, 0x0B, 0x0F]
    } else {
        &[0x01, 0x02, 0x03, 0x06, 0x0A, 0x0B, 0x0F]
    };
    let domain = (
        prop_oneof![Just((0x04u8, 0x05u8)), Just((0x0D, 0x0E))],
        bytes(30),
    )
        .prop_map(|((len_id, id), text)| {
            vec![
                Param {
                    id: len_id,
                    value: ParamValue::Num(text.len() as u16),
                },
                Param {
                    id,
                    value: ParamValue::Text(text),
                },
            ]
        });
    let version =
        (prop_oneof![Just(0x07u8), Just(0x08)], vec(any::<u8>(), 5)).prop_map(|(id, t)| {
            vec![Param {
                id,
                value: ParamValue::Text(t),
            }]
        });
    let group = prop_oneof![num(byte_ids, 255), num(word_ids, u16::MAX), domain, version];
    (any::<Time>(), vec(group, 0..5), bytes(6)).prop_map(move |(time, groups, rest)| {
        let params: Vec<Param> = groups.into_iter().flatten().collect();
        ParamList {
            edition_2025,
            time,
            count: params.len() as u8,
            params,
            rest,
        }
    })
}

fn no_semicolon(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>().prop_filter("no ';'", |b| *b != b';'), 0..=max)
}

fn control() -> impl Strategy<Value = TerminalControl> {
    let upgrade = (
        (
            no_semicolon(10),
            no_semicolon(10),
            no_semicolon(10),
            any::<[u8; 6]>(),
            any::<u16>(),
        ),
        (
            any::<FixedStr<4>>(),
            any::<FixedStr<5>>(),
            any::<FixedStr<5>>(),
            no_semicolon(30),
            any::<u16>(),
        ),
    )
        .prop_map(
            |(
                (apn, user, password, address, port),
                (manufacturer, hardware_version, firmware_version, url, deadline_min),
            )| {
                Control::Upgrade(Upgrade {
                    apn,
                    user,
                    password,
                    address,
                    port,
                    manufacturer,
                    hardware_version,
                    firmware_version,
                    url,
                    deadline_min,
                })
            },
        );
    let command = prop_oneof![
        upgrade,
        Just(Control::PowerOff),
        Just(Control::Reset),
        Just(Control::FactoryReset),
        Just(Control::Disconnect),
        (any::<u8>(), bytes(20)).prop_map(|(level, message)| Control::Alarm { level, message }),
        Just(Control::OpenMonitoringLink),
        (0x08u8..=0xFF, bytes(10)).prop_map(|(id, params)| Control::Other { id, params }),
    ];
    (any::<Time>(), command).prop_map(|(time, command)| TerminalControl { time, command })
}

/// A command (response 0xFE) of either edition with a body that belongs to it.
fn command_frame(edition: Edition) -> BoxedStrategy<(Command, Body)> {
    let v25 = edition == Edition::V2025;
    let report = if v25 {
        report_2025()
            .prop_map(|r| Body::Report(Report::V2025(r)))
            .boxed()
    } else {
        report_2016()
            .prop_map(|r| Body::Report(Report::V2016(r)))
            .boxed()
    };
    let login = if v25 {
        any::<VehicleLogin2025>()
            .prop_map(Body::VehicleLogin2025)
            .boxed()
    } else {
        login_2016().prop_map(Body::VehicleLogin2016).boxed()
    };
    prop_oneof![
        login.prop_map(|b| (Command::VEHICLE_LOGIN, b)),
        (
            prop_oneof![Just(Command::REALTIME), Just(Command::REISSUE)],
            report
        ),
        (
            prop_oneof![
                Just(Command::VEHICLE_LOGOUT),
                Just(Command::PLATFORM_LOGOUT)
            ],
            any::<Logout>().prop_map(Body::Logout)
        ),
        any::<PlatformLogin>().prop_map(|b| (Command::PLATFORM_LOGIN, Body::PlatformLogin(b))),
        prop_oneof![Just(Command::HEARTBEAT), Just(Command::TIME_SYNC)]
            .prop_map(|c| (c, Body::Empty)),
        activation().prop_map(|b| (Command::ACTIVATION, Body::Activation(b))),
        any::<ActivationResponse>()
            .prop_map(|b| (Command::ACTIVATION_RESPONSE, Body::ActivationResponse(b))),
        any::<KeyExchange>().prop_map(|b| (Command::KEY_EXCHANGE, Body::KeyExchange(b))),
        any::<ParamQuery>().prop_map(|b| (Command::PARAM_QUERY, Body::ParamQuery(b))),
        param_list(v25).prop_map(|b| (Command::PARAM_SET, Body::Params(b))),
        control().prop_map(|b| (Command::TERMINAL_CONTROL, Body::TerminalControl(b))),
        (prop_oneof![0x0Cu8..=0x7F, 0x83u8..=0xFE], bytes(40))
            .prop_map(|(c, b)| (Command(c), Body::Raw(b))),
    ]
    .boxed()
}

/// Identifier bytes a real sender uses (printable ASCII or NUL padding).
fn vin() -> impl Strategy<Value = FixedStr<17>> {
    vec(prop_oneof![Just(0u8), 0x20u8..0x7F], 17).prop_map(|v| FixedStr(v.try_into().expect("17")))
}

fn frame() -> impl Strategy<Value = Frame> {
    let edition = prop_oneof![Just(Edition::V2016), Just(Edition::V2025)];
    (
        edition,
        vin(),
        prop_oneof![Just(0x01u8), Just(0xFE), Just(0xFF)],
        0u8..4,
    )
        .prop_flat_map(|(edition, vin, enc, kind)| {
            let header = move |command, response, encryption| Header {
                edition,
                command,
                response,
                vin,
                encryption: Encryption(encryption),
            };
            match kind {
                // A command in clear.
                0 | 1 => command_frame(edition)
                    .prop_map(move |(c, body)| Frame {
                        header: header(c, Response::COMMAND, enc),
                        body,
                    })
                    .boxed(),
                // A reply: time only, empty, or the request echoed (Annex B of 2016).
                2 => (command_frame(edition), 0x01u8..=0x07, 0u8..3, any::<Time>())
                    .prop_map(move |((c, body), code, form, time)| {
                        let body = match (form, body) {
                            (0, _) => Body::Time { time },
                            (1, _) => Body::Empty,
                            (_, Body::ParamQuery(q)) => Body::Params(ParamList {
                                edition_2025: edition == Edition::V2025,
                                time: q.time,
                                count: 0,
                                params: vec![],
                                rest: vec![],
                            }),
                            (_, b) => b,
                        };
                        Frame {
                            header: header(c, Response(code), enc),
                            body,
                        }
                    })
                    .boxed(),
                // An encrypted data unit, kept as bytes.
                _ => (command_frame(edition), 0x02u8..=0x05, bytes(64))
                    .prop_map(move |((c, _), e, data)| Frame {
                        header: header(c, Response::COMMAND, e),
                        body: Body::Raw(data),
                    })
                    .boxed(),
            }
        })
}

/// The decoder fills in where the signed bytes are; the generator cannot know in advance.
fn with_signed_ranges_of(mut expected: Frame, decoded: &Frame) -> Frame {
    match (&mut expected.body, &decoded.body) {
        (Body::Report(Report::V2025(e)), Body::Report(Report::V2025(d))) => {
            if let (Some(es), Some(ds)) = (&mut e.signature, &d.signature) {
                es.signed_range = ds.signed_range.clone();
            }
        }
        (Body::Activation(e), Body::Activation(d)) => {
            e.signature.signed_range = d.signature.signed_range.clone();
        }
        _ => {}
    }
    expected
}

/// A reply whose data unit is 0 or 6 bytes is read as the empty or time-only form by design.
fn ambiguous(frame: &Frame, encoded: &[u8]) -> bool {
    let data_len = encoded.len() - crate::OVERHEAD;
    !frame.header.response.is_command()
        && !frame.header.is_encrypted()
        && (data_len == 0 || data_len == 6)
        && !matches!(frame.body, Body::Empty | Body::Time { .. })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn decode_inverts_encode(frame in frame()) {
        let encoded = match frame.encode() {
            Ok(b) => b,
            Err(crate::EncodeError::TooLong(_)) => return Err(TestCaseError::reject("over the size limit")),
            Err(e) => return Err(TestCaseError::fail(format!("encode failed: {e} for {frame:?}"))),
        };
        prop_assume!(!ambiguous(&frame, &encoded));
        let decoded = decode(&encoded).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(with_signed_ranges_of(frame, &decoded), decoded.clone());
        // Byte-faithful: the decoded frame encodes to the same bytes.
        prop_assert_eq!(decoded.encode().unwrap(), encoded);
    }

    #[test]
    fn split_stream_with_garbage_yields_the_same_frames(
        frames in vec(frame(), 1..5),
        garbage in vec(vec(any::<u8>().prop_filter("no start byte", |b| *b != b'#' && *b != b'$'), 0..20), 5),
        cuts in vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let mut stream = Vec::new();
        let mut expected = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            let Ok(bytes) = f.encode() else { continue };
            stream.extend_from_slice(&garbage[i % garbage.len()]);
            stream.extend_from_slice(&bytes);
            expected.push(bytes);
        }
        let mut cut_at: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
        cut_at.push(0);
        cut_at.push(stream.len());
        cut_at.sort_unstable();
        let mut framer = Framer::new();
        let mut got = Vec::new();
        for w in cut_at.windows(2) {
            framer.push(&stream[w[0]..w[1]]);
            while let Some(item) = framer.next_frame() {
                got.push(item.map_err(|e| TestCaseError::fail(format!("{e}")))?);
            }
        }
        prop_assert_eq!(got, expected);
        prop_assert_eq!(framer.buffered(), 0);
    }

    #[test]
    fn decoder_never_panics_on_mutated_frames(frame in frame(), flips in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)) {
        let Ok(mut bytes) = frame.encode() else { return Ok(()) };
        for (i, v) in flips {
            let at = i.index(bytes.len());
            bytes[at] = v;
        }
        // Fix up the BCC so the damage reaches the data-unit decoder.
        let last = bytes.len() - 1;
        bytes[last] = wire::xor_checksum(&bytes[2..last]);
        // Whatever decodes must encode back to the same bytes: nothing is silently dropped.
        if let Ok(decoded) = decode(&bytes) {
            prop_assert_eq!(decoded.encode().unwrap(), bytes);
        }
    }
}
