//! The JT/T 808 connection state machine, sans-IO: one decoded message in, what to persist,
//! what to answer and whether to close out.
//!
//! Flow (§1.4 of the research note): `0x0100` register → `0x8100` with an auth code →
//! `0x0102` authenticate → `0x8001`, then heartbeats (`0x0002`), location reports (`0x0200`),
//! batches (`0x0704`), other uplinks and finally `0x0003` logout, each answered with `0x8001`.
//! A terminal that reconnects skips straight to `0x0102` with its stored code.
//!
//! What needs storage (the fleet registry, auth codes, per-model leniency) is behind the small
//! [`Directory`] trait, which the platform implements over its catalog. Reports are persisted
//! and answered only after they are durable: the session says *persist, then reply*, and the
//! gateway carries that out in order.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use wire::DecodeError;

use crate::body::{GeneralResponse, Register, RegisterResponse, RetransmitRequest};
use crate::frame::{Body, Frame, msg_id, peek_header};
use crate::header::Header;
use crate::reassembly::{Merged, Missing, Refusal};
use crate::value::Text;

/// What the session asks of the platform's storage. Implemented by the platform over its
/// catalog; calls are synchronous and rare (registration, authentication, and the leniency
/// lookup once per terminal and connection), so a blocking implementation is fine.
pub trait Directory {
    /// Whether the fleet registry knows this terminal id.
    fn is_known(&self, terminal: &str) -> bool;
    /// Records a registration and returns the auth code to hand out (a terminal that registers
    /// again may get its old code back), or the reason it is refused.
    fn register(&self, terminal: &str, reg: &Register) -> Result<String, RegisterRefusal>;
    /// Whether `code` is the auth code of this terminal.
    fn check_auth(&self, terminal: &str, code: &str) -> bool;
    /// Whether this terminal's model needs the lenient decoder (bad checksums and lengths).
    fn lenient(&self, terminal: &str) -> bool;
}

/// Why a registration is refused: the 0x8100 result codes 1–4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegisterRefusal {
    VehicleAlreadyRegistered,
    VehicleNotInDatabase,
    TerminalAlreadyRegistered,
    TerminalNotInDatabase,
}

impl RegisterRefusal {
    /// The 0x8100 result code.
    pub fn code(self) -> u8 {
        match self {
            Self::VehicleAlreadyRegistered => 1,
            Self::VehicleNotInDatabase => 2,
            Self::TerminalAlreadyRegistered => 3,
            Self::TerminalNotInDatabase => 4,
        }
    }
}

/// Who may register (`[jt808] terminals`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TerminalPolicy {
    /// Any terminal may register.
    Open,
    /// Only terminals the fleet registry knows; others get 0x8100 result 4.
    Registered,
}

/// The policy a session enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    pub terminals: TerminalPolicy,
    /// Close the connection after this many refusals in a row (no registration, wrong auth
    /// code, data before authentication).
    pub max_refusals: u32,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            terminals: TerminalPolicy::Registered,
            max_refusals: 5,
        }
    }
}

/// Why a message was refused; each has a metrics label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reject {
    /// Registration or authentication of a terminal the registry does not know.
    NotInRegistry,
    /// The directory refused the registration.
    RegisterRefused,
    /// A wrong auth code.
    BadAuthCode,
    /// Data before authentication.
    NotAuthenticated,
    /// Another terminal id on a connection authenticated for one.
    TerminalMismatch,
    /// An encrypted body (we hold no keys).
    Encrypted,
    /// A frame or merged message that does not decode.
    Malformed,
    /// A packet the reassembler would not hold.
    Subpackage(Refusal),
}

impl Reject {
    pub fn label(self) -> &'static str {
        match self {
            Self::NotInRegistry => "not_in_registry",
            Self::RegisterRefused => "register_refused",
            Self::BadAuthCode => "bad_auth_code",
            Self::NotAuthenticated => "not_authenticated",
            Self::TerminalMismatch => "terminal_mismatch",
            Self::Encrypted => "encrypted",
            Self::Malformed => "malformed",
            Self::Subpackage(r) => r.label(),
        }
    }

    /// Whether the refusal counts toward closing the connection: the ones a terminal that is
    /// not allowed in keeps producing.
    fn counts(self) -> bool {
        matches!(
            self,
            Self::NotInRegistry
                | Self::RegisterRefused
                | Self::BadAuthCode
                | Self::NotAuthenticated
                | Self::TerminalMismatch
        )
    }
}

