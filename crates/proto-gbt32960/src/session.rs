//! The GB/T 32960 connection state machine, sans-IO: one decoded frame in, what to persist, what
//! to answer and whether to close out.
//!
//! The standard has two roles on the same port. A terminal (Annex B) logs in with 0x01 and sends
//! data for its own VIN only. A carmaker platform (main body) logs in with 0x05 (username and
//! password) and then relays logins, reports and logouts of many VINs over one connection. A
//! connection's role is fixed by its first login.

use std::collections::HashSet;

use crate::frame::{Body, Command, Edition, Frame, Response};
use crate::reply::{reply, standard_reply};
use crate::value::{Time, text_of};

/// Who may log in directly as a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TerminalPolicy {
    /// Any VIN may log in.
    Open,
    /// Only VINs the registry knows.
    Registered,
}

/// A carmaker platform allowed to relay vehicles (`[[gbt32960.platforms]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformAccount {
    pub username: String,
    pub password: String,
    pub org: String,
    pub vin_prefixes: Vec<String>,
    pub vins: Vec<String>,
}

impl PlatformAccount {
    pub fn allows(&self, vin: &str) -> bool {
        self.vins.iter().any(|v| v == vin)
            || self
                .vin_prefixes
                .iter()
                .any(|p| vin.starts_with(p.as_str()))
    }
}

/// The policy a session enforces.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    pub terminals: TerminalPolicy,
    pub platforms: Vec<PlatformAccount>,
    /// Answer correct realtime/reissue reports with success (the standard answers only errors).
    pub ack_realtime: bool,
}

/// Why a frame was refused; each has a metrics label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reject {
    /// Data before any login.
    NotLoggedIn,
    /// A platform login with an unknown user or wrong password.
    BadCredentials,
    /// A VIN outside the platform's list, or another VIN on a terminal connection.
    VinNotAllowed,
    /// A terminal VIN the registry does not know (`terminals = "registered"`).
    VinNotRegistered,
    /// An identifier that is not a usable VIN.
    BadVin,
    /// An encrypted data unit we hold no key for.
    Encrypted,
    /// A frame whose data unit does not decode.
    Malformed,
    /// A login of the other role on a connection whose role is already fixed.
    RoleConflict,
}

impl Reject {
    pub fn label(self) -> &'static str {
        match self {
            Self::NotLoggedIn => "not_logged_in",
            Self::BadCredentials => "bad_credentials",
            Self::VinNotAllowed => "vin_not_allowed",
            Self::VinNotRegistered => "vin_not_registered",
            Self::BadVin => "bad_vin",
            Self::Encrypted => "encrypted",
            Self::Malformed => "malformed",
            Self::RoleConflict => "role_conflict",
        }
    }
}

/// What the connection must do with one frame, in this order: persist the frame (if `persist`),
/// then — once everything persisted so far on this connection is durable — send `reply`, then
/// close if `close`.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub persist: bool,
    pub reply: Option<Frame>,
    pub close: bool,
    pub reject: Option<Reject>,
    /// Set when this frame made the connection the owner of an identity (a terminal's VIN or a
    /// platform's username): any older connection with the same identity must be closed.
    pub claim: Option<String>,
    /// The VIN whose data this frame carries, when it is persisted.
    pub vin: Option<String>,
}

impl Outcome {
    fn ignore() -> Self {
        Self {
            persist: false,
            reply: None,
            close: false,
            reject: None,
            claim: None,
            vin: None,
        }
    }

    fn refuse(reason: Reject, reply: Option<Frame>, close: bool) -> Self {
        Self {
            reject: Some(reason),
            reply,
            close,
            ..Self::ignore()
        }
    }

