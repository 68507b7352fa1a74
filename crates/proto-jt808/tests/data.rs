//! Golden tests: every frame in `test_data/ok` and `test_data/err` against its expected output.
//!
//! `NAME.hex` holds a frame (first line `# source`, then optional `# note:` lines); `NAME.json`
//! beside it holds what we expect: the document `haihe decode` prints, the fleet reports, what
//! an authenticated session does with it (persist, and the replies it owes, as hex) and the
//! notes. Each good frame must also re-encode to the same bytes, pass through the framer
//! unchanged and survive the stored form. `NAME.err` holds the expected one-line error.
//! `UPDATE_EXPECT=1 cargo test` rewrites the expectations; review the diff before committing.

use std::path::{Path, PathBuf};

use model::Timestamp;
use proto_jt808::*;

/// A fixed receive time so the outputs are reproducible.
const RECEIVED_AT: &str = "2026-11-27T12:00:00+08:00";

struct Case {
    path: PathBuf,
    notes: Vec<String>,
    bytes: Vec<u8>,
}

fn frames_in(dir: &str) -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("test_data")
        .join(dir);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "hex"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                text.starts_with('#'),
                "{}: first line must name the source",
                path.display()
            );
            let notes = text
                .lines()
                .filter_map(|l| l.strip_prefix("# note: "))
                .map(str::to_owned)
                .collect();
            let hex: String = text
                .lines()
                .filter(|l| !l.starts_with('#'))
                .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
                .collect();
            let bytes = hex::decode(&hex).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            Case { path, notes, bytes }
        })
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    assert!(!out.is_empty(), "no frames in {}", dir.display());
    out
}

fn check(path: &Path, ext: &str, actual: &str) {
    let expect_path = path.with_extension(ext);
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&expect_path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&expect_path).unwrap_or_else(|_| {
        panic!(
            "missing {}; run with UPDATE_EXPECT=1",
            expect_path.display()
        )
    });
    assert!(
        expected == actual,
        "{} differs:\n--- expected\n{expected}\n--- actual\n{actual}",
        expect_path.display()
    );
}

/// What a session answers to `frame` from a terminal that is authenticated (or, for register
/// and authenticate, from a terminal the open policy lets in): `(persist, replies as hex)`.
fn session_answer(frame: &Frame) -> (bool, Vec<String>) {
    let dir = MemoryDirectory::new();
    let cfg = SessionConfig {
        terminals: TerminalPolicy::Open,
        max_refusals: 5,
    };
    let mut session = Session::new();
    let terminal = frame.terminal_id();
    match &frame.body {
        Body::Register(_) => {}
        Body::Authenticate(a) => dir.set_auth_code(&terminal, &a.code.text()),
        _ => {
            dir.set_auth_code(&terminal, "golden");
            let mut h = frame.header;
            h.msg_id = msg_id::AUTHENTICATE;
            h.package = None;
            let auth = Frame::new(
                h,
                Body::Authenticate(Authenticate {
                    code: Text::new("golden"),
                    imei: None,
                    software_version: None,
                }),
            );
            let out = session.on_frame(&cfg, &dir, &auth);
            assert!(out.reject.is_none(), "{out:?}");
        }
    }
    let out = if frame.header.package.is_some() {
        // Packets are held for reassembly and answered once their message is durable.
        session.on_packet(&cfg, frame).unwrap_or_default()
    } else {
        session.on_frame(&cfg, &dir, frame)
    };
    let replies = out
        .replies
        .iter()
        .map(|r| hex::encode_upper(r.encode().unwrap()))
        .collect();
    (out.persist, replies)
}

fn document(frame: &Frame, notes: &[String], received: Timestamp) -> String {
    let (persist, replies) = session_answer(frame);
    let mut doc = serde_json::json!({
        "decoded": to_json(frame),
        "reports": to_reports(frame, received),
        "session": { "persist": persist, "replies": replies },
    });
    if !notes.is_empty() {
        doc["notes"] = serde_json::json!(notes);
    }
    serde_json::to_string_pretty(&doc).unwrap() + "\n"
}

#[test]
fn ok_frames_decode_as_expected() {
    let received = Timestamp::parse(RECEIVED_AT).unwrap();
    for case in frames_in("ok") {
        let name = case.path.display();
        let bytes = &case.bytes;
        let frame = decode(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            &frame.encode().unwrap(),
            bytes,
            "{name}: re-encoding changed the bytes"
        );
        let stored = encode_stored(&frame).unwrap();
        assert_eq!(
            decode_stored(&stored).unwrap(),
            frame,
            "{name}: stored form"
        );

        let mut framer = Framer::new();
        framer.push(bytes);
        assert_eq!(
            framer.next_frame(),
            Some(Ok(bytes.clone())),
            "{name}: framer"
        );
        check(&case.path, "json", &document(&frame, &case.notes, received));
    }
}

#[test]
fn err_frames_fail_as_expected() {
    for case in frames_in("err") {
        let err = decode(&case.bytes).expect_err(&case.path.display().to_string());
        check(&case.path, "err", &format!("{err}\n"));
    }
}