/// What the connection must do with one message, in this order: persist it (if `persist`),
/// then, once everything persisted so far on this connection is durable, send `replies`, then
/// close if `close`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    pub persist: bool,
    pub replies: Vec<Frame>,
    pub close: bool,
    pub reject: Option<Reject>,
    /// Set when this message made the connection the owner of a terminal id
    /// (`jt808:{terminal}`): any older connection of the same terminal must be closed.
    pub claim: Option<String>,
}

/// One connection's state.
#[derive(Debug, Default)]
pub struct Session {
    /// The authenticated terminal.
    terminal: Option<String>,
    /// The header of the authenticated terminal's last message: where downlinks go.
    peer: Option<Header>,
    next_serial: u16,
    refusals: u32,
}

impl Session {
    pub fn new() -> Self {
        Self::default()
    }

    /// The authenticated terminal id, if any.
    pub fn terminal(&self) -> Option<&str> {
        self.terminal.as_deref()
    }

    /// The platform's next serial (per connection, wrapping).
    pub fn next_serial(&mut self) -> u16 {
        let s = self.next_serial;
        self.next_serial = self.next_serial.wrapping_add(1);
        s
    }

    /// A header for a platform message to the terminal that sent `to`, in its version, with
    /// the platform's next serial.
    pub fn downlink_header(&mut self, to: &Header, msg_id: u16) -> Header {
        let mut h = Header::new(to.version, msg_id, to.phone, self.next_serial());
        if h.version == crate::Version::V2019 {
            h.protocol_version = to.protocol_version;
        }
        h
    }

    /// 0x8001 answering message `ack_msg_id` serial `ack_serial` of the terminal that sent `to`.
    pub fn general_response(
        &mut self,
        to: &Header,
        ack_serial: u16,
        ack_msg_id: u16,
        result: u8,
    ) -> Frame {
        let header = self.downlink_header(to, msg_id::PLATFORM_RESPONSE);
        Frame::new(
            header,
            Body::PlatformResponse(GeneralResponse {
                ack_serial,
                ack_msg_id,
                result,
            }),
        )
    }

    /// 0x8003 asking for the missing packets of a message (at most as many indexes as the
    /// version's count field allows; the rest follow once those arrive and time out again).
    pub fn retransmit_request(&mut self, missing: &Missing) -> Frame {
        let header = self.downlink_header(&missing.header, msg_id::RETRANSMIT_REQUEST);
        let max = RetransmitRequest::max_indexes(header.version);
        let indexes = missing.indexes.iter().take(max).copied().collect();
        Frame::new(
            header,
            Body::RetransmitRequest(RetransmitRequest {
                first_serial: missing.first_serial,
                indexes,
            }),
        )
    }

    /// Handles one whole decoded frame.
    pub fn on_frame(&mut self, cfg: &SessionConfig, dir: &dyn Directory, frame: &Frame) -> Outcome {
        self.handle(cfg, dir, frame, &[frame.header.serial])
    }

    /// Handles a reassembled message; every packet's serial is answered.
    pub fn on_merged(&mut self, cfg: &SessionConfig, dir: &dyn Directory, m: &Merged) -> Outcome {
        self.handle(cfg, dir, &m.frame, &m.serials)
    }

    /// Admits one packet of a subpackaged message to reassembly: `None` to go ahead, or the
    /// refusal (packets are held only for the authenticated terminal). No answer is sent for a
    /// held packet until its whole message is durable.
    pub fn on_packet(&mut self, cfg: &SessionConfig, frame: &Frame) -> Option<Outcome> {
        let h = &frame.header;
        let reason = match &self.terminal {
            None => Reject::NotAuthenticated,
            Some(t) if *t != h.terminal_id() => Reject::TerminalMismatch,
            Some(_) => return None,
        };
        Some(self.refuse(cfg, reason, h, &[h.serial], GeneralResponse::FAILURE))
    }

