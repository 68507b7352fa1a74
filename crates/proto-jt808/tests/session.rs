//! The session state machine: registration policy, authentication, what is persisted and
//! answered, refusals and the platform's serial counter.

use proto_jt808::*;

fn phone() -> Phone {
    Phone::from_digits("13800000001", 6).unwrap()
}

fn frame(msg: u16, serial: u16, body: Body) -> Frame {
    Frame::new(Header::new(Version::V2013, msg, phone(), serial), body)
}

fn register(serial: u16) -> Frame {
    frame(
        msg_id::REGISTER,
        serial,
        Body::Register(Register {
            province: 12,
            city: 100,
            maker: Text::new("HAIHE"),
            model: Text::new("T-1"),
            terminal_id: Text::new("0000001"),
            plate_color: 2,
            plate: Text::new("津A12345"),
        }),
    )
}

fn authenticate(code: &str) -> Frame {
    frame(
        msg_id::AUTHENTICATE,
        2,
        Body::Authenticate(Authenticate {
            code: Text::new(code),
            imei: None,
            software_version: None,
        }),
    )
}

fn location(serial: u16) -> Frame {
    frame(
        msg_id::LOCATION,
        serial,
        Body::Location(Location {
            alarm: 0,
            status: 3,
            lat: 39_084_158,
            lon: 117_200_983,
            alt: 5,
            speed: 523,
            direction: 90,
            time: BcdTime([0x26, 0x11, 0x27, 0x10, 0x30, 0x00]),
            items: vec![Item::Mileage(123_456)],
            tail: vec![],
        }),
    )
}

fn general(reply: &Frame) -> GeneralResponse {
    assert_eq!(reply.header.msg_id, msg_id::PLATFORM_RESPONSE);
    match &reply.body {
        Body::PlatformResponse(g) => *g,
        other => panic!("{other:?}"),
    }
}

fn open() -> SessionConfig {
    SessionConfig {
        terminals: TerminalPolicy::Open,
        max_refusals: 3,
    }
}

#[test]
fn register_authenticate_report_heartbeat_logout() {
    let dir = MemoryDirectory::new();
    let cfg = open();
    let mut s = Session::new();

    let out = s.on_frame(&cfg, &dir, &register(1));
    assert_eq!(out.reject, None);
    assert!(!out.persist);
    let Body::RegisterResponse(r) = &out.replies[0].body else {
        panic!("0x8100")
    };
    assert_eq!((r.ack_serial, r.result), (1, 0));
    let code = r.auth_code.text();
    assert_eq!(Some(code.clone()), dir.auth_code("13800000001"));
    assert_eq!(s.terminal(), None, "registering is not authenticating");

    let out = s.on_frame(&cfg, &dir, &authenticate(&code));
    assert_eq!(out.claim.as_deref(), Some("jt808:13800000001"));
    assert_eq!(general(&out.replies[0]).result, 0);
    assert_eq!(s.terminal(), Some("13800000001"));

    let out = s.on_frame(&cfg, &dir, &location(3));
    assert!(out.persist, "reports are persisted, then answered");
    let g = general(&out.replies[0]);
    assert_eq!((g.ack_serial, g.ack_msg_id, g.result), (3, 0x0200, 0));

    let out = s.on_frame(&cfg, &dir, &frame(msg_id::HEARTBEAT, 4, Body::Empty));
    assert!(!out.persist);
    assert_eq!(general(&out.replies[0]).ack_msg_id, msg_id::HEARTBEAT);

    // The platform's serial counts every message it sent on this connection.
    assert_eq!(out.replies[0].header.serial, 3);

    // A terminal's answer to one of ours is not answered.
    let ack = frame(
        msg_id::TERMINAL_RESPONSE,
        5,
        Body::TerminalResponse(GeneralResponse {
            ack_serial: 1,
            ack_msg_id: 0x8103,
            result: 0,
        }),
    );
    assert_eq!(s.on_frame(&cfg, &dir, &ack), Outcome::default());

    let out = s.on_frame(&cfg, &dir, &frame(msg_id::LOGOUT, 6, Body::Empty));
    assert!(out.persist);
    assert_eq!(s.terminal(), None);
    let out = s.on_frame(&cfg, &dir, &location(7));
    assert_eq!(out.reject, Some(Reject::NotAuthenticated));
}

#[test]
fn registered_policy_refuses_unknown_terminals_with_result_4() {
    let dir = MemoryDirectory::new();
    let cfg = SessionConfig::default();
    assert_eq!(cfg.terminals, TerminalPolicy::Registered);
    let mut s = Session::new();
    let out = s.on_frame(&cfg, &dir, &register(1));
    assert_eq!(out.reject, Some(Reject::NotInRegistry));
    let Body::RegisterResponse(r) = &out.replies[0].body else {
        panic!("0x8100")
    };
    assert_eq!(r.result, 4);
    assert!(r.auth_code.0.is_empty(), "no code with a refusal");
    assert_eq!(dir.registrations(), 0);

    dir.know("13800000001");
    let out = s.on_frame(&cfg, &dir, &register(2));
    assert_eq!(out.reject, None);
    assert_eq!(dir.registrations(), 1);
}

