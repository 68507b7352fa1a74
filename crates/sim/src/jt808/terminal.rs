//! One simulated terminal's life over its own TCP connection: connect, register (0x0100 →
//! 0x8100 with an auth code), authenticate (0x0102 → 0x8001), then location reports on
//! schedule, heartbeats when idle, signal-loss episodes whose buffered reports go up as a
//! blind-area batch, occasional normal batches, and at the end a logout (0x0003).
//!
//! Every 0x0200, 0x0704 and 0x0002 waits for its 0x8001 (matched by serial and message id):
//! successes, failures and timeouts are counted, with the latency. When the connection drops,
//! the terminal reconnects with back-off and authenticates with the code it holds (it does not
//! register again); reports that were written but not acknowledged, and the fixes it takes
//! while disconnected, are uploaded after that as blind-area data. A code the platform no
//! longer accepts is dropped and the terminal registers again; a refused registration, or a
//! refused first authentication, stops the terminal with the reason in the summary.
//!
//! Fixes are taken from the first authentication on, every interval with the ignition on and
//! every parked interval with it off.
//!
//! 2011 terminals have no 0x0704: they re-send blind-area fixes one by one as 0x0200 and never
//! batch. A signal loss keeps the connection open (nothing is sent, nothing expected); if the
//! platform closes it meanwhile, the terminal reconnects once the signal is back.
//!
//! The terminal is one task. Its loop waits for the socket, the next timer (fix, signal,
//! heartbeat, timeouts, reconnect) or the run's stop; writes are small and awaited in place,
//! bounded by the reply timeout.

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use model::Timestamp;
use proto_jt808::{
    Batch, BcdTime, Body, Frame, Framer, GeneralResponse, Location, Text, Version, decode, msg_id,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;

use super::fleet::Identity;
use super::messages::{self, Radio};
use super::stats::Acked;
use super::{Config, Shared};
use crate::duty::FleetVehicle;
use crate::rng::Rng;

const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Blind-area reports a terminal keeps; beyond this the oldest are dropped (and counted).
const MAX_BLIND: usize = 10_000;
/// Bytes read from the socket at once.
const READ_BUF: usize = 4 * 1024;
/// Blind-area upload pace: at most this many frames, then a pause.
const BLIND_FRAMES_PER_STEP: usize = 8;
const BLIND_PACE: Duration = Duration::from_millis(50);

/// A terminal and everything that outlives its connections.
#[derive(Debug)]
pub(crate) struct Terminal {
    id: Identity,
    vehicle: FleetVehicle,
    rng: Rng,
    /// The terminal's own message serial, kept across connections.
    serial: u16,
    auth_code: Option<Text>,
    registered: bool,
    authenticated: bool,
    connected_before: bool,
    fixes: u64,
    last_step: Instant,
    next_fix: Instant,
    /// Fixes taken without a usable link (signal loss, disconnected), oldest first.
    blind: VecDeque<Location>,
    /// Fixes to send as 0x0200 now.
    live: VecDeque<Location>,
    /// A normal batch being gathered: its size and the fixes so far.
    collecting: Option<(usize, Vec<Location>)>,
    /// Normal batches ready to go.
    batches: VecDeque<Vec<Location>>,
    loss_until: Option<Instant>,
    next_loss: Option<Instant>,
}

impl Terminal {
    pub(crate) fn new(id: Identity, vehicle: FleetVehicle, rng: Rng, now: Instant) -> Self {
        Self {
            id,
            vehicle,
            rng,
            serial: 0,
            auth_code: None,
            registered: false,
            authenticated: false,
            connected_before: false,
            fixes: 0,
            last_step: now,
            next_fix: now,
            blind: VecDeque::new(),
            live: VecDeque::new(),
            collecting: None,
            batches: VecDeque::new(),
            loss_until: None,
            next_loss: None,
        }
    }

    fn next_serial(&mut self) -> u16 {
        let s = self.serial;
        self.serial = self.serial.wrapping_add(1);
        s
    }

    fn reports_done(&self, config: &Config) -> bool {
        config.reports_per_terminal.is_some_and(|n| self.fixes >= n)
    }

    fn in_loss(&self) -> bool {
        self.loss_until.is_some()
    }

    fn nothing_to_send(&self) -> bool {
        self.blind.is_empty()
            && self.live.is_empty()
            && self.batches.is_empty()
            && self.collecting.is_none()
    }

    fn buffered(&self) -> usize {
        self.blind.len()
            + self.live.len()
            + self.batches.iter().map(Vec::len).sum::<usize>()
            + self.collecting.as_ref().map_or(0, |c| c.1.len())
    }

    /// A gathered normal batch goes as it is (one fix alone goes as a report).
    fn flush_collecting(&mut self) {
        if let Some((_, items)) = self.collecting.take() {
            if items.len() >= 2 {
                self.batches.push_back(items);
            } else {
                self.live.extend(items);
            }
        }
    }

    fn keep_blind(&mut self, report: Location, shared: &Shared) {
        if self.blind.len() >= MAX_BLIND {
            self.blind.pop_front();
            shared.stats.blind_dropped.fetch_add(1, Relaxed);
        }
        self.blind.push_back(report);
    }
}

/// Where the terminal stands with the platform on its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Registering {
        serial: u16,
        deadline: Instant,
    },
    /// `fresh`: the code came with this connection's registration.
    Authenticating {
        serial: u16,
        deadline: Instant,
        fresh: bool,
    },
    Online,
    LoggingOut {
        serial: u16,
        deadline: Instant,
    },
}