    /// A packet the reassembler refused: answered with failure so the terminal does not wait.
    pub fn on_packet_refused(&mut self, header: &Header, refusal: Refusal) -> Outcome {
        let reply = self.general_response(
            header,
            header.serial,
            header.msg_id,
            GeneralResponse::FAILURE,
        );
        Outcome {
            replies: vec![reply],
            reject: Some(Reject::Subpackage(refusal)),
            ..Outcome::default()
        }
    }

    /// A reassembled message whose body does not decode: every packet answered with "message
    /// error".
    pub fn on_malformed_merged(&mut self, header: &Header, serials: &[u16]) -> Outcome {
        let replies = serials
            .iter()
            .map(|&s| {
                self.general_response(header, s, header.msg_id, GeneralResponse::MESSAGE_ERROR)
            })
            .collect();
        Outcome {
            replies,
            reject: Some(Reject::Malformed),
            ..Outcome::default()
        }
    }

    /// A frame that did not decode: answered with "message error" when its header can be read
    /// and it is an uplink that is owed an answer; never a disconnect.
    pub fn on_malformed(&mut self, raw: &[u8], _error: &DecodeError) -> Outcome {
        let replies = peek_header(raw)
            .filter(|h| h.msg_id < 0x8000 && h.msg_id != msg_id::TERMINAL_RESPONSE)
            .map(|h| {
                vec![self.general_response(&h, h.serial, h.msg_id, GeneralResponse::MESSAGE_ERROR)]
            })
            .unwrap_or_default();
        Outcome {
            replies,
            reject: Some(Reject::Malformed),
            ..Outcome::default()
        }
    }

    fn refuse(
        &mut self,
        cfg: &SessionConfig,
        reason: Reject,
        h: &Header,
        serials: &[u16],
        result: u8,
    ) -> Outcome {
        if reason.counts() {
            self.refusals += 1;
        }
        let replies = serials
            .iter()
            .map(|&s| self.general_response(h, s, h.msg_id, result))
            .collect();
        Outcome {
            replies,
            reject: Some(reason),
            close: self.refusals >= cfg.max_refusals,
            ..Outcome::default()
        }
    }

    fn accept(&mut self, h: &Header, serials: &[u16], persist: bool) -> Outcome {
        self.refusals = 0;
        self.peer = Some(*h);
        let replies = serials
            .iter()
            .map(|&s| self.general_response(h, s, h.msg_id, GeneralResponse::SUCCESS))
            .collect();
        Outcome {
            persist,
            replies,
            ..Outcome::default()
        }
    }

    /// Where downlinks for the authenticated terminal go (the header of its last message).
    pub fn peer(&self) -> Option<&Header> {
        self.peer.as_ref()
    }

