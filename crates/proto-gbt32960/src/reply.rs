//! The replies the standard owes a sender (§6.3.2 and Annex B.3.3.2 of both editions).
//!
//! A reply keeps the command, VIN and start bytes, changes the response flag, and carries only the
//! request's time (or, for time sync, the platform's time; for a heartbeat, nothing). Encrypted or
//! undecodable requests can still be answered from their raw bytes.

use crate::frame::{Body, Command, Edition, Frame, Header, OVERHEAD, Response};
use crate::value::{Encryption, Time};

/// The reply to `request` with `code`; `now` is the platform's time (used by time sync).
///
/// 2016 has no codes above 0x03: a 2025-only error code is sent as 0x02 (error) to a 2016 sender.
pub fn reply(request: &Frame, code: Response, now: Time) -> Frame {
    let h = &request.header;
    let body = reply_body(h.command, request.body.time(), now);
    Frame {
        header: reply_header(h, code),
        body,
    }
}

/// The reply to a frame known only by its bytes (e.g. one whose data unit failed to decode).
/// `None` if the bytes are too short to carry a header.
pub fn reply_to_raw(frame: &[u8], code: Response, now: Time) -> Option<Frame> {
    let edition = Edition::from_start(*frame.first()?)?;
    if frame.len() < OVERHEAD {
        return None;
    }
    let h = Header {
        edition,
        command: Command(frame[2]),
        response: Response(frame[3]),
        vin: crate::value::FixedStr(frame[4..21].try_into().ok()?),
        encryption: Encryption(frame[21]),
    };
    let data = &frame[24..frame.len() - 1];
    let starts_with_time = !h.is_encrypted()
        && matches!(h.command.0, 0x01..=0x06 | 0x09 | 0x80..=0x82)
        && data.len() >= 6;
    let time = starts_with_time.then(|| Time(data[..6].try_into().expect("6 bytes")));
    Some(Frame {
        header: reply_header(&h, code),
        body: reply_body(h.command, time, now),
    })
}

/// What the platform answers to a correct command, following Annex B: logins, logouts, heartbeat
/// and time sync get success; realtime and reissue get nothing unless `ack_reports`; replies get
/// nothing; vendor and platform→vehicle commands are not ours to answer here.
pub fn standard_reply(request: &Frame, now: Time, ack_reports: bool) -> Option<Frame> {
    let h = &request.header;
    if !h.response.is_command() {
        return None;
    }
    let answer = match h.command {
        Command::VEHICLE_LOGIN
        | Command::VEHICLE_LOGOUT
        | Command::PLATFORM_LOGIN
        | Command::PLATFORM_LOGOUT
        | Command::HEARTBEAT
        | Command::TIME_SYNC => true,
        Command::REALTIME | Command::REISSUE => ack_reports,
        _ => false,
    };
    answer.then(|| reply(request, Response::SUCCESS, now))
}

fn reply_header(h: &Header, code: Response) -> Header {
    let code = if h.edition == Edition::V2016 && code.0 > 0x03 {
        Response::ERROR
    } else {
        code
    };
    // The reply's data unit is plain text whatever the request used.
    Header {
        response: code,
        encryption: Encryption(0x01),
        ..*h
    }
}

fn reply_body(command: Command, request_time: Option<Time>, now: Time) -> Body {
    match command {
        Command::TIME_SYNC => Body::Time { time: now },
        Command::HEARTBEAT => Body::Empty,
        _ => request_time.map_or(Body::Empty, |time| Body::Time { time }),
    }
}