/// A message written and waiting for its 0x8001.
#[derive(Debug)]
struct Sent {
    msg_id: u16,
    at: Instant,
    what: Acked,
    /// The fixes it carried, kept for re-sending if the connection drops first.
    items: Vec<Location>,
}

#[derive(Debug)]
struct Conn {
    stream: TcpStream,
    framer: Framer,
    phase: Phase,
    outstanding: BTreeMap<u16, Sent>,
    last_sent: Instant,
    /// Authenticated on this connection (resets the back-off).
    established: bool,
    /// Counted in the `online` gauge.
    online: bool,
}

#[derive(Debug)]
enum Link {
    Down { retry_at: Instant },
    Up(Box<Conn>),
}

/// Why a step could not go on.
#[derive(Debug)]
enum Failure {
    /// The connection failed: reconnect.
    Io(&'static str),
    /// The terminal stops for good.
    Done,
}

type Step = Result<(), Failure>;

/// The device time of a fix: now, in Beijing time.
fn wire_now() -> BcdTime {
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    BcdTime::from_timestamp(Timestamp::from_micros(micros))
}

/// Waits `d`; true if the run was told to stop meanwhile.
async fn wait(stop: &mut watch::Receiver<bool>, d: Duration) -> bool {
    tokio::select! {
        () = tokio::time::sleep(d) => false,
        _ = stop.wait_for(|&s| s) => true,
    }
}

struct Run<'a> {
    shared: &'a Shared,
    t: Terminal,
    link: Link,
    backoff: Duration,
    stop_deadline: Option<Instant>,
}

/// Drives one terminal until it has logged out, failed for good, or the run stops.
pub(crate) async fn run(shared: Arc<Shared>, mut t: Terminal, mut stop: watch::Receiver<bool>) {
    // A jittered start, so that a fleet does not connect all at once.
    let spread = shared.config.interval.min(Duration::from_secs(5));
    if wait(&mut stop, spread.mul_f64(t.rng.unit())).await {
        return;
    }
    let now = Instant::now();
    t.next_fix = now;
    t.next_loss = shared
        .config
        .signal_loss_every
        .map(|every| now + every.mul_f64(t.rng.range(0.2, 1.2)));
    let mut r = Run {
        shared: &shared,
        t,
        link: Link::Down { retry_at: now },
        backoff: FIRST_BACKOFF,
        stop_deadline: None,
    };
    r.drive(&mut stop).await;
}