#[test]
fn unauthenticated_data_is_refused_and_repeated_refusals_close() {
    let dir = MemoryDirectory::new();
    let cfg = open();
    let mut s = Session::new();
    let out = s.on_frame(&cfg, &dir, &location(1));
    assert!(!out.persist);
    assert_eq!(out.reject, Some(Reject::NotAuthenticated));
    assert_eq!(general(&out.replies[0]).result, GeneralResponse::FAILURE);
    assert!(!out.close);
    let out = s.on_frame(&cfg, &dir, &authenticate("guess"));
    assert_eq!(out.reject, Some(Reject::BadAuthCode));
    assert_eq!(general(&out.replies[0]).result, GeneralResponse::FAILURE);
    let out = s.on_frame(&cfg, &dir, &frame(msg_id::HEARTBEAT, 3, Body::Empty));
    assert!(out.close, "third refusal in a row");

    // A success in between resets the count.
    let mut s = Session::new();
    dir.set_auth_code("13800000001", "right");
    s.on_frame(&cfg, &dir, &location(1));
    s.on_frame(&cfg, &dir, &location(2));
    assert!(
        s.on_frame(&cfg, &dir, &authenticate("right"))
            .reject
            .is_none()
    );
    assert!(!s.on_frame(&cfg, &dir, &authenticate("wrong")).close);
}

#[test]
fn another_terminal_on_an_authenticated_connection_is_refused() {
    let dir = MemoryDirectory::new();
    dir.set_auth_code("13800000001", "c");
    let cfg = open();
    let mut s = Session::new();
    s.on_frame(&cfg, &dir, &authenticate("c"));
    let mut other = location(9);
    other.header.phone = Phone::from_digits("13800000002", 6).unwrap();
    let out = s.on_frame(&cfg, &dir, &other);
    assert_eq!(out.reject, Some(Reject::TerminalMismatch));
    assert!(!out.persist);
}

#[test]
fn packets_are_admitted_only_for_the_authenticated_terminal() {
    let dir = MemoryDirectory::new();
    dir.set_auth_code("13800000001", "c");
    let cfg = open();
    let mut s = Session::new();
    let mut packet = frame(0x0801, 10, Body::Raw(vec![1, 2, 3]));
    packet.header.package = Some(Package { total: 2, index: 1 });
    let out = s.on_packet(&cfg, &packet).expect("refused");
    assert_eq!(out.reject, Some(Reject::NotAuthenticated));
    s.on_frame(&cfg, &dir, &authenticate("c"));
    assert_eq!(s.on_packet(&cfg, &packet), None);
    let out = s.on_packet_refused(&packet.header, Refusal::TerminalFull);
    assert_eq!(out.reject.unwrap().label(), "subpackage_terminal_full");
    assert_eq!(general(&out.replies[0]).ack_serial, 10);
}

#[test]
fn retransmission_requests_fit_the_count_field_of_the_version() {
    let mut s = Session::new();
    let missing = Missing {
        header: Header::new(Version::V2013, 0x0801, phone(), 500),
        first_serial: 500,
        indexes: (1..=300).collect(),
    };
    let req = s.retransmit_request(&missing);
    let Body::RetransmitRequest(r) = &req.body else {
        panic!("0x8003")
    };
    assert_eq!(r.first_serial, 500);
    assert_eq!(r.indexes.len(), 255, "2013 counts with a BYTE");
    let bytes = req.encode().unwrap();
    assert_eq!(decode(&bytes).unwrap(), req);

    let mut h2019 = missing.clone();
    h2019.header = Header::new(
        Version::V2019,
        0x0801,
        Phone::from_digits("13800000001", 10).unwrap(),
        500,
    );
    let req = s.retransmit_request(&h2019);
    let Body::RetransmitRequest(r) = &req.body else {
        panic!("0x8003")
    };
    assert_eq!(r.indexes.len(), 300, "2019 counts with a WORD");
    assert_eq!(decode(&req.encode().unwrap()).unwrap(), req);
}

#[test]
fn malformed_frames_are_answered_with_message_error() {
    let mut s = Session::new();
    // A location whose body is too short, with a correct checksum.
    let mut f = location(7);
    f.body = Body::Raw(vec![0; 10]);
    let bytes = f.encode().unwrap();
    let err = decode(&bytes).unwrap_err();
    let out = s.on_malformed(&bytes, &err);
    assert_eq!(out.reject, Some(Reject::Malformed));
    let g = general(&out.replies[0]);
    assert_eq!((g.ack_serial, g.ack_msg_id, g.result), (7, 0x0200, 2));
    assert!(!out.close);
    // Garbage without a header gets no answer.
    assert!(s.on_malformed(b"\x7Exx\x7E", &err).replies.is_empty());
}

#[test]
fn lenient_terminals_are_named_by_the_directory() {
    let dir = MemoryDirectory::new();
    dir.set_lenient("13511221122");
    assert!(dir.lenient("13511221122"));
    assert!(!dir.lenient("13800000001"));
}
