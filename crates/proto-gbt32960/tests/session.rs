//! The connection state machine of both roles, one conversation per test.

use proto_gbt32960::*;

const NOW: Time = Time([26, 11, 27, 12, 0, 0]);
const T: Time = Time([26, 11, 27, 11, 59, 0]);

fn frame(edition: Edition, command: Command, vin: &str, body: Body) -> Frame {
    let header = Header {
        edition,
        command,
        response: Response::COMMAND,
        vin: FixedStr::new(vin),
        encryption: Encryption(1),
    };
    Frame { header, body }
}

fn login(vin: &str) -> Frame {
    let body = Body::VehicleLogin2016(VehicleLogin2016 {
        time: T,
        seq: 1,
        iccid: FixedStr::new("89860000000000000001"),
        subsystem_count: 0,
        code_len: 0,
        codes: vec![],
    });
    frame(Edition::V2016, Command::VEHICLE_LOGIN, vin, body)
}

fn realtime(vin: &str) -> Frame {
    frame(
        Edition::V2016,
        Command::REALTIME,
        vin,
        Body::Report(Report::V2016(Report2016 {
            time: T,
            blocks: vec![],
        })),
    )
}

fn simple(command: Command, vin: &str) -> Frame {
    let body = match command {
        Command::VEHICLE_LOGOUT | Command::PLATFORM_LOGOUT => {
            Body::Logout(Logout { time: T, seq: 1 })
        }
        _ => Body::Empty,
    };
    frame(Edition::V2016, command, vin, body)
}

fn platform_login(user: &str, pass: &str, edition: Edition) -> Frame {
    let body = Body::PlatformLogin(PlatformLogin {
        time: T,
        seq: 1,
        username: FixedStr::new(user),
        password: FixedStr::new(pass),
        encryption: Encryption(1),
    });
    frame(edition, Command::PLATFORM_LOGIN, "PLATFORMA0000001", body)
}

fn cfg() -> SessionConfig {
    SessionConfig {
        terminals: TerminalPolicy::Open,
        platforms: vec![PlatformAccount {
            username: "carmaker-a".into(),
            password: "change-me".into(),
            org: "carmaker-a".into(),
            vin_prefixes: vec!["LA9".into()],
            vins: vec!["LB1EXPLICIT000001".into()],
        }],
        ack_realtime: false,
    }
}

fn code(o: &Outcome) -> Option<u8> {
    o.reply.as_ref().map(|r| r.header.response.0)
}

#[test]
fn terminal_logs_in_reports_and_logs_out() {
    let mut s = Session::new();
    let cfg = cfg();
    let o = s.on_frame(&cfg, &login("LXTERM00000000001"), NOW, &|_| false);
    assert!(o.persist);
    assert_eq!(code(&o), Some(0x01));
    assert_eq!(o.claim.as_deref(), Some("vin:LXTERM00000000001"));
    assert_eq!(
        o.reply.unwrap().body,
        Body::Time { time: T },
        "the reply carries the request's time"
    );

    let o = s.on_frame(&cfg, &realtime("LXTERM00000000001"), NOW, &|_| false);
    assert!(
        o.persist && o.reply.is_none(),
        "a correct report is not answered"
    );
    assert_eq!(o.vin.as_deref(), Some("LXTERM00000000001"));

    let o = s.on_frame(
        &cfg,
        &simple(Command::HEARTBEAT, "LXTERM00000000001"),
        NOW,
        &|_| false,
    );
    assert!(!o.persist);
    assert_eq!(code(&o), Some(0x01));

    let o = s.on_frame(
        &cfg,
        &simple(Command::TIME_SYNC, "LXTERM00000000001"),
        NOW,
        &|_| false,
    );
    assert_eq!(
        o.reply.unwrap().body,
        Body::Time { time: NOW },
        "time sync gets the platform's time"
    );

    let o = s.on_frame(
        &cfg,
        &simple(Command::VEHICLE_LOGOUT, "LXTERM00000000001"),
        NOW,
        &|_| false,
    );
    assert!(o.persist);
    assert_eq!(code(&o), Some(0x01));

    let o = s.on_frame(&cfg, &realtime("LXTERM00000000001"), NOW, &|_| false);
    assert_eq!(o.reject, Some(Reject::NotLoggedIn), "no data after logout");
}

#[test]
fn terminal_refusals() {
    let cfg = cfg();
    let mut s = Session::new();
    let o = s.on_frame(&cfg, &realtime("LXTERM00000000001"), NOW, &|_| false);
    assert_eq!(
        (o.persist, o.reject, code(&o)),
        (false, Some(Reject::NotLoggedIn), Some(0x02))
    );
    let o = s.on_frame(
        &cfg,
        &simple(Command::HEARTBEAT, "LXTERM00000000001"),
        NOW,
        &|_| false,
    );
    assert_eq!(o.reject, Some(Reject::NotLoggedIn));

    s.on_frame(&cfg, &login("LXTERM00000000001"), NOW, &|_| false);
    let o = s.on_frame(&cfg, &realtime("LXOTHER0000000002"), NOW, &|_| false);
    assert_eq!(
        (o.persist, o.reject),
        (false, Some(Reject::VinNotAllowed)),
        "one VIN per terminal connection"
    );
    let o = s.on_frame(&cfg, &login("LXOTHER0000000002"), NOW, &|_| false);
    assert_eq!(o.reject, Some(Reject::VinNotAllowed));
    let o = s.on_frame(
        &cfg,
        &platform_login("carmaker-a", "change-me", Edition::V2016),
        NOW,
        &|_| false,
    );
    assert_eq!((o.reject, o.close), (Some(Reject::RoleConflict), true));

    let registered = SessionConfig {
        terminals: TerminalPolicy::Registered,
        ..cfg.clone()
    };
    let mut s = Session::new();
    let o = s.on_frame(&registered, &login("LXTERM00000000001"), NOW, &|_| false);
    assert_eq!(o.reject, Some(Reject::VinNotRegistered));
    let o = s.on_frame(&registered, &login("LXTERM00000000001"), NOW, &|v| {
        v == "LXTERM00000000001"
    });
    assert_eq!(o.reject, None);

    let acked = SessionConfig {
        ack_realtime: true,
        ..cfg
    };
    let mut s = Session::new();
    s.on_frame(&acked, &login("LXTERM00000000001"), NOW, &|_| false);
    let o = s.on_frame(&acked, &realtime("LXTERM00000000001"), NOW, &|_| false);
    assert_eq!(code(&o), Some(0x01), "ack_realtime answers reports");
}