/// What ended a wait.
enum Event {
    Read(io::Result<usize>),
    Timer,
    Stop,
}

impl Run<'_> {
    fn config(&self) -> &Config {
        &self.shared.config
    }

    async fn drive(&mut self, stop: &mut watch::Receiver<bool>) {
        let mut rbuf = vec![0u8; READ_BUF];
        loop {
            let now = Instant::now();
            if self.stop_deadline.is_none() && *stop.borrow() {
                self.stop_deadline = Some(now + self.config().stop_timeout);
            }
            if self.stop_deadline.is_some_and(|d| now >= d) {
                self.shared.stats.error("stop_timeout");
                break;
            }
            match self.step(now, stop).await {
                Ok(()) => {}
                Err(Failure::Done) => break,
                Err(Failure::Io(why)) => self.lose_link(now, why),
            }
            let wake = self.next_wake(Instant::now());
            let hard = self.stop_deadline.is_some();
            let event = match &mut self.link {
                Link::Up(conn) => tokio::select! {
                    r = conn.stream.read(&mut rbuf) => Event::Read(r),
                    () = tokio::time::sleep_until(wake) => Event::Timer,
                    _ = stop.wait_for(|&s| s), if !hard => Event::Stop,
                },
                Link::Down { .. } => tokio::select! {
                    () = tokio::time::sleep_until(wake) => Event::Timer,
                    _ = stop.wait_for(|&s| s), if !hard => Event::Stop,
                },
            };
            let now = Instant::now();
            match event {
                Event::Timer | Event::Stop => {}
                Event::Read(Ok(0)) => self.lose_link(now, "connection_closed"),
                Event::Read(Err(_)) => self.lose_link(now, "connection_error"),
                Event::Read(Ok(n)) => match self.on_bytes(&rbuf[..n], now).await {
                    Ok(()) => {}
                    Err(Failure::Done) => break,
                    Err(Failure::Io(why)) => self.lose_link(now, why),
                },
            }
        }
        self.finish().await;
    }

    /// Everything due at `now`: signal changes, fixes, connecting, timeouts, sending.
    async fn step(&mut self, now: Instant, stop: &mut watch::Receiver<bool>) -> Step {
        let hard = self.stop_deadline.is_some();
        let winding = hard || self.t.reports_done(self.config());
        self.update_loss(now, winding);
        if !winding {
            self.take_fix(now);
        }
        let winding = hard || self.t.reports_done(self.config());
        if winding {
            self.t.flush_collecting();
        }
        match &self.link {
            Link::Down { retry_at } => {
                if hard || (winding && self.t.nothing_to_send()) {
                    return Err(Failure::Done);
                }
                if self.t.in_loss() || now < *retry_at {
                    return Ok(());
                }
                self.connect(now, stop).await
            }
            Link::Up(_) => self.step_connected(now, winding).await,
        }
    }

    async fn step_connected(&mut self, now: Instant, winding: bool) -> Step {
        let timeout = self.config().reply_timeout;
        let heartbeat = self.config().heartbeat;
        let shared = self.shared;
        let stats = &shared.stats;
        let Link::Up(conn) = &mut self.link else {
            return Ok(());
        };
        match conn.phase {
            Phase::Registering { deadline, .. } if now >= deadline => {
                return Err(Failure::Io("register_timeout"));
            }
            Phase::Authenticating { deadline, .. } if now >= deadline => {
                return Err(Failure::Io("auth_timeout"));
            }
            Phase::LoggingOut { deadline, .. } if now >= deadline => {
                stats.error("logout_timeout");
                return Err(Failure::Done);
            }
            _ => {}
        }
        // Unanswered messages: counted, not sent again.
        conn.outstanding.retain(|_, s| {
            let alive = s.at + timeout > now;
            if !alive {
                stats.ack_timeouts.fetch_add(1, Relaxed);
                stats.error("ack_timeout");
            }
            alive
        });
        if conn.phase != Phase::Online || self.t.in_loss() {
            return Ok(());
        }
        self.send_queued(now).await?;
        let Link::Up(conn) = &mut self.link else {
            return Ok(());
        };
        if winding && self.t.nothing_to_send() {
            let serial = self.t.next_serial();
            let frame = messages::logout(&self.t.id, serial);
            conn.phase = Phase::LoggingOut {
                serial,
                deadline: now + timeout,
            };
            send(conn, shared, &frame, now).await?;
            stats.logouts_sent.fetch_add(1, Relaxed);
        } else if now >= conn.last_sent + heartbeat {
            let serial = self.t.next_serial();
            let frame = messages::heartbeat(&self.t.id, serial);
            track(conn, &frame, Acked::Heartbeat, Vec::new(), now);
            send(conn, shared, &frame, now).await?;
            stats.heartbeats_sent.fetch_add(1, Relaxed);
        }
        Ok(())
    }

    /// Live reports and normal batches first (current data has priority), then at most
    /// [`BLIND_FRAMES_PER_STEP`] frames of blind-area data, oldest first: a terminal back from
    /// a long outage catches up at a steady pace rather than in one burst.
    async fn send_queued(&mut self, now: Instant) -> Step {
        let shared = self.shared;
        let stats = &shared.stats;
        let Link::Up(conn) = &mut self.link else {
            return Ok(());
        };
        let t = &mut self.t;
        let version = t.id.version;
        let vs = stats.version(version);
        while let Some(report) = t.live.pop_front() {
            let serial = t.next_serial();
            let frame = messages::location(&t.id, serial, report.clone());
            track(conn, &frame, Acked::Location, vec![report], now);
            send(conn, shared, &frame, now).await?;
            vs.reports_sent.fetch_add(1, Relaxed);
        }
        while let Some(items) = t.batches.pop_front() {
            let n = items.len() as u64;
            let serial = t.next_serial();
            let frame = messages::batch(&t.id, serial, Batch::NORMAL, items.clone());
            track(conn, &frame, Acked::Batch, items, now);
            send(conn, shared, &frame, now).await?;
            vs.batches_sent.fetch_add(1, Relaxed);
            vs.batch_items_sent.fetch_add(n, Relaxed);
        }
        for _ in 0..BLIND_FRAMES_PER_STEP {
            if t.blind.is_empty() {
                break;
            }
            if version == Version::V2011 {
                let Some(report) = t.blind.pop_front() else {
                    break;
                };
                let serial = t.next_serial();
                let frame = messages::location(&t.id, serial, report.clone());
                track(conn, &frame, Acked::Location, vec![report], now);
                send(conn, shared, &frame, now).await?;
                vs.reports_sent.fetch_add(1, Relaxed);
                stats.blind_reports_sent.fetch_add(1, Relaxed);
            } else {
                let items = messages::take_batch(&t.id, &mut t.blind).map_err(|e| {
                    stats.error("encode");
                    stats.failed(&t.id.terminal_id, version, format!("encoding a batch: {e}"));
                    Failure::Done
                })?;
                let n = items.len() as u64;
                let serial = t.next_serial();
                let frame = messages::batch(&t.id, serial, Batch::BLIND_AREA, items.clone());
                track(conn, &frame, Acked::Batch, items, now);
                send(conn, shared, &frame, now).await?;
                vs.batches_sent.fetch_add(1, Relaxed);
                vs.batch_items_sent.fetch_add(n, Relaxed);
                stats.blind_batches_sent.fetch_add(1, Relaxed);
                stats.blind_items_sent.fetch_add(n, Relaxed);
            }
        }
        Ok(())
    }

    /// Starts and ends signal-loss episodes; none while the terminal winds down.
    fn update_loss(&mut self, now: Instant, winding: bool) {
        let t = &mut self.t;
        if winding {
            t.loss_until = None;
            t.next_loss = None;
            return;
        }
        let shared = self.shared;
        let config = &shared.config;
        match t.loss_until {
            Some(end) if now >= end => {
                t.loss_until = None;
                t.next_loss = config
                    .signal_loss_every
                    .map(|every| now + every.mul_f64(t.rng.range(0.5, 1.5)));
            }
            Some(_) => {}
            None => {
                if t.next_loss.is_some_and(|at| now >= at) {
                    let length = config.signal_loss_length.mul_f64(t.rng.range(0.5, 1.5));
                    t.loss_until = Some(now + length);
                    t.next_loss = None;
                    shared.stats.signal_losses.fetch_add(1, Relaxed);
                }
            }
        }
    }

    /// Takes the fix that is due (at most one per call; a simulator that has fallen behind
    /// skips ticks rather than bursting) and queues it.
    fn take_fix(&mut self, now: Instant) {
        let shared = self.shared;
        let config = &shared.config;
        let stats = &shared.stats;
        let online = matches!(&self.link, Link::Up(c) if c.phase == Phase::Online);
        let t = &mut self.t;
        // Reporting starts with the first authentication.
        if !t.authenticated || t.next_fix > now {
            return;
        }
        let dt = now.saturating_duration_since(t.last_step);
        t.last_step = now;
        t.vehicle.step(dt.as_secs_f64());
        let in_loss = t.in_loss();
        let radio = Radio {
            signal: if in_loss {
                t.rng.below(4) as u8
            } else {
                14 + t.rng.below(18) as u8
            },
            satellites: if t.vehicle.acc_on() {
                10 + t.rng.below(13) as u8
            } else {
                5 + t.rng.below(8) as u8
            },
        };
        let report = messages::fix(t.id.version, &t.vehicle, wire_now(), radio);
        t.fixes += 1;
        stats.fixes.fetch_add(1, Relaxed);
        if in_loss || !online {
            t.keep_blind(report, self.shared);
        } else if let Some((target, items)) = &mut t.collecting {
            items.push(report);
            if items.len() >= *target {
                t.flush_collecting();
            }
        } else if t.id.version != Version::V2011
            && config.batch_chance > 0.0
            && t.rng.chance(config.batch_chance)
        {
            let size = 2 + t.rng.below(4);
            t.collecting = Some((size, vec![report]));
        } else {
            t.live.push_back(report);
        }
        let period = if t.vehicle.acc_on() {
            config.interval
        } else {
            config.parked_interval()
        };
        t.next_fix += period;
        if t.next_fix <= now {
            let behind = now.saturating_duration_since(t.next_fix);
            let missed = behind.as_nanos() / period.as_nanos().max(1) + 1;
            stats
                .ticks_skipped
                .fetch_add(u64::try_from(missed).unwrap_or(u64::MAX), Relaxed);
            t.next_fix = now + period;
        }
    }

    async fn connect(&mut self, now: Instant, stop: &mut watch::Receiver<bool>) -> Step {
        let shared = self.shared;
        let config = &shared.config;
        let stats = &shared.stats;
        let attempt = async {
            let _permit = shared
                .connect_gate
                .acquire()
                .await
                .map_err(|_| io::Error::other("closed"))?;
            match tokio::time::timeout(config.reply_timeout, TcpStream::connect(&config.server))
                .await
            {
                Ok(r) => r,
                Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out")),
            }
        };
        let result = tokio::select! {
            r = attempt => r,
            _ = stop.wait_for(|&s| s) => return Ok(()),
        };
        let Ok(stream) = result.and_then(|s| s.set_nodelay(true).map(|()| s)) else {
            stats.connect_failures.fetch_add(1, Relaxed);
            stats.error("connect_failed");
            self.retry_later(now, false);
            return Ok(());
        };
        stats.connects.fetch_add(1, Relaxed);
        if self.t.connected_before {
            stats.reconnects.fetch_add(1, Relaxed);
        }
        self.t.connected_before = true;
        let now = Instant::now();
        self.link = Link::Up(Box::new(Conn {
            stream,
            framer: Framer::new(),
            phase: Phase::Online,
            outstanding: BTreeMap::new(),
            last_sent: now,
            established: false,
            online: false,
        }));
        // A terminal that holds a code authenticates straight away.
        match self.t.auth_code.clone() {
            Some(code) => self.authenticate(code, false, now).await,
            None => self.register(now).await,
        }
    }

    async fn register(&mut self, now: Instant) -> Step {
        let Link::Up(conn) = &mut self.link else {
            return Ok(());
        };
        let serial = self.t.next_serial();
        let frame = messages::register(&self.t.id, serial);
        conn.phase = Phase::Registering {
            serial,
            deadline: now + self.shared.config.reply_timeout,
        };
        send(conn, self.shared, &frame, now).await
    }

    async fn authenticate(&mut self, code: Text, fresh: bool, now: Instant) -> Step {
        let Link::Up(conn) = &mut self.link else {
            return Ok(());
        };
        let serial = self.t.next_serial();
        let frame = messages::authenticate(&self.t.id, &code, serial);
        conn.phase = Phase::Authenticating {
            serial,
            deadline: now + self.shared.config.reply_timeout,
            fresh,
        };
        send(conn, self.shared, &frame, now).await
    }

    async fn on_bytes(&mut self, bytes: &[u8], now: Instant) -> Step {
        let shared = self.shared;
        let stats = &shared.stats;
        let Link::Up(conn) = &mut self.link else {
            return Ok(());
        };
        conn.framer.push(bytes);
        let mut frames = Vec::new();
        while let Some(next) = conn.framer.next_frame() {
            match next.map(|raw| decode(&raw)) {
                Ok(Ok(frame)) => frames.push(frame),
                Ok(Err(_)) | Err(_) => stats.error("bad_frame"),
            }
        }
        for frame in frames {
            self.on_frame(frame, now).await?;
        }
        Ok(())
    }

    async fn on_frame(&mut self, frame: Frame, now: Instant) -> Step {
        let shared = self.shared;
        let stats = &shared.stats;
        let version = self.t.id.version;
        let Link::Up(conn) = &mut self.link else {
            return Ok(());
        };
        match (&frame.body, frame.header.msg_id) {
            (Body::RegisterResponse(r), msg_id::REGISTER_RESPONSE) => {
                let Phase::Registering { serial, .. } = conn.phase else {
                    stats.late_acks.fetch_add(1, Relaxed);
                    return Ok(());
                };
                if r.ack_serial != serial {
                    stats.error("unexpected_reply");
                    return Ok(());
                }
                if r.result != 0 {
                    let reason = r.result_name();
                    stats.refused(version, reason);
                    stats.error("register_refused");
                    stats.failed(
                        &self.t.id.terminal_id,
                        version,
                        format!(
                            "registration refused: {reason} (0x8100 result {})",
                            r.result
                        ),
                    );
                    return Err(Failure::Done);
                }
                if !self.t.registered {
                    self.t.registered = true;
                    stats.version(version).registered.fetch_add(1, Relaxed);
                }
                self.t.auth_code = Some(r.auth_code.clone());
                self.authenticate(r.auth_code.clone(), true, now).await
            }
            (Body::PlatformResponse(g), msg_id::PLATFORM_RESPONSE) => {
                let g = *g;
                match conn.phase {
                    Phase::Authenticating { serial, fresh, .. }
                        if g.ack_msg_id == msg_id::AUTHENTICATE && g.ack_serial == serial =>
                    {
                        return self.on_auth_reply(g, fresh, now).await;
                    }
                    Phase::LoggingOut { serial, .. }
                        if g.ack_msg_id == msg_id::LOGOUT && g.ack_serial == serial =>
                    {
                        if g.result == GeneralResponse::SUCCESS {
                            stats.logouts_acked.fetch_add(1, Relaxed);
                        } else {
                            stats.ack_failure(Acked::Logout, g.result_name());
                        }
                        return Err(Failure::Done);
                    }
                    _ => {}
                }
                self.on_ack(g, now);
                Ok(())
            }
            (_, id) if id >= 0x8000 => {
                // Parameter queries, controls, retransmission requests (we never split a
                // message): answered "unsupported", so the platform does not wait.
                stats.commands_received.fetch_add(1, Relaxed);
                let serial = self.t.next_serial();
                let reply = messages::terminal_response(
                    &self.t.id,
                    serial,
                    frame.header.serial,
                    id,
                    GeneralResponse::UNSUPPORTED,
                );
                send(conn, self.shared, &reply, now).await
            }
            _ => {
                stats.error("unexpected_message");
                Ok(())
            }
        }
    }

    async fn on_auth_reply(&mut self, g: GeneralResponse, fresh: bool, now: Instant) -> Step {
        let shared = self.shared;
        let stats = &shared.stats;
        let version = self.t.id.version;
        let Link::Up(conn) = &mut self.link else {
            return Ok(());
        };
        if g.result == GeneralResponse::SUCCESS {
            conn.phase = Phase::Online;
            conn.established = true;
            conn.online = true;
            conn.last_sent = now;
            self.backoff = FIRST_BACKOFF;
            stats.online.fetch_add(1, Relaxed);
            stats.authentications.fetch_add(1, Relaxed);
            if !self.t.authenticated {
                self.t.authenticated = true;
                self.t.next_fix = now;
                stats.version(version).authenticated.fetch_add(1, Relaxed);
            }
            return Ok(());
        }
        stats.refused(version, "authentication_failed");
        stats.error("auth_refused");
        if fresh {
            stats.failed(
                &self.t.id.terminal_id,
                version,
                format!(
                    "authentication refused right after registering: {} (0x8001 result {})",
                    g.result_name(),
                    g.result
                ),
            );
            return Err(Failure::Done);
        }
        // The platform no longer knows the stored code: register again.
        self.t.auth_code = None;
        self.register(now).await
    }

    /// An 0x8001 for a report, batch or heartbeat.
    fn on_ack(&mut self, g: GeneralResponse, now: Instant) {
        let shared = self.shared;
        let stats = &shared.stats;
        let vs = stats.version(self.t.id.version);
        let Link::Up(conn) = &mut self.link else {
            return;
        };
        let Some(sent) = conn.outstanding.remove(&g.ack_serial) else {
            stats.late_acks.fetch_add(1, Relaxed);
            return;
        };
        if sent.msg_id != g.ack_msg_id {
            stats.error("ack_mismatch");
            conn.outstanding.insert(g.ack_serial, sent);
            return;
        }
        stats.latency(now.saturating_duration_since(sent.at));
        if g.result != GeneralResponse::SUCCESS {
            stats.ack_failure(sent.what, g.result_name());
            return;
        }
        match sent.what {
            Acked::Location => vs.reports_acked.fetch_add(1, Relaxed),
            Acked::Batch => vs.batches_acked.fetch_add(1, Relaxed),
            Acked::Heartbeat => stats.heartbeats_acked.fetch_add(1, Relaxed),
            Acked::Logout => stats.logouts_acked.fetch_add(1, Relaxed),
        };
    }

    /// The connection is gone: what was written but not acknowledged, and what was queued,
    /// becomes blind-area data; reconnect after the back-off.
    fn lose_link(&mut self, now: Instant, why: &'static str) {
        let shared = self.shared;
        let stats = &shared.stats;
        let Link::Up(conn) = std::mem::replace(&mut self.link, Link::Down { retry_at: now }) else {
            return;
        };
        let conn = *conn;
        stats.drops.fetch_add(1, Relaxed);
        stats.error(why);
        if conn.online {
            stats.online.fetch_sub(1, Relaxed);
        }
        let t = &mut self.t;
        t.flush_collecting();
        let mut pending: Vec<Sent> = conn.outstanding.into_values().collect();
        pending.sort_by_key(|s| s.at);
        let mut all: Vec<Location> = pending.into_iter().flat_map(|s| s.items).collect();
        all.extend(t.blind.drain(..));
        all.extend(t.batches.drain(..).flatten());
        all.extend(t.live.drain(..));
        // Stable: fixes of one second keep the order they were taken in.
        all.sort_by_key(|r| r.time.0);
        for report in all {
            t.keep_blind(report, self.shared);
        }
        self.retry_later(now, conn.established);
    }

    fn retry_later(&mut self, now: Instant, established: bool) {
        if established {
            self.backoff = FIRST_BACKOFF;
        }
        let wait = self.backoff.mul_f64(self.t.rng.range(0.75, 1.25));
        self.link = Link::Down {
            retry_at: now + wait,
        };
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
    }

    fn next_wake(&self, now: Instant) -> Instant {
        let t = &self.t;
        let config = self.config();
        let mut wake = now + Duration::from_secs(3600);
        let mut at = |x: Instant| wake = wake.min(x);
        let winding = self.stop_deadline.is_some() || t.reports_done(config);
        if !winding && t.authenticated {
            at(t.next_fix);
        }
        if let Some(end) = t.loss_until {
            at(end);
        }
        if let Some(start) = t.next_loss {
            at(start);
        }
        if let Some(d) = self.stop_deadline {
            at(d);
        }
        match &self.link {
            Link::Down { retry_at } => {
                if !t.in_loss() {
                    at(*retry_at);
                }
            }
            Link::Up(conn) => {
                match conn.phase {
                    Phase::Registering { deadline, .. }
                    | Phase::Authenticating { deadline, .. }
                    | Phase::LoggingOut { deadline, .. } => at(deadline),
                    Phase::Online if !t.in_loss() => {
                        at(conn.last_sent + config.heartbeat);
                        if !t.blind.is_empty() {
                            at(now + BLIND_PACE);
                        }
                    }
                    Phase::Online => {}
                }
                if let Some(first) = conn.outstanding.values().map(|s| s.at).min() {
                    at(first + config.reply_timeout);
                }
            }
        }
        wake
    }

    /// Closes the connection and counts what never went out.
    async fn finish(&mut self) {
        let shared = self.shared;
        let stats = &shared.stats;
        if let Link::Up(conn) = &mut self.link {
            if conn.online {
                stats.online.fetch_sub(1, Relaxed);
                conn.online = false;
            }
            if !conn.outstanding.is_empty() {
                let n = conn.outstanding.len() as u64;
                stats.ack_timeouts.fetch_add(n, Relaxed);
                for _ in 0..n {
                    stats.error("ack_timeout");
                }
                conn.outstanding.clear();
            }
            let _ = tokio::time::timeout(Duration::from_secs(1), conn.stream.shutdown()).await;
        }
        self.link = Link::Down {
            retry_at: Instant::now(),
        };
        let unsent = self.t.buffered() as u64;
        if unsent > 0 {
            stats.unsent.fetch_add(unsent, Relaxed);
        }
    }
}

