//! The replay guard with an injected `now`: the ±5-minute window, repeated (TimeStamp, Seq)
//! per operator, expiry, the memory bound, and its place in `Request::open`.

use model::Timestamp;
use proto_tcec::{
    Error, PeerSecrets, ReplayGuard, Request, Ret, format_time_stamp, parse_time_stamp,
};

fn t(time_stamp: &str) -> Timestamp {
    parse_time_stamp(time_stamp).unwrap()
}

fn plus(at: Timestamp, secs: i64) -> Timestamp {
    Timestamp::from_secs(at.as_secs() + secs)
}

#[test]
fn time_stamps_are_beijing_time() {
    // 2024-03-01 12:00:00 in Beijing is 04:00:00 UTC.
    assert_eq!(t("20240301120000").as_secs(), 1_709_265_600);
    assert_eq!(
        format_time_stamp(Timestamp::from_secs(1_709_265_600)),
        "20240301120000"
    );
    for bad in [
        "2024030112000",
        "2024-03-01 12:0",
        "20240230120000",
        "20241301120000",
        "2024030124000a",
    ] {
        let err = parse_time_stamp(bad).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Field {
                    field: "TimeStamp",
                    ..
                }
            ),
            "{bad}: {err}"
        );
    }
}

#[test]
fn window_is_five_minutes_either_side() {
    let now = t("20240301120000");
    let mut g = ReplayGuard::default();
    assert!(g.check("OP1", "20240301115500", "0001", now).is_ok());
    assert!(g.check("OP1", "20240301120500", "0001", now).is_ok());
    for late_or_early in ["20240301115459", "20240301120501"] {
        let err = g.check("OP1", late_or_early, "0001", now).unwrap_err();
        assert!(err.to_string().starts_with("stale timestamp"), "{err}");
        assert_eq!(err.ret(), Ret::BadRequest);
    }
    let err = g.check("OP1", "20240301115459", "0002", now).unwrap_err();
    assert_eq!(
        err,
        Error::StaleTimestamp {
            time_stamp: "20240301115459".into(),
            skew_secs: -301,
            window_secs: 300,
        }
    );
}

#[test]
fn window_is_configurable() {
    let now = t("20240301120000");
    let mut g = ReplayGuard::new(60, 10);
    assert!(g.check("OP1", "20240301115900", "0001", now).is_ok());
    assert!(matches!(
        g.check("OP1", "20240301115859", "0001", now),
        Err(Error::StaleTimestamp { .. })
    ));
}

#[test]
fn repeated_seq_is_refused_per_operator() {
    let now = t("20240301120000");
    let mut g = ReplayGuard::default();
    g.check("OP1", "20240301120000", "0007", now).unwrap();
    let err = g
        .check("OP1", "20240301120000", "0007", plus(now, 30))
        .unwrap_err();
    assert!(err.to_string().starts_with("replayed seq 0007"), "{err}");
    assert_eq!(err.ret(), Ret::BadRequest);
    // Another operator may use the same TimeStamp and Seq.
    g.check("OP2", "20240301120000", "0007", now).unwrap();
    // A new Seq in the same second is a new request.
    g.check("OP1", "20240301120000", "0008", now).unwrap();
    // Operators that restart Seq at 0001 every second are not refused.
    g.check("OP1", "20240301120001", "0007", now).unwrap();
    assert_eq!(g.len(), 4);
}

#[test]
fn entries_expire_with_the_window() {
    let now = t("20240301120000");
    let mut g = ReplayGuard::default();
    g.check("OP1", "20240301120000", "0001", now).unwrap();
    g.check("OP1", "20240301120400", "0001", plus(now, 240))
        .unwrap();
    assert_eq!(g.len(), 2);
    // Six minutes on, the first TimeStamp is outside the window: forgotten, and refused as
    // stale if it comes back.
    let later = plus(now, 360);
    g.check("OP1", "20240301120600", "0001", later).unwrap();
    assert_eq!(g.len(), 2);
    assert!(matches!(
        g.check("OP1", "20240301120000", "0001", later),
        Err(Error::StaleTimestamp { .. })
    ));
    assert!(matches!(
        g.check("OP1", "20240301120400", "0001", later),
        Err(Error::ReplayedSeq { .. })
    ));
}

#[test]
fn memory_is_bounded_and_full_means_busy() {
    let now = t("20240301120000");
    let mut g = ReplayGuard::new(300, 3);
    for seq in ["0001", "0002", "0003"] {
        g.check("OP1", "20240301120000", seq, now).unwrap();
    }
    let err = g.check("OP1", "20240301120000", "0004", now).unwrap_err();
    assert_eq!(err, Error::ReplayGuardFull(3));
    assert_eq!(err.ret(), Ret::Busy);
    // Still refuses the remembered ones, and makes room once they expire.
    assert!(matches!(
        g.check("OP1", "20240301120000", "0002", now),
        Err(Error::ReplayedSeq { .. })
    ));
    let later = plus(now, 301);
    g.check("OP1", "20240301120501", "0004", later).unwrap();
    assert_eq!(g.len(), 1);
}

#[test]
fn open_refuses_replays_and_stale_requests_after_the_signature() {
    let s = PeerSecrets::new(
        "MA01H3BQ2",
        "OperatorSecret16",
        "AbCdEfGh12345678",
        "8765432112345678",
        "SigSecretKey0001",
    )
    .unwrap();
    let now = t("20240301120000");
    let mut g = ReplayGuard::default();
    let req = Request::seal(&s, br#"{"StationID":"1"}"#, now, 2).unwrap();
    assert_eq!(
        req.open(&s, &mut g, plus(now, 10)).unwrap(),
        br#"{"StationID":"1"}"#
    );
    assert!(matches!(
        req.open(&s, &mut g, plus(now, 20)),
        Err(Error::ReplayedSeq { .. })
    ));
    let old = Request::seal(&s, b"{}", plus(now, -600), 3).unwrap();
    assert!(matches!(
        old.open(&s, &mut g, now),
        Err(Error::StaleTimestamp { .. })
    ));
    // A forged request is refused as such and never reaches the guard's memory.
    let before = g.len();
    let mut forged = Request::seal(&s, b"{}", now, 4).unwrap();
    forged.seq = "0005".into();
    assert_eq!(forged.open(&s, &mut g, now), Err(Error::BadSignature));
    assert_eq!(g.len(), before);
}
