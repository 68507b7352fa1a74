//! Property tests: every message of every version survives encode → decode unchanged;
//! escaping is invisible whatever the bytes (checksum included); a stream cut anywhere, with
//! garbage between frames, yields the same frames; packets in any order, with duplicates,
//! reassemble to the original; the stored form round-trips; mutated frames never panic.

use proptest::collection::vec;
use proptest::prelude::*;

use crate::body::register_widths;
use crate::*;

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..=max)
}

fn fixed(n: usize) -> impl Strategy<Value = Text> {
    vec(any::<u8>(), n).prop_map(Text)
}

fn phone(version: Version) -> impl Strategy<Value = Phone> {
    vec(any::<u8>(), version.phone_len()).prop_map(|b| Phone::from_bcd(&b))
}

fn version() -> impl Strategy<Value = Version> {
    prop_oneof![
        Just(Version::V2011),
        Just(Version::V2013),
        Just(Version::V2019)
    ]
}

/// A header for a typed body: plain, no packets. 2011/2013 headers may carry the version flag
/// (the V22 quirk); 2019 headers always do.
fn header(version: Version, msg_id: u16) -> impl Strategy<Value = Header> {
    (
        phone(version),
        any::<u16>(),
        any::<bool>(),
        any::<bool>(),
        any::<u8>(),
    )
        .prop_map(move |(phone, serial, flag, reserved, pv)| {
            let mut h = Header::new(version, msg_id, phone, serial);
            h.version_flag = version == Version::V2019 || flag;
            h.reserved_bit = reserved;
            if version == Version::V2019 {
                h.protocol_version = pv;
            }
            h
        })
}

fn response() -> impl Strategy<Value = GeneralResponse> {
    (any::<u16>(), any::<u16>(), any::<u8>()).prop_map(|(ack_serial, ack_msg_id, result)| {
        GeneralResponse {
            ack_serial,
            ack_msg_id,
            result,
        }
    })
}

fn register(version: Version) -> impl Strategy<Value = Register> {
    let (m, d, t) = register_widths(version);
    // Plate colours are codes 0–9 and plates are text (>= 0x20): what the 2011/2013 layout
    // detection relies on.
    (
        any::<u16>(),
        any::<u16>(),
        fixed(m),
        fixed(d),
        fixed(t),
        0u8..=9,
        vec(0x20u8..=0xFE, 0..20),
    )
        .prop_map(
            |(province, city, maker, model, terminal_id, plate_color, plate)| Register {
                province,
                city,
                maker,
                model,
                terminal_id,
                plate_color,
                plate: Text(plate),
            },
        )
}

fn authenticate(version: Version) -> BoxedStrategy<Authenticate> {
    if version == Version::V2019 {
        (bytes(60), fixed(15), fixed(20))
            .prop_map(|(code, imei, sw)| Authenticate {
                code: Text(code),
                imei: Some(imei),
                software_version: Some(sw),
            })
            .boxed()
    } else {
        bytes(60)
            .prop_map(|code| Authenticate {
                code: Text(code),
                imei: None,
                software_version: None,
            })
            .boxed()
    }
}

fn known_item() -> impl Strategy<Value = Item> {
    prop_oneof![
        any::<u32>().prop_map(Item::Mileage),
        any::<u16>().prop_map(Item::Fuel),
        any::<u16>().prop_map(Item::RecorderSpeed),
        any::<u32>().prop_map(Item::ExtSignals),
        any::<u16>().prop_map(Item::Io),
        any::<u32>().prop_map(Item::Analog),
        any::<u8>().prop_map(Item::Signal),
        any::<u8>().prop_map(Item::Satellites),
    ]
}

/// Raw items: unknown ids, and known ids with the wrong length.
fn other_item() -> impl Strategy<Value = Item> {
    (any::<u8>(), bytes(40))
        .prop_filter("would decode as a known item", |(id, b)| {
            Item::known_len(*id) != Some(b.len())
        })
        .prop_map(|(id, bytes)| Item::Other { id, bytes })
}

/// Bytes after the last whole item: nothing, one byte, or an item cut short.
fn tail() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => Just(Vec::new()),
        1 => any::<u8>().prop_map(|b| vec![b]),
        1 => (any::<u8>(), 1u8..=255, bytes(20)).prop_map(|(id, len, mut rest)| {
            rest.truncate(usize::from(len) - 1);
            let mut t = vec![id, len];
            t.extend(rest);
            t
        }),
    ]
}