#[test]
fn platform_relays_many_vins_within_its_list() {
    let cfg = cfg();
    let mut s = Session::new();
    let o = s.on_frame(
        &cfg,
        &platform_login("carmaker-a", "change-me", Edition::V2016),
        NOW,
        &|_| false,
    );
    assert_eq!((o.persist, code(&o)), (true, Some(0x01)));
    assert_eq!(
        o.claim.as_deref(),
        Some("platform:carmaker-a/PLATFORMA0000001")
    );
    assert_eq!(s.platform(), Some(0));
    for vin in [
        "LA9000000000000A1",
        "LA9000000000000A2",
        "LB1EXPLICIT000001",
    ] {
        let o = s.on_frame(&cfg, &login(vin), NOW, &|_| false);
        assert_eq!(
            (o.persist, code(&o), o.claim.clone()),
            (true, Some(0x01), None),
            "{vin}"
        );
        let o = s.on_frame(&cfg, &realtime(vin), NOW, &|_| false);
        assert!(o.persist && o.reply.is_none(), "{vin}");
    }
    let o = s.on_frame(&cfg, &realtime("LZZ00000000000001"), NOW, &|_| false);
    assert_eq!(
        (o.persist, o.reject, code(&o)),
        (false, Some(Reject::VinNotAllowed), Some(0x02))
    );
    let o = s.on_frame(&cfg, &login("LZZ00000000000001"), NOW, &|_| false);
    assert_eq!(o.reject, Some(Reject::VinNotAllowed));
    let o = s.on_frame(
        &cfg,
        &simple(Command::PLATFORM_LOGOUT, "PLATFORMA0000001"),
        NOW,
        &|_| false,
    );
    assert_eq!(code(&o), Some(0x01));
    let o = s.on_frame(&cfg, &realtime("LA9000000000000A1"), NOW, &|_| false);
    assert_eq!(
        o.reject,
        Some(Reject::NotLoggedIn),
        "nothing after the platform logout"
    );
}

#[test]
fn wrong_password_is_refused_and_closes() {
    let cfg = cfg();
    let mut s = Session::new();
    let o = s.on_frame(
        &cfg,
        &platform_login("carmaker-a", "wrong", Edition::V2016),
        NOW,
        &|_| false,
    );
    assert_eq!(
        (o.persist, o.reject, code(&o), o.close),
        (false, Some(Reject::BadCredentials), Some(0x02), true)
    );
    // 2025 has a richer code for a VIN outside the list.
    let mut s = Session::new();
    s.on_frame(
        &cfg,
        &platform_login("carmaker-a", "change-me", Edition::V2025),
        NOW,
        &|_| false,
    );
    let mut f = realtime("LZZ00000000000001");
    f.header.edition = Edition::V2025;
    f.body = Body::Report(Report::V2025(Report2025 {
        time: T,
        blocks: vec![],
        signature: None,
        trailing: vec![],
    }));
    let o = s.on_frame(&cfg, &f, NOW, &|_| false);
    assert_eq!(code(&o), Some(0x04));
}

#[test]
fn malformed_and_encrypted_frames_get_error_replies() {
    let cfg = cfg();
    let mut s = Session::new();
    let mut f = realtime("LXTERM00000000001");
    f.header.encryption = Encryption(0x03);
    f.body = Body::Raw(vec![1, 2, 3]);
    let o = s.on_frame(&cfg, &f, NOW, &|_| false);
    assert_eq!((o.reject, code(&o)), (Some(Reject::Encrypted), Some(0x02)));

    // A 2016 logout whose data unit has two bytes too many.
    let bytes = hex::decode(
        "232304FE4C41394841
4E444D41444530303030323401000A1A0B1B0A1E00000700001E"
            .replace('\n', ""),
    )
    .unwrap();
    let mut bytes = bytes;
    let last = bytes.len() - 1;
    bytes[last] = wire_xor(&bytes[2..last]);
    assert!(decode(&bytes).is_err());
    let o = s.on_malformed(&bytes, NOW);
    assert_eq!(o.reject, Some(Reject::Malformed));
    let r = o.reply.expect("an error reply");
    assert_eq!(r.header.response, Response::ERROR);
    assert_eq!(
        r.body,
        Body::Time {
            time: Time([26, 11, 27, 10, 30, 0])
        }
    );
}

fn wire_xor(b: &[u8]) -> u8 {
    b.iter().fold(0, |a, x| a ^ x)
}