fn case(prefix: &str) -> Vec<u8> {
    let dir = if prefix.starts_with('e') || prefix == "v16b" {
        "err"
    } else {
        "ok"
    };
    frames_in(dir)
        .into_iter()
        .find(|c| {
            c.path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{prefix}_"))
        })
        .map(|c| c.bytes)
        .unwrap_or_else(|| panic!("no case {prefix}"))
}

/// V16b is broken twice over (declared length 50 for 40 bytes, checksum 0xD0 for 0xF0): strict
/// mode refuses it (the `.err` file above), lenient mode takes it, records both quirks and
/// still encodes it back byte for byte.
#[test]
fn lenient_mode_accepts_v16b_and_keeps_its_quirks() {
    let bytes = case("v16b");
    let frame = decode_with(&bytes, Options { lenient: true }).unwrap();
    assert_eq!(frame.quirks.declared_body_len, Some(50));
    assert_eq!(frame.quirks.found_checksum, Some(0xD0));
    assert_eq!(frame.header.version, Version::V2013);
    let Body::Location(loc) = &frame.body else {
        panic!("a location")
    };
    assert_eq!(loc.lat_deg(), 22.51488);
    assert_eq!(loc.lon_deg(), 113.916508);
    assert_eq!(loc.items.len(), 3);
    assert_eq!(frame.encode().unwrap(), bytes);
    let stored = encode_stored(&frame).unwrap();
    assert_eq!(decode_stored(&stored).unwrap(), frame);
    let doc = to_json(&frame);
    assert_eq!(doc["quirks"]["declared_body_len"], 50);
    assert_eq!(doc["quirks"]["found_checksum"], 0xD0);
}

/// V20b and V21 are the two packets of one 0x1205: in either order (and with a duplicate) they
/// merge into one 986-byte body of 35 resource items, whose packets are both answered.
#[test]
fn v20b_and_v21_reassemble_into_one_message() {
    let first = decode(&case("v20b")).unwrap();
    let second = decode(&case("v21")).unwrap();
    let now = Timestamp::parse(RECEIVED_AT).unwrap();
    let mut merged = Vec::new();
    for order in [[&first, &second, &first], [&second, &second, &first]] {
        let mut r = Reassembler::new(Limits::default());
        let mut done = None;
        for f in order {
            match r.push(f.clone(), now) {
                Push::Complete(m) => done = Some(m),
                Push::Pending | Push::Duplicate => {}
                other => panic!("{other:?}"),
            }
        }
        merged.push(done.expect("complete"));
        assert_eq!(r.held_bytes(), 0);
    }
    assert_eq!(merged[0], merged[1]);
    let m = &merged[0];
    assert_eq!(m.serials, [235, 236]);
    assert_eq!(m.frame.header.msg_id, 0x1205);
    assert_eq!(m.frame.header.serial, 235);
    assert_eq!(m.frame.header.package, None);
    let Body::Raw(body) = &m.frame.body else {
        panic!("0x1205 is kept raw")
    };
    assert_eq!(body.len(), 986);
    // serial WORD, item count DWORD, then 35 items of 28 bytes; the first is channel 1.
    assert_eq!(u32::from_be_bytes(body[2..6].try_into().unwrap()), 35);
    assert_eq!(2 + 4 + 35 * 28, body.len());
    assert_eq!(body[6], 1);
    // The merged message travels in the stored form (here it would even fit one frame).
    let stored = encode_stored(&m.frame).unwrap();
    assert_eq!(decode_stored(&stored).unwrap(), m.frame);

    let cfg = SessionConfig {
        terminals: TerminalPolicy::Open,
        max_refusals: 5,
    };
    let dir = MemoryDirectory::new();
    dir.set_auth_code("40666575062", "x");
    let mut session = Session::new();
    let mut auth = m.frame.header;
    auth.msg_id = msg_id::AUTHENTICATE;
    let auth = Frame::new(
        auth,
        Body::Authenticate(Authenticate {
            code: Text::new("x"),
            imei: None,
            software_version: None,
        }),
    );
    assert!(session.on_frame(&cfg, &dir, &auth).reject.is_none());
    let out = session.on_merged(&cfg, &dir, m);
    assert!(out.persist);
    let acked: Vec<u16> = out
        .replies
        .iter()
        .map(|r| match &r.body {
            Body::PlatformResponse(g) => {
                assert_eq!(g.ack_msg_id, 0x1205);
                assert_eq!(g.result, 0);
                g.ack_serial
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(acked, [235, 236]);

    let doc = serde_json::json!({
        "decoded": to_json(&m.frame),
        "serials": m.serials,
        "stored_len": stored.len(),
    });
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/ok/v21_2013_subpackage_2_of_2.hex");
    check(
        &path,
        "merged.json",
        &(serde_json::to_string_pretty(&doc).unwrap() + "\n"),
    );
}

/// Errors name the byte on the wire: offsets after escapes are shifted by them.
#[test]
fn error_offsets_count_escaped_bytes() {
    // V15 has two escapes (serial 0x007E and fuel 0x007D); break its checksum.
    let mut bytes = case("v15");
    let n = bytes.len();
    bytes[n - 2] ^= 0xFF;
    let err = decode(&bytes).unwrap_err();
    assert_eq!(err.offset, n - 2, "{err}");
    assert_eq!(err.field, "checksum");
}