pub(crate) fn location() -> impl Strategy<Value = Location> {
    (
        (any::<u32>(), any::<u32>(), any::<u32>(), any::<u32>()),
        (any::<u16>(), any::<u16>(), any::<u16>(), any::<[u8; 6]>()),
        vec(prop_oneof![3 => known_item(), 1 => other_item()], 0..8),
        tail(),
    )
        .prop_map(
            |((alarm, status, lat, lon), (alt, speed, direction, time), items, tail)| Location {
                alarm,
                status,
                lat,
                lon,
                alt,
                speed,
                direction,
                time: BcdTime(time),
                items,
                tail,
            },
        )
}

fn batch(max_items: usize) -> impl Strategy<Value = Batch> {
    (any::<u8>(), vec(location(), 0..=max_items)).prop_map(|(kind, items)| Batch { kind, items })
}

fn known_id(id: u16) -> bool {
    matches!(
        id,
        msg_id::TERMINAL_RESPONSE
            | msg_id::HEARTBEAT
            | msg_id::LOGOUT
            | msg_id::REGISTER
            | msg_id::AUTHENTICATE
            | msg_id::LOCATION
            | msg_id::BATCH
            | msg_id::PLATFORM_RESPONSE
            | msg_id::RETRANSMIT_REQUEST
            | msg_id::REGISTER_RESPONSE
    )
}

/// A typed message of `version` (2011 only for register: other 2011 frames read as 2013).
fn message(version: Version) -> BoxedStrategy<Frame> {
    let v = version;
    let plain = if v == Version::V2011 {
        Version::V2013
    } else {
        v
    };
    let f = move |id: u16, body: BoxedStrategy<Body>| {
        (header(plain, id), body)
            .prop_map(|(h, b)| Frame::new(h, b))
            .boxed()
    };
    let raw = (
        header(plain, 0),
        any::<u16>().prop_filter("known id", |id| !known_id(*id)),
        bytes(100),
    )
        .prop_map(|(mut h, id, b)| {
            h.msg_id = id;
            Frame::new(h, Body::Raw(b))
        })
        .boxed();
    // Encrypted bodies and single packets of any id are kept raw.
    let opaque = (
        header(plain, 0),
        any::<u16>(),
        1u8..=7,
        proptest::option::of((1u16..=u16::MAX).prop_flat_map(|t| (Just(t), 1..=t))),
        bytes(100),
    )
        .prop_map(|(mut h, id, enc, package, b)| {
            h.msg_id = id;
            match package {
                Some((total, index)) => h.package = Some(Package { total, index }),
                None => h.encryption = enc,
            }
            Frame::new(h, Body::Raw(b))
        })
        .boxed();
    prop_oneof![
        f(
            msg_id::TERMINAL_RESPONSE,
            response().prop_map(Body::TerminalResponse).boxed()
        ),
        f(
            msg_id::PLATFORM_RESPONSE,
            response().prop_map(Body::PlatformResponse).boxed()
        ),
        f(msg_id::HEARTBEAT, Just(Body::Empty).boxed()),
        f(msg_id::LOGOUT, Just(Body::Empty).boxed()),
        (header(v, msg_id::REGISTER), register(v))
            .prop_map(|(h, r)| Frame::new(h, Body::Register(r)))
            .boxed(),
        f(
            msg_id::REGISTER_RESPONSE,
            (any::<u16>(), any::<u8>(), bytes(40))
                .prop_map(|(ack_serial, result, code)| {
                    Body::RegisterResponse(RegisterResponse {
                        ack_serial,
                        result,
                        auth_code: Text(code),
                    })
                })
                .boxed()
        ),
        f(
            msg_id::AUTHENTICATE,
            authenticate(plain).prop_map(Body::Authenticate).boxed()
        ),
        f(
            msg_id::LOCATION,
            location().prop_map(Body::Location).boxed()
        ),
        f(msg_id::BATCH, batch(4).prop_map(Body::Batch).boxed()),
        f(
            msg_id::RETRANSMIT_REQUEST,
            (any::<u16>(), vec(any::<u16>(), 0..40))
                .prop_map(|(first_serial, indexes)| {
                    Body::RetransmitRequest(RetransmitRequest {
                        first_serial,
                        indexes,
                    })
                })
                .boxed()
        ),
        raw,
        opaque,
    ]
    .boxed()
}

fn any_message() -> impl Strategy<Value = Frame> {
    version().prop_flat_map(message)
}

