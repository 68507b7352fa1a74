//! Validation of peer secrets: 16 printable ASCII characters each, a plausible OperatorID, and
//! a `Debug` that never shows a secret.

use proto_tcec::{PeerSecrets, SecretError};

const OK: &str = "1234567890abcdef";

#[test]
fn each_secret_must_be_16_characters() {
    let cases: [(&str, [&str; 4]); 4] = [
        ("OperatorSecret", ["short", OK, OK, OK]),
        ("DataSecret", [OK, "1234567890abcdefg", OK, OK]),
        ("DataSecretIV", [OK, OK, "", OK]),
        ("SigSecret", [OK, OK, OK, "123"]),
    ];
    for (field, [op, data, iv, sig]) in cases {
        let err = PeerSecrets::new("123456789", op, data, iv, sig).unwrap_err();
        assert!(
            matches!(err, SecretError::Length { field: f, .. } if f == field),
            "{err}"
        );
        assert!(
            err.to_string()
                .starts_with(&format!("{field} must be exactly 16")),
            "{err}"
        );
    }
}

#[test]
fn secrets_are_ascii_because_they_are_used_as_bytes() {
    // Six CJK characters are 18 bytes but would look like "16 characters" to nobody.
    let err = PeerSecrets::new("123456789", OK, "密钥密钥1234567890", OK, OK).unwrap_err();
    assert_eq!(
        err,
        SecretError::NotAscii {
            field: "DataSecret",
            found: '密'
        }
    );
}

#[test]
fn operator_id_is_letters_and_digits() {
    for bad in [
        "",
        "MA01 H3BQ2",
        "123456789012345678901234567890123",
        "运营商",
    ] {
        let err = PeerSecrets::new(bad, OK, OK, OK, OK).unwrap_err();
        assert_eq!(err, SecretError::OperatorId(bad.to_owned()));
    }
    // 9-character organisation code and 18-character credit code.
    PeerSecrets::new("MA01H3BQ2", OK, OK, OK, OK).unwrap();
    PeerSecrets::new("91120000MA01H3BQ2X", OK, OK, OK, OK).unwrap();
}

#[test]
fn debug_hides_the_secrets() {
    let s = PeerSecrets::new("MA01H3BQ2", "OperatorSecret16", OK, OK, OK).unwrap();
    let shown = format!("{s:?}");
    assert!(shown.contains("MA01H3BQ2"));
    assert!(
        !shown.contains("OperatorSecret16") && !shown.contains(OK),
        "{shown}"
    );
    assert_eq!(s.operator_secret(), "OperatorSecret16");
}
