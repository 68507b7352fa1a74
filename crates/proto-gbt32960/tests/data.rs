//! Golden tests: every frame in `test_data/ok` and `test_data/err` against its expected output.
//!
//! `NAME.hex` holds a frame (first line `# source`); `NAME.json` beside it holds what we expect:
//! the document `haihe decode` prints and the reply the platform owes the sender. Each good frame
//! must also re-encode to the same bytes and pass through the framer unchanged. `NAME.err` holds
//! the expected one-line error. `UPDATE_EXPECT=1 cargo test` rewrites the expectations; review
//! the diff before committing it.

use std::path::{Path, PathBuf};

use model::Timestamp;
use proto_gbt32960::{Framer, Time, decode, standard_reply, to_json};

/// Fixed clocks so the outputs are reproducible.
const RECEIVED_AT: &str = "2026-11-27T12:00:00+08:00";

fn frames_in(dir: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("test_data")
        .join(dir);
    let mut out: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "hex"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            assert!(
                text.starts_with('#'),
                "{}: first line must name the source",
                p.display()
            );
            let hex: String = text
                .lines()
                .filter(|l| !l.starts_with('#'))
                .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
                .collect();
            let bytes = hex::decode(&hex).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, bytes)
        })
        .collect();
    out.sort();
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

#[test]
fn ok_frames_decode_as_expected() {
    let received = Timestamp::parse(RECEIVED_AT).unwrap();
    let now = Time::from_timestamp(received);
    for (path, bytes) in frames_in("ok") {
        let name = path.display();
        let frame = decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            frame.encode().unwrap(),
            bytes,
            "{name}: re-encoding changed the bytes"
        );

        let mut framer = Framer::new();
        framer.push(&bytes);
        assert_eq!(
            framer.next_frame(),
            Some(Ok(bytes.clone())),
            "{name}: framer"
        );

        let reply =
            standard_reply(&frame, now, false).map(|r| hex::encode_upper(r.encode().unwrap()));
        let doc = serde_json::json!({ "decoded": to_json(&frame, received), "reply": reply });
        check(
            &path,
            "json",
            &(serde_json::to_string_pretty(&doc).unwrap() + "\n"),
        );
    }
}

#[test]
fn err_frames_fail_as_expected() {
    for (path, bytes) in frames_in("err") {
        let err = decode(&bytes).expect_err(&path.display().to_string());
        check(&path, "err", &format!("{err}\n"));
    }
}

/// Our replies are byte-identical to the replies published beside the requests (terryhart/32960
/// fixtures: V04a→V04b login, V10a→V10b heartbeat, V13a→V13b platform logout).
#[test]
fn replies_match_the_published_ones() {
    let ok = frames_in("ok");
    let get = |prefix: &str| {
        ok.iter()
            .find(|(p, _)| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
            .map(|(_, b)| b.clone())
            .unwrap()
    };
    let now = Time([26, 11, 27, 12, 0, 0]);
    for (request, expected) in [("v04a", "v04b"), ("v10a", "v10b"), ("v13a", "v13b")] {
        let frame = decode(&get(request)).unwrap();
        let reply = standard_reply(&frame, now, false).expect("a reply is owed");
        assert_eq!(reply.encode().unwrap(), get(expected), "{request}");
    }
    // A realtime report is answered only when the platform is configured to; then like V07b.
    let realtime = decode(&get("v07a")).unwrap();
    assert_eq!(standard_reply(&realtime, now, false), None);
    let ack = standard_reply(&realtime, now, true).unwrap();
    assert_eq!(ack.encode().unwrap(), get("v07b"));
}