/// Encodes, or rejects the case when the body is over the one-frame limit.
fn encoded(frame: &Frame) -> Result<Vec<u8>, TestCaseError> {
    match frame.encode() {
        Ok(b) => Ok(b),
        Err(EncodeError::TooLong(_)) => Err(TestCaseError::reject("over one frame")),
        Err(e) => Err(TestCaseError::fail(format!("encode: {e} for {frame:?}"))),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn decode_inverts_encode_for_every_version_and_message(frame in any_message()) {
        let bytes = encoded(&frame)?;
        let decoded = decode(&bytes).map_err(|e| TestCaseError::fail(format!("{e} for {frame:?}")))?;
        prop_assert_eq!(&decoded, &frame);
        prop_assert_eq!(decoded.encode().unwrap(), bytes);
        // The stored form of the same message.
        let stored = encode_stored(&frame).unwrap();
        prop_assert_eq!(decode_stored(&stored).unwrap(), frame);
    }

    #[test]
    fn escaping_is_invisible_whatever_the_bytes(content in bytes(300)) {
        let mut escaped = Vec::new();
        escape_into(&content, &mut escaped);
        prop_assert!(!escaped.contains(&FLAG));
        let back = unescape(&escaped, 1).unwrap().into_owned();
        prop_assert_eq!(back, content);
    }

    #[test]
    fn frames_with_7e_and_7d_anywhere_including_the_checksum_round_trip(
        frame in version().prop_flat_map(message),
        target in prop_oneof![Just(0x7Eu8), Just(0x7D)],
        specials in vec(prop_oneof![Just(0x7Eu8), Just(0x7D)], 1..6),
    ) {
        let mut frame = frame;
        if frame.header.version == Version::V2011 {
            frame.header.version = Version::V2013;
        }
        frame.header.msg_id = 0x0900;
        frame.header.serial = u16::from_be_bytes([specials[0], 0x7E]);
        frame.header.encryption = 0;
        frame.header.package = None;
        let mut body = specials.clone();
        body.push(0);
        frame.body = Body::Raw(body.clone());
        // Make the checksum come out as 0x7E or 0x7D through the last body byte.
        let cs = *frame.content().unwrap().last().unwrap();
        *body.last_mut().unwrap() = cs ^ target;
        frame.body = Body::Raw(body);
        let bytes = frame.encode().unwrap();
        prop_assert_eq!(*frame.content().unwrap().last().unwrap(), target);
        prop_assert_eq!(&bytes[bytes.len() - 3..], &[0x7D, target - 0x7C, 0x7E][..]);
        prop_assert!(!bytes[1..bytes.len() - 1].contains(&FLAG));
        prop_assert_eq!(decode(&bytes).unwrap(), frame);
    }

    #[test]
    fn split_stream_with_garbage_yields_the_same_frames(
        frames in vec(any_message(), 1..5),
        garbage in vec(vec(any::<u8>().prop_filter("no delimiter", |b| *b != FLAG), 0..30), 5),
        cuts in vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let mut stream = Vec::new();
        let mut expected = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            let Ok(bytes) = f.encode() else { continue };
            let g = &garbage[i % garbage.len()];
            // Garbage that happens to be a valid frame would rightly come out as one.
            let mut as_frame = vec![FLAG];
            as_frame.extend_from_slice(g);
            as_frame.push(FLAG);
            prop_assume!(decode(&as_frame).is_err());
            stream.extend_from_slice(g);
            stream.extend_from_slice(&bytes);
            expected.push(f.clone());
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
                let raw = item.map_err(|e| TestCaseError::fail(format!("framer: {e}")))?;
                if let Ok(f) = decode(&raw) {
                    got.push(f);
                }
            }
        }
        prop_assert_eq!(got, expected);
        prop_assert!(framer.buffered() <= 1);
    }

    #[test]
    fn packets_in_any_order_with_duplicates_reassemble_to_the_original(
        (message, packets, order) in long_message().prop_flat_map(|(m, size, first)| {
            let packets = m.split(size, first).unwrap();
            let n = packets.len();
            let order = (Just((0..n).collect::<Vec<_>>()).prop_shuffle(), vec(0..n, 0..4));
            (Just(m), Just(packets), order)
        }),
    ) {
        let (perm, dups) = order;
        let mut sequence = perm.clone();
        for d in dups {
            // A resend of an early packet, before the message is complete.
            let at = sequence.iter().position(|&p| p == d).unwrap();
            sequence.insert(at + 1, d);
        }
        let now = model::Timestamp::from_secs(1_800_000_000);
        let mut r = Reassembler::new(Limits::default());
        let mut complete = Vec::new();
        for (k, &i) in sequence.iter().enumerate() {
            // Every packet also travels through the wire format.
            let wire = packets[i].encode().unwrap();
            let packet = decode(&wire).unwrap();
            match r.push(packet, now) {
                Push::Complete(m) => complete.push((k, m)),
                Push::Pending | Push::Duplicate => {}
                other => return Err(TestCaseError::fail(format!("{other:?}"))),
            }
        }
        prop_assert_eq!(complete.len(), 1);
        let (k, merged) = &complete[0];
        // It completes when the last missing packet first arrives.
        let mut seen = std::collections::HashSet::new();
        let last_new = sequence.iter().enumerate().filter(|(_, i)| seen.insert(**i)).map(|(k, _)| k).last();
        prop_assert_eq!(Some(*k), last_new);
        prop_assert_eq!(&merged.frame, &message);
        let first = message.header.serial;
        let expected: Vec<u16> = (0..packets.len() as u16).map(|i| first.wrapping_add(i)).collect();
        prop_assert_eq!(&merged.serials, &expected);
        prop_assert_eq!(r.held_bytes(), 0);
        let stored = encode_stored(&merged.frame).unwrap();
        prop_assert_eq!(decode_stored(&stored).unwrap(), message);
    }

    #[test]
    fn lenient_decode_keeps_quirks_and_bytes(
        frame in any_message(),
        declared in 0u16..=1023,
        checksum in any::<u8>(),
    ) {
        let mut bytes = encoded(&frame)?;
        // Damage the declared length and the checksum, then re-escape.
        let mut content = unescape(&bytes[1..bytes.len() - 1], 1).unwrap().into_owned();
        let attr = u16::from_be_bytes([content[2], content[3]]) & !0x3FF | declared;
        content[2..4].copy_from_slice(&attr.to_be_bytes());
        *content.last_mut().unwrap() = checksum;
        bytes = vec![FLAG];
        escape_into(&content, &mut bytes);
        bytes.push(FLAG);
        if let Ok(f) = decode_with(&bytes, Options { lenient: true }) {
            prop_assert_eq!(f.encode().unwrap(), bytes.clone());
            let stored = encode_stored(&f).unwrap();
            prop_assert_eq!(decode_stored(&stored).unwrap(), f);
        }
        if let Ok(f) = decode(&bytes) {
            prop_assert!(f.quirks.is_empty());
            prop_assert_eq!(f.encode().unwrap(), bytes);
        }
    }

    #[test]
    fn mutated_frames_never_panic_and_what_decodes_encodes_back(
        frame in any_message(),
        flips in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let bytes = encoded(&frame)?;
        let mut content = unescape(&bytes[1..bytes.len() - 1], 1).unwrap().into_owned();
        for (i, v) in flips {
            let at = i.index(content.len());
            content[at] = v;
        }
        // Fix the checksum so the damage reaches the header and body decoders.
        let n = content.len();
        content[n - 1] = wire::xor_checksum(&content[..n - 1]);
        let mut wire_bytes = vec![FLAG];
        escape_into(&content, &mut wire_bytes);
        wire_bytes.push(FLAG);
        for lenient in [false, true] {
            if let Ok(decoded) = decode_with(&wire_bytes, Options { lenient }) {
                prop_assert_eq!(decoded.encode().unwrap(), wire_bytes.clone());
            }
        }
        let _ = decode_stored(&content);
        let _ = peek_header(&wire_bytes);
    }

    #[test]
    fn stored_form_round_trips_messages_of_any_length(frame in long_message().prop_map(|(m, _, _)| m)) {
        let stored = encode_stored(&frame).unwrap();
        prop_assert_eq!(decode_stored(&stored).unwrap(), frame.clone());
        // A cut anywhere is an error, never a shorter message.
        for cut in [0, 1, 3, stored.len() / 2, stored.len() - 1] {
            prop_assert!(decode_stored(&stored[..cut]).is_err());
        }
    }
}

/// A message for subpackaging: a long batch (typed, so the merged body must decode again) or
/// a long raw body, with a packet size and the first serial.
fn long_message() -> impl Strategy<Value = (Frame, usize, u16)> {
    let body = prop_oneof![
        (batch(40)).prop_map(|b| (msg_id::BATCH, Body::Batch(b))),
        vec(any::<u8>(), 1..4000).prop_map(|b| (0x0801u16, Body::Raw(b))),
    ];
    (
        prop_oneof![Just(Version::V2013), Just(Version::V2019)],
        body,
        64usize..=1023,
        any::<u16>(),
    )
        .prop_flat_map(|(v, (id, body), size, first)| {
            (header(v, id), Just(body), Just(size), Just(first)).prop_map(
                |(mut h, body, size, first)| {
                    h.serial = first;
                    (Frame::new(h, body), size, first)
                },
            )
        })
}
