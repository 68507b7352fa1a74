//! JT/T 808 on the generic listener: framer, decoder (lenient where the directory says the
//! terminal's model needs it), subpackage reassembly and the session state machine per socket.
//!
//! What is persisted is one complete message in `proto_jt808`'s stored form (a reassembled
//! message is one record), so replay sees exactly what the session accepted. The reassembler is
//! shared by all connections, so its memory limits hold for the whole listener; a connection
//! polls it for its own terminal about once a second (`on_idle`) and sends the 0x8003
//! retransmission requests that come out.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use model::Timestamp;
use pipeline::{IngestRecord, SourceProtocol};
use proto_jt808::{
    DecodeError, Directory, ErrorKind, Frame, Framer, Limits, Options, Outcome, Push, Reassembler,
    ReassemblyStats, Session, SessionConfig, decode_with, encode_stored, peek_header,
};

use crate::{Connection, Output, Protocol};

/// Directory questions about leniency a connection may ask.
const MAX_LENIENCY_LOOKUPS: u32 = 4;

/// The platform's registry, auth codes and per-model leniency, as the JT/T 808 session needs
/// them.
pub type Jt808Directory = Arc<dyn Directory + Send + Sync>;

/// The JT/T 808 protocol with its session policy.
pub struct Jt808 {
    config: SessionConfig,
    directory: Jt808Directory,
    reassembler: Arc<Mutex<Reassembler>>,
}

impl std::fmt::Debug for Jt808 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jt808")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Jt808 {
    pub fn new(config: SessionConfig, directory: Jt808Directory, limits: Limits) -> Self {
        Self {
            config,
            directory,
            reassembler: Arc::new(Mutex::new(Reassembler::new(limits))),
        }
    }

    /// Reassembly counters (completed, duplicates, refused, requested, expired).
    pub fn reassembly_stats(&self) -> ReassemblyStats {
        lock(&self.reassembler).stats()
    }
}

fn lock(r: &Mutex<Reassembler>) -> MutexGuard<'_, Reassembler> {
    // The reassembler's state stays consistent between calls; a panic elsewhere while the lock
    // was held does not make it unusable.
    r.lock().unwrap_or_else(|e| e.into_inner())
}

impl Protocol for Jt808 {
    fn name(&self) -> &'static str {
        "jt808"
    }

    fn connect(&self, peer: SocketAddr) -> Box<dyn Connection> {
        Box::new(Conn {
            peer,
            framer: Framer::new(),
            session: Session::new(),
            config: self.config,
            directory: Arc::clone(&self.directory),
            reassembler: Arc::clone(&self.reassembler),
            lenient: None,
            lookups: 0,
            closed: false,
        })
    }
}

struct Conn {
    peer: SocketAddr,
    framer: Framer,
    session: Session,
    config: SessionConfig,
    directory: Jt808Directory,
    reassembler: Arc<Mutex<Reassembler>>,
    /// The last terminal looked up for leniency, and the answer.
    lenient: Option<(String, bool)>,
    /// Leniency lookups made on this connection.
    lookups: u32,
    closed: bool,
}

impl Conn {
    /// Decodes strictly; only a frame broken in a way a lenient model is allowed (checksum,
    /// declared length) makes us ask the directory about its terminal, and then decode again.
    /// So the directory is asked about broken frames only, once per terminal, and at most
    /// `MAX_LENIENCY_LOOKUPS` times per connection (garbage with ever new terminal ids cannot
    /// turn into a stream of catalog queries).
    fn decode(&mut self, raw: &[u8]) -> Result<Frame, DecodeError> {
        let err = match decode_with(raw, Options::default()) {
            Ok(frame) => return Ok(frame),
            Err(e) => e,
        };
        if !matches!(
            err.kind,
            ErrorKind::Checksum { .. } | ErrorKind::LengthMismatch { .. }
        ) {
            return Err(err);
        }
        let Some(terminal) = peek_header(raw).map(|h| h.terminal_id()) else {
            return Err(err);
        };
        let lenient = match &self.lenient {
            Some((t, l)) if *t == terminal => *l,
            _ if self.lookups >= MAX_LENIENCY_LOOKUPS => false,
            _ => {
                self.lookups += 1;
                let l = self.directory.lenient(&terminal);
                self.lenient = Some((terminal, l));
                l
            }
        };
        if lenient {
            decode_with(raw, Options { lenient: true })
        } else {
            Err(err)
        }
    }