/// Remembers a message that waits for its 0x8001.
fn track(conn: &mut Conn, frame: &Frame, what: Acked, items: Vec<Location>, now: Instant) {
    conn.outstanding.insert(
        frame.header.serial,
        Sent {
            msg_id: frame.header.msg_id,
            at: now,
            what,
            items,
        },
    );
}

/// Encodes and writes one frame, within the reply timeout.
async fn send(conn: &mut Conn, shared: &Shared, frame: &Frame, now: Instant) -> Step {
    let stats = &shared.stats;
    let bytes = frame.encode().map_err(|e| {
        stats.error("encode");
        stats.failed(
            &frame.terminal_id(),
            frame.header.version,
            format!("encoding 0x{:04X}: {e}", frame.header.msg_id),
        );
        Failure::Done
    })?;
    match tokio::time::timeout(shared.config.reply_timeout, conn.stream.write_all(&bytes)).await {
        Ok(Ok(())) => {}
        Ok(Err(_)) => return Err(Failure::Io("write_failed")),
        Err(_) => return Err(Failure::Io("write_timeout")),
    }
    conn.last_sent = now;
    stats.frames_sent.fetch_add(1, Relaxed);
    stats.bytes_sent.fetch_add(bytes.len() as u64, Relaxed);
    Ok(())
}