    fn handle(
        &mut self,
        cfg: &SessionConfig,
        dir: &dyn Directory,
        frame: &Frame,
        serials: &[u16],
    ) -> Outcome {
        let h = &frame.header;
        // Answers and platform messages echoed back are not ours to answer.
        if h.msg_id >= 0x8000 || h.msg_id == msg_id::TERMINAL_RESPONSE {
            return Outcome::default();
        }
        let terminal = h.terminal_id();
        if let Some(t) = &self.terminal
            && *t != terminal
        {
            return self.refuse(
                cfg,
                Reject::TerminalMismatch,
                h,
                serials,
                GeneralResponse::FAILURE,
            );
        }
        if h.encryption != 0 {
            return self.refuse(
                cfg,
                Reject::Encrypted,
                h,
                serials,
                GeneralResponse::UNSUPPORTED,
            );
        }
        let registered_only = cfg.terminals == TerminalPolicy::Registered;
        match (&frame.body, h.msg_id) {
            (Body::Register(reg), msg_id::REGISTER) => {
                let result = if registered_only && !dir.is_known(&terminal) {
                    Err(RegisterRefusal::TerminalNotInDatabase)
                } else {
                    dir.register(&terminal, reg)
                };
                let (code, auth, reject) = match result {
                    Ok(code) => (0, Text::new(&code), None),
                    Err(RegisterRefusal::TerminalNotInDatabase) if registered_only => (
                        RegisterRefusal::TerminalNotInDatabase.code(),
                        Text::default(),
                        Some(Reject::NotInRegistry),
                    ),
                    Err(r) => (r.code(), Text::default(), Some(Reject::RegisterRefused)),
                };
                if let Some(reason) = reject
                    && reason.counts()
                {
                    self.refusals += 1;
                } else {
                    self.refusals = 0;
                }
                let header = self.downlink_header(h, msg_id::REGISTER_RESPONSE);
                let reply = Frame::new(
                    header,
                    Body::RegisterResponse(RegisterResponse {
                        ack_serial: serials.first().copied().unwrap_or(h.serial),
                        result: code,
                        auth_code: auth,
                    }),
                );
                Outcome {
                    replies: vec![reply],
                    reject,
                    close: self.refusals >= cfg.max_refusals,
                    ..Outcome::default()
                }
            }
            (Body::Authenticate(auth), msg_id::AUTHENTICATE) => {
                let known = !registered_only || dir.is_known(&terminal);
                if !known {
                    return self.refuse(
                        cfg,
                        Reject::NotInRegistry,
                        h,
                        serials,
                        GeneralResponse::FAILURE,
                    );
                }
                if !dir.check_auth(&terminal, &auth.code.text()) {
                    return self.refuse(
                        cfg,
                        Reject::BadAuthCode,
                        h,
                        serials,
                        GeneralResponse::FAILURE,
                    );
                }
                self.terminal = Some(terminal.clone());
                let mut out = self.accept(h, serials, false);
                out.claim = Some(format!("jt808:{terminal}"));
                out
            }
            _ if self.terminal.is_none() => self.refuse(
                cfg,
                Reject::NotAuthenticated,
                h,
                serials,
                GeneralResponse::FAILURE,
            ),
            (_, msg_id::HEARTBEAT) => self.accept(h, serials, false),
            (_, msg_id::LOGOUT) => {
                let out = self.accept(h, serials, true);
                self.terminal = None;
                self.peer = None;
                out
            }
            // Register and authenticate with a body that did not decode as such were turned
            // into errors by the decoder; everything else an authenticated terminal sends is
            // kept: reports, batches, reassembled messages, and uplinks we keep raw.
            _ => self.accept(h, serials, true),
        }
    }
}

/// An in-memory [`Directory`] for tests and the simulator: registrations and codes live as
/// long as the value.
#[derive(Debug, Default)]
pub struct MemoryDirectory {
    inner: Mutex<MemoryInner>,
}

#[derive(Debug, Default)]
struct MemoryInner {
    known: HashSet<String>,
    lenient: HashSet<String>,
    codes: HashMap<String, String>,
    registrations: u64,
}

impl MemoryDirectory {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a terminal to the fleet registry.
    pub fn know(&self, terminal: &str) {
        self.lock().known.insert(terminal.to_owned());
    }

    /// Marks a terminal's model as needing the lenient decoder.
    pub fn set_lenient(&self, terminal: &str) {
        self.lock().lenient.insert(terminal.to_owned());
    }

    /// Gives a terminal an auth code, as if it had registered before.
    pub fn set_auth_code(&self, terminal: &str, code: &str) {
        self.lock()
            .codes
            .insert(terminal.to_owned(), code.to_owned());
    }

    /// The auth code handed to a terminal, if it registered.
    pub fn auth_code(&self, terminal: &str) -> Option<String> {
        self.lock().codes.get(terminal).cloned()
    }

    /// Successful registrations so far.
    pub fn registrations(&self) -> u64 {
        self.lock().registrations
    }
}

impl Directory for MemoryDirectory {
    fn is_known(&self, terminal: &str) -> bool {
        self.lock().known.contains(terminal)
    }

    fn register(&self, terminal: &str, _reg: &Register) -> Result<String, RegisterRefusal> {
        let mut inner = self.lock();
        inner.registrations += 1;
        let n = inner.registrations;
        Ok(inner
            .codes
            .entry(terminal.to_owned())
            .or_insert_with(|| format!("HH{n:06}"))
            .clone())
    }

    fn check_auth(&self, terminal: &str, code: &str) -> bool {
        self.lock().codes.get(terminal).is_some_and(|c| c == code)
    }

    fn lenient(&self, terminal: &str) -> bool {
        self.lock().lenient.contains(terminal)
    }
}
