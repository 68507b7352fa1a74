//! `haihe decode` as a user runs it: frames as arguments or on stdin, JSON out, clear errors.

use std::io::Write;
use std::process::{Command, Stdio};

const LOGIN: &str = "232301FE483356323142413239535A30303331303901001E1A070706370F000238393836303632343430303031343331303936340100E4";
const HEARTBEAT_2025: &str = "242407FE4C413948414E444D414445303030303131010000C2";

fn haihe(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_haihe"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn haihe");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (
        out.status.code().unwrap_or(-1),
        text(out.stdout),
        text(out.stderr),
    )
}

#[test]
fn frames_as_arguments_with_spaces_print_one_json_line_each() {
    let spaced = LOGIN
        .as_bytes()
        .chunks(8)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(" ");
    let (code, out, err) = haihe(
        &["decode", "--protocol", "gbt32960", &spaced, HEARTBEAT_2025],
        "",
    );
    assert_eq!(code, 0, "stderr: {err}");
    let docs: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0]["protocol"], "gbt32960");
    assert_eq!(docs[0]["edition"], "2016");
    assert_eq!(docs[0]["command"], "vehicle_login");
    assert_eq!(docs[0]["response"], "command");
    assert_eq!(docs[0]["vin"], "H3V21BA29SZ003109");
    assert_eq!(docs[0]["encryption"], "none");
    assert_eq!(docs[0]["time"], "2026-07-07T06:55:15+08:00");
    assert_eq!(docs[0]["message"]["iccid"], "89860624400014310964");
    assert!(
        docs[0].get("sample").is_none(),
        "only reports carry a sample"
    );
    assert_eq!(docs[1]["edition"], "2025");
    assert_eq!(docs[1]["command"], "heartbeat");
}

#[test]
fn frames_on_stdin_one_per_line_and_a_bad_bcc_names_offset_and_values() {
    let mut bad = LOGIN.to_owned();
    bad.replace_range(bad.len() - 2.., "E5");
    let input = format!("{LOGIN}\n\n{bad}\n{HEARTBEAT_2025}\n");
    let (code, out, err) = haihe(&["decode", "--protocol", "gbt32960"], &input);
    assert_ne!(code, 0, "a bad frame makes the exit code non-zero");
    assert_eq!(out.lines().count(), 2, "good frames are still printed");
    assert_eq!(
        err.trim(),
        "frame 2: byte 54, bcc: checksum mismatch: expected 0xE4, found 0xE5"
    );
}

#[test]
fn realtime_report_carries_a_sample_in_physical_units() {
    let v09 = "232302FE484155563442474E365335303032323139010020190A1B1402020202FFFFFFFFFFFFFFFFFFFFFFFFFEFEFEFEFEFEFEFEFEFEFEFEEC";
    let (code, out, _) = haihe(&["decode", "--protocol", "gbt32960", v09], "");
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let sample = &doc["sample"];
    assert_eq!(sample["ts"], "2025-10-27T20:02:02+08:00");
    assert_eq!(sample["source"], "gbt32960-2016");
    assert_eq!(sample["motors"][0]["speed_rpm"], serde_json::Value::Null);
    assert_eq!(sample["motors"][1]["speed_rpm"], 45278.0);
    assert_eq!(sample["quality"], model::quality::MOTORS);
}

#[test]
fn not_hex_and_unknown_protocol_are_clear_errors() {
    let (code, _, err) = haihe(&["decode", "--protocol", "gbt32960", "23ZZ"], "");
    assert_ne!(code, 0);
    assert!(err.contains("frame 1: not hex"), "{err}");
    let (code, _, err) = haihe(&["decode", "--protocol", "nmea", LOGIN], "");
    assert_ne!(code, 0);
    assert!(err.contains("invalid value 'nmea'"), "{err}");
}

// JT/T 808 frames: V15 (a 2013 location with escapes) and V11 (a heartbeat whose checksum is
// escaped) of shared/vectors/jt808.md.
const JT808_V15: &str = "7E02000026123456789012007D02000000010000000200BA7F0E07E4F11C0028003C00001810151010100104000000640202007D01137E";
const JT808_V11: &str = "7E00020000040021679287002B7D027E";

#[test]
fn jt808_frames_print_one_json_line_each_with_reports() {
    let (code, out, err) = haihe(&["decode", "--protocol", "jt808", JT808_V15, JT808_V11], "");
    assert_eq!(code, 0, "stderr: {err}");
    let docs: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0]["protocol"], "jt808");
    assert_eq!(docs[0]["version"], "2013");
    assert_eq!(docs[0]["message"], "location");
    assert_eq!(docs[0]["terminal_id"], "123456789012");
    assert_eq!(docs[0]["serial"], 126);
    assert_eq!(docs[0]["body"]["alarms"][0], "emergency");
    assert_eq!(docs[0]["body"]["lat"], 12.222222);
    assert_eq!(docs[0]["body"]["items"][1]["fuel_l"], 12.5);
    assert_eq!(docs[0]["reports"][0]["source"], "jt808-2013");
    assert_eq!(docs[0]["reports"][0]["ts"], "2018-10-15T10:10:10+08:00");
    assert_eq!(docs[1]["message"], "heartbeat");
    assert!(docs[1].get("reports").is_none());
}

#[test]
fn jt808_bad_frame_names_the_byte_and_field_and_fails() {
    // V16b: declared length and checksum both wrong; strict decoding refuses it.
    let v16b = "7E02000032013511221122000700000000000C000301578CC006CA3A5C00470000000014072317201501040000000030011631010BD07E";
    let input = format!("{JT808_V11}\n{v16b}\n");
    let (code, out, err) = haihe(&["decode", "--protocol", "jt808"], &input);
    assert_ne!(code, 0);
    assert_eq!(out.lines().count(), 1, "the good frame is still printed");
    assert_eq!(
        err.trim(),
        "frame 2: byte 53, checksum: checksum mismatch: expected 0xF0, found 0xD0"
    );
}