    fn keep(vin: String, reply: Option<Frame>) -> Self {
        Self {
            persist: true,
            reply,
            vin: Some(vin),
            ..Self::ignore()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Role {
    /// No login yet (or logged out).
    None,
    Terminal {
        vin: String,
        logged_in: bool,
    },
    Platform {
        account: usize,
        vins: HashSet<String>,
    },
}

/// One connection's state.
#[derive(Debug)]
pub struct Session {
    role: Role,
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

/// The standard's error code for a refusal, per edition (2016 knows only 0x02 and 0x03).
fn error_code(edition: Edition, reason: Reject) -> Response {
    if edition == Edition::V2016 {
        return Response::ERROR;
    }
    match reason {
        Reject::VinNotRegistered | Reject::VinNotAllowed => Response::VIN_NOT_EXIST,
        Reject::Encrypted => Response::DECRYPTION_ERROR,
        Reject::Malformed => Response::STRUCTURE_ERROR,
        _ => Response::ERROR,
    }
}

impl Session {
    pub fn new() -> Self {
        Self { role: Role::None }
    }

    /// The platform account index this connection is logged in as, if any.
    pub fn platform(&self) -> Option<usize> {
        match self.role {
            Role::Platform { account, .. } => Some(account),
            _ => None,
        }
    }

    /// The terminal VIN this connection is logged in as, if any.
    pub fn terminal_vin(&self) -> Option<&str> {
        match &self.role {
            Role::Terminal {
                vin,
                logged_in: true,
            } => Some(vin),
            _ => None,
        }
    }

    /// Handles one decoded frame. `registered` tells whether the registry knows a VIN (used for
    /// `TerminalPolicy::Registered`); `now` is the platform's clock for time-sync replies.
    pub fn on_frame(
        &mut self,
        cfg: &SessionConfig,
        frame: &Frame,
        now: Time,
        registered: &dyn Fn(&str) -> bool,
    ) -> Outcome {
        let h = &frame.header;
        if !h.response.is_command() {
            // A reply to one of our commands (query/set/control): nothing to answer.
            return Outcome::ignore();
        }
        let edition = h.edition;
        let refuse = |reason: Reject, close: bool| {
            Outcome::refuse(
                reason,
                Some(reply(frame, error_code(edition, reason), now)),
                close,
            )
        };
        if h.is_encrypted() {
            return refuse(Reject::Encrypted, false);
        }
        let id = text_of(&h.vin.0);
        let vin_ok = model::Vin::from_field(&h.vin.0).is_ok();
        let success = || standard_reply(frame, now, true);
        match h.command {
            Command::PLATFORM_LOGIN => {
                let Body::PlatformLogin(login) = &frame.body else {
                    return refuse(Reject::Malformed, false);
                };
                if matches!(self.role, Role::Terminal { .. }) {
                    return refuse(Reject::RoleConflict, true);
                }
                let user = login.username.text();
                let pass = login.password.text();
                let account = cfg
                    .platforms
                    .iter()
                    .position(|p| p.username == user && p.password == pass);
                match account {
                    Some(account) => {
                        self.role = Role::Platform {
                            account,
                            vins: HashSet::new(),
                        };
                        // The identity is the platform's own code in the identifier field: a
                        // carmaker may run several connections under one account, each with its
                        // code, and only a reconnect with the same code replaces a connection.
                        let claim = format!("platform:{user}/{id}");
                        let mut out = Outcome::keep(id, success());
                        out.claim = Some(claim);
                        out
                    }
                    // A wrong password ends the connection: no guessing on an open socket.
                    None => refuse(Reject::BadCredentials, true),
                }
            }
            Command::PLATFORM_LOGOUT => match self.role {
                Role::Platform { .. } => {
                    self.role = Role::None;
                    Outcome::keep(id, success())
                }
                _ => refuse(Reject::NotLoggedIn, false),
            },
            Command::VEHICLE_LOGIN => {
                if !vin_ok {
                    return refuse(Reject::BadVin, false);
                }
                match &mut self.role {
                    Role::Platform { account, vins } => {
                        if !cfg.platforms[*account].allows(&id) {
                            return refuse(Reject::VinNotAllowed, false);
                        }
                        vins.insert(id.clone());
                        Outcome::keep(id, success())
                    }
                    Role::Terminal { vin, .. } if *vin != id => {
                        refuse(Reject::VinNotAllowed, false)
                    }
                    Role::None | Role::Terminal { .. } => {
                        if cfg.terminals == TerminalPolicy::Registered && !registered(&id) {
                            return refuse(Reject::VinNotRegistered, false);
                        }
                        self.role = Role::Terminal {
                            vin: id.clone(),
                            logged_in: true,
                        };
                        let mut out = Outcome::keep(id.clone(), success());
                        out.claim = Some(format!("vin:{id}"));
                        out
                    }
                }
            }
            Command::REALTIME | Command::REISSUE | Command::VEHICLE_LOGOUT => {
                if !vin_ok {
                    return refuse(Reject::BadVin, false);
                }
                let allowed = match &mut self.role {
                    Role::None => return refuse(Reject::NotLoggedIn, false),
                    Role::Terminal {
                        logged_in: false, ..
                    } => return refuse(Reject::NotLoggedIn, false),
                    Role::Terminal { vin, .. } => *vin == id,
                    Role::Platform { account, vins } => {
                        let ok = cfg.platforms[*account].allows(&id);
                        if ok && h.command == Command::VEHICLE_LOGOUT {
                            vins.remove(&id);
                        }
                        ok
                    }
                };
                if !allowed {
                    return refuse(Reject::VinNotAllowed, false);
                }
                if h.command == Command::VEHICLE_LOGOUT
                    && let Role::Terminal { logged_in, .. } = &mut self.role
                {
                    *logged_in = false;
                }
                Outcome::keep(id, standard_reply(frame, now, cfg.ack_realtime))
            }
            Command::HEARTBEAT | Command::TIME_SYNC => match self.role {
                Role::None => refuse(Reject::NotLoggedIn, false),
                _ => Outcome {
                    reply: success(),
                    ..Outcome::ignore()
                },
            },
            // Activation, key exchange and vendor commands are kept when the sender is logged in;
            // answering them needs key management the platform does not have yet.
            _ => match self.role {
                Role::None => refuse(Reject::NotLoggedIn, false),
                _ if vin_ok => Outcome::keep(id, None),
                _ => Outcome::ignore(),
            },
        }
    }

    /// Handles a frame that framed correctly but whose data unit did not decode: answered with
    /// the structure error (2025) or the general error (2016), never a disconnect.
    pub fn on_malformed(&mut self, raw: &[u8], now: Time) -> Outcome {
        let edition = raw
            .first()
            .and_then(|&b| Edition::from_start(b))
            .unwrap_or(Edition::V2016);
        let reply = crate::reply::reply_to_raw(raw, error_code(edition, Reject::Malformed), now)
            .filter(|_| raw.get(3) == Some(&Response::COMMAND.0));
        Outcome::refuse(Reject::Malformed, reply, false)
    }
}