    fn handle(&mut self, raw: &[u8], now: Timestamp, out: &mut Vec<Output>) {
        let frame = match self.decode(raw) {
            Ok(frame) => frame,
            Err(e) => {
                tracing::warn!(peer = %self.peer, error = %e, "JT/T 808 frame does not decode");
                let outcome = self.session.on_malformed(raw, &e);
                self.emit(outcome, None, now, out);
                return;
            }
        };
        if !frame.quirks.is_empty() {
            tracing::debug!(peer = %self.peer, quirks = ?frame.quirks, "JT/T 808 frame accepted leniently");
        }
        if frame.header.package.is_none() {
            let outcome = self
                .session
                .on_frame(&self.config, &*self.directory, &frame);
            self.emit(outcome, Some(&frame), now, out);
            return;
        }
        if let Some(refused) = self.session.on_packet(&self.config, &frame) {
            self.emit(refused, None, now, out);
            return;
        }
        let header = frame.header;
        let push = lock(&self.reassembler).push(frame, now);
        match push {
            Push::Whole(frame) => {
                let outcome = self
                    .session
                    .on_frame(&self.config, &*self.directory, &frame);
                self.emit(outcome, Some(&frame), now, out);
            }
            Push::Pending => out.push(Output::Counted("subpackage_pending")),
            Push::Duplicate => out.push(Output::Counted("subpackage_duplicate")),
            Push::Refused(refusal) => {
                let outcome = self.session.on_packet_refused(&header, refusal);
                self.emit(outcome, None, now, out);
            }
            Push::Malformed {
                header,
                serials,
                error,
            } => {
                tracing::warn!(peer = %self.peer, error = %error, "JT/T 808 reassembled message does not decode");
                let outcome = self.session.on_malformed_merged(&header, &serials);
                self.emit(outcome, None, now, out);
            }
            Push::Complete(merged) => {
                let outcome = self
                    .session
                    .on_merged(&self.config, &*self.directory, &merged);
                self.emit(outcome, Some(&merged.frame), now, out);
            }
        }
    }

    /// Carries out one outcome: claim, count, persist, reply, close, in that order.
    fn emit(
        &mut self,
        outcome: Outcome,
        frame: Option<&Frame>,
        now: Timestamp,
        out: &mut Vec<Output>,
    ) {
        if let Some(reason) = outcome.reject {
            tracing::info!(peer = %self.peer, reason = reason.label(), "JT/T 808 message refused");
        }
        if let Some(identity) = outcome.claim {
            out.push(Output::Claim(identity));
        }
        out.push(Output::Counted(match (outcome.reject, outcome.persist) {
            (Some(r), _) => r.label(),
            (None, true) => "accepted",
            (None, false) => "ignored",
        }));
        if outcome.persist
            && let Some(frame) = frame
        {
            match encode_stored(frame) {
                Ok(payload) => out.push(Output::Persist(IngestRecord {
                    protocol: SourceProtocol::Jt808,
                    received_at: now,
                    org: None,
                    payload,
                })),
                Err(e) => {
                    // Cannot happen for a decoded message; never acknowledge what is not kept.
                    tracing::error!(peer = %self.peer, error = %e, "cannot store a JT/T 808 message");
                    return;
                }
            }
        }
        for reply in outcome.replies {
            match reply.encode() {
                Ok(bytes) => out.push(Output::Reply(bytes)),
                Err(e) => tracing::error!(error = %e, "cannot encode a JT/T 808 reply"),
            }
        }
        if outcome.close {
            out.push(Output::Close);
            self.closed = true;
        }
    }
}

impl Connection for Conn {
    fn on_bytes(&mut self, data: &[u8], now: Timestamp, out: &mut Vec<Output>) {
        if self.closed {
            return;
        }
        self.framer.push(data);
        while let Some(item) = self.framer.next_frame() {
            match item {
                Ok(raw) => self.handle(&raw, now, out),
                Err(e) => {
                    tracing::warn!(peer = %self.peer, error = %e, "JT/T 808 frame refused");
                    out.push(Output::Counted("bad_frame"));
                }
            }
            if self.closed {
                return;
            }
        }
    }

    fn on_idle(&mut self, now: Timestamp, out: &mut Vec<Output>) {
        let Some(terminal) = self.session.terminal() else {
            return;
        };
        let missing = lock(&self.reassembler).poll(terminal, now);
        for m in missing {
            let request = self.session.retransmit_request(&m);
            match request.encode() {
                Ok(bytes) => {
                    out.push(Output::Counted("retransmit_request"));
                    out.push(Output::Reply(bytes));
                }
                Err(e) => tracing::error!(error = %e, "cannot encode a JT/T 808 0x8003"),
            }
        }
    }
}
