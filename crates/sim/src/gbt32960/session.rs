//! One connection's life: connect, log in (platform and/or vehicles), report on schedule,
//! heartbeat, read replies, and on stop log out and close; reconnect with backoff on failure.
//!
//! A connection is driven by one task without splitting the socket: the loop waits for
//! readability, writability (only while bytes are queued) and the next timer, and writes with
//! `try_write`. Reading therefore never stops while a large batch is being written, so a server
//! that answers as it reads cannot deadlock against us, and when the server reads slowly the
//! queue stops growing at `HIGH_WATER` bytes instead of buffering without bound.
//!
//! A vehicle with the offline fault falls silent at its onset: no more reports, logins or
//! logout, and in terminal mode no heartbeats either, while the connection stays open (a
//! silent terminal, not one that logged out or hung up). Its report ticks keep counting
//! unsent, so that with a report limit its connection ends when its reports would have.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use model::Timestamp;
use proto_gbt32960::{Command, Edition, FixedStr, Frame, Framer, Response, Time, decode};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;

use super::frames::{self, LoginSeq, RealtimeEncoder};
use super::stats::Tally;
use super::{Config, Mode, Shared};
use crate::SimError;
use crate::fault::Fault;
use crate::rng::Rng;
use crate::vehicle::Vehicle;

/// Queued bytes beyond which no new frames are built until the socket drains.
const HIGH_WATER: usize = 64 * 1024;
/// Heartbeats awaiting a reply that are remembered for the round-trip time.
const MAX_OUTSTANDING_HEARTBEATS: usize = 16;
/// Reads per wake-up before the loop turns to its timers again.
const MAX_READS_PER_WAKE: usize = 16;
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Where a vehicle stands with the server on the current connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Login {
    Idle,
    Pending {
        since: Instant,
        seq: u16,
    },
    Online {
        seq: u16,
    },
    /// Refused; try again at `until`.
    Refused {
        until: Instant,
    },
    /// The terminal has gone silent (offline fault): it says nothing more, ever.
    Silent,
}

/// One vehicle and its protocol state.
#[derive(Debug)]
pub(crate) struct Slot {
    vehicle: Vehicle,
    vin: FixedStr<17>,
    seq: LoginSeq,
    login: Login,
    /// Realtime reports sent, and report ticks passed in silence.
    reports: u64,
    last_step: Instant,
    /// When the terminal falls silent (offline fault).
    silent_from: Option<Instant>,
}

impl Slot {
    /// A vehicle built at `start`: it is stepped by the time since then, and an offline
    /// fault's onset counts from then.
    pub(crate) fn new(vehicle: Vehicle, start: Instant) -> Self {
        let silent_from = match vehicle.fault() {
            Some((Fault::Offline, onset_s)) => Some(start + Duration::from_secs_f64(onset_s)),
            _ => None,
        };
        Self {
            vin: FixedStr::new(vehicle.vin()),
            vehicle,
            seq: LoginSeq::default(),
            login: Login::Idle,
            reports: 0,
            last_step: start,
            silent_from,
        }
    }

    fn done(&self, max: Option<u64>) -> bool {
        max.is_some_and(|m| self.reports >= m)
    }
}

/// The platform identity of a platform-mode connection.
#[derive(Debug)]
struct Platform {
    code: FixedStr<17>,
    username: String,
    password: String,
    seq: LoginSeq,
}

/// The vehicles behind one connection, and what outlives a reconnect.
#[derive(Debug)]
pub(crate) struct Group {
    slots: Vec<Slot>,
    by_vin: HashMap<[u8; 17], usize>,
    encoder: RealtimeEncoder,
    platform: Option<Platform>,
    rng: Rng,
    /// Slots that fall silent: (when, slot), earliest first; `silenced` of them have.
    silences: Vec<(Instant, usize)>,
    silenced: usize,
}

impl Group {
    pub(crate) fn new(index: usize, slots: Vec<Slot>, config: &Config) -> Self {
        let by_vin = slots
            .iter()
            .enumerate()
            .map(|(i, s)| (s.vin.0, i))
            .collect();
        let platform = match &config.mode {
            Mode::Terminal => None,
            Mode::Platform {
                username, password, ..
            } => Some(Platform {
                code: FixedStr::new(&format!("SIMPLATFORM{:06}", index + 1)),
                username: username.clone(),
                password: password.clone(),
                seq: LoginSeq::default(),
            }),
        };
        let mut silences: Vec<(Instant, usize)> = slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((s.silent_from?, i)))
            .collect();
        silences.sort_unstable();
        Self {
            slots,
            by_vin,
            encoder: RealtimeEncoder::new(config.edition),
            platform,
            rng: Rng::derive(config.seed ^ 0xC0FF_EE00, index as u64),
            silences,
            silenced: 0,
        }
    }

    fn finished(&self, max: Option<u64>) -> bool {
        self.slots.iter().all(|s| s.done(max))
    }

    /// Whether every vehicle of the group has fallen silent by `now`: a connection would have
    /// nothing to say.
    fn silent(&self, now: Instant) -> bool {
        self.slots
            .iter()
            .all(|s| s.silent_from.is_some_and(|t| t <= now))
    }
}

/// Why a session ended without finishing.
#[derive(Debug)]
enum Ended {
    /// The connection failed or timed out: reconnect.
    Io(io::Error),
    /// Retrying cannot help: end the run.
    Fatal(SimError),
}

impl From<io::Error> for Ended {
    fn from(e: io::Error) -> Self {
        Self::Io(e)
    }
}

impl From<proto_gbt32960::EncodeError> for Ended {
    fn from(e: proto_gbt32960::EncodeError) -> Self {
        Self::Fatal(e.into())
    }
}

/// Waits `d`; true if the run was told to stop meanwhile.
async fn wait(stop: &mut watch::Receiver<bool>, d: Duration) -> bool {
    tokio::select! {
        () = tokio::time::sleep(d) => false,
        _ = stop.wait_for(|&s| s) => true,
    }
}

/// Drives one connection (and its reconnects) until the run stops or its vehicles are done.
pub(crate) async fn connection(
    shared: Arc<Shared>,
    mut group: Group,
    mut stop: watch::Receiver<bool>,
) -> Result<(), SimError> {
    let config = &shared.config;
    let stats = &shared.stats;
    // A jittered start, so that connections do not all fire together.
    let spread = config.interval.min(Duration::from_secs(5));
    if wait(&mut stop, spread.mul_f64(group.rng.unit())).await {
        return Ok(());
    }
    let mut backoff = FIRST_BACKOFF;
    loop {
        if group.finished(config.reports_per_vehicle) || group.silent(Instant::now()) {
            return Ok(());
        }
        let connected = tokio::select! {
            r = connect(&shared) => r,
            _ = stop.wait_for(|&s| s) => return Ok(()),
        };
        let mut established = false;
        let outcome = match connected {
            Ok(stream) => {
                stats.connects.fetch_add(1, Relaxed);
                let session = Session::new(&shared, &mut group, stream, &mut stop);
                let outcome = session.run(&mut established).await;
                if outcome.is_err() {
                    stats.disconnects.fetch_add(1, Relaxed);
                }
                outcome
            }
            Err(e) => {
                stats.connect_failures.fetch_add(1, Relaxed);
                Err(Ended::Io(e))
            }
        };
        for s in &mut group.slots {
            match s.login {
                Login::Silent => continue,
                Login::Online { .. } => {
                    stats.online.fetch_sub(1, Relaxed);
                }
                _ => {}
            }
            s.login = Login::Idle;
        }
        match outcome {
            Ok(()) => return Ok(()),
            Err(Ended::Fatal(e)) => return Err(e),
            Err(Ended::Io(_)) => {
                if *stop.borrow() {
                    return Ok(());
                }
                if established {
                    backoff = FIRST_BACKOFF;
                }
                if wait(&mut stop, backoff.mul_f64(group.rng.range(0.75, 1.25))).await {
                    return Ok(());
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

async fn connect(shared: &Shared) -> io::Result<TcpStream> {
    let _permit = shared
        .connect_gate
        .acquire()
        .await
        .map_err(|_| io::Error::other("closed"))?;
    let config = &shared.config;
    match tokio::time::timeout(config.login_timeout, TcpStream::connect(&config.server)).await {
        Ok(r) => r,
        Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out")),
    }
}

/// The device time of a frame: now, in Beijing time.
fn wire_now() -> Time {
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    Time::from_timestamp(Timestamp::from_micros(micros))
}

/// What ended a wait of the connection loop.
enum Wake {
    Stop,
    Readable(io::Result<()>),
    Writable(io::Result<()>),
    Timer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Platform login sent, reply awaited.
    PlatformLogin {
        deadline: Instant,
    },
    Running,
    /// Logging out: every online vehicle, then the platform; then the replies are awaited.
    Stopping {
        deadline: Instant,
        platform_logout_due: bool,
    },
}

struct Session<'a> {
    shared: &'a Shared,
    g: &'a mut Group,
    stop: &'a mut watch::Receiver<bool>,
    stream: TcpStream,
    framer: Framer,
    rbuf: Vec<u8>,
    /// Encoded frames; `out[written..]` still has to go to the socket.
    out: Vec<u8>,
    written: usize,
    /// What `out` holds, added to the shared counters once it is all written.
    tally: Tally,
    phase: Phase,
    established: bool,
    platform_seq: u16,
    /// Report schedule: (due, slot), earliest first.
    schedule: BinaryHeap<Reverse<(Instant, usize)>>,
    next_login_check: Option<Instant>,
    next_heartbeat: Option<Instant>,
    heartbeats: VecDeque<Instant>,
    stop_cursor: usize,
    logouts_sent: u64,
    logout_replies: u64,
    /// Vehicles that have sent all their reports (with `reports_per_vehicle`).
    finished: usize,
    edition: Edition,
}

impl<'a> Session<'a> {
    fn new(
        shared: &'a Shared,
        g: &'a mut Group,
        stream: TcpStream,
        stop: &'a mut watch::Receiver<bool>,
    ) -> Self {
        // Terminals get replies one at a time; a platform connection may get thousands at once.
        let rbuf = vec![
            0;
            if g.slots.len() > 1 {
                16 * 1024
            } else {
                2 * 1024
            }
        ];
        let config = &shared.config;
        let max = config.reports_per_vehicle;
        let finished = g.slots.iter().filter(|s| s.done(max)).count();
        // Silent vehicles' ticks go on counting on the new connection.
        let now = Instant::now();
        let mut schedule = BinaryHeap::new();
        for (i, slot) in g.slots.iter().enumerate() {
            if slot.login == Login::Silent && !slot.done(max) {
                let first = now + config.interval.mul_f64(g.rng.unit());
                schedule.push(Reverse((first, i)));
            }
        }
        Self {
            finished,
            shared,
            edition: shared.config.edition,
            g,
            stop,
            stream,
            framer: Framer::new(),
            rbuf,
            out: Vec::with_capacity(1024),
            written: 0,
            tally: Tally::default(),
            phase: Phase::Running,
            established: false,
            platform_seq: 0,
            schedule,
            next_login_check: None,
            next_heartbeat: None,
            heartbeats: VecDeque::new(),
            stop_cursor: 0,
            logouts_sent: 0,
            logout_replies: 0,
        }
    }

    fn config(&self) -> &'a Config {
        &self.shared.config
    }

    async fn run(mut self, established: &mut bool) -> Result<(), Ended> {
        let result = self.drive().await;
        *established = self.established;
        // Frames still queued when the connection failed, or when the stop deadline passed
        // before the socket drained.
        if self.tally.frames > 0 {
            self.shared
                .stats
                .frames_unsent
                .fetch_add(self.tally.frames, Relaxed);
        }
        result
    }

    async fn drive(&mut self) -> Result<(), Ended> {
        self.stream.set_nodelay(true)?;
        let now = Instant::now();
        if self.g.platform.is_some() {
            self.send_platform_login(now)?;
        } else {
            self.next_login_check = Some(now);
        }
        let sleep = tokio::time::sleep_until(now);
        tokio::pin!(sleep);
        loop {
            let now = Instant::now();
            if self.work(now)? {
                // Logged out (or out of time): close our side and go.
                let _ = self.stream.shutdown().await;
                return Ok(());
            }
            self.flush()?;
            sleep.as_mut().reset(self.next_wake(now));
            let queued = self.written < self.out.len();
            let stopping = matches!(self.phase, Phase::Stopping { .. });
            let woke = tokio::select! {
                biased;
                _ = self.stop.wait_for(|&s| s), if !stopping => Wake::Stop,
                r = self.stream.readable() => Wake::Readable(r),
                r = self.stream.writable(), if queued => Wake::Writable(r),
                () = &mut sleep => Wake::Timer,
            };
            match woke {
                Wake::Stop => self.begin_stop(Instant::now()),
                Wake::Readable(r) => {
                    r?;
                    match self.read() {
                        Err(Ended::Io(e))
                            if stopping && e.kind() == io::ErrorKind::UnexpectedEof =>
                        {
                            // The server closed after our logouts; nothing is lost.
                            self.flush_tally_if_drained();
                            return Ok(());
                        }
                        r => r?,
                    }
                }
                Wake::Writable(r) => r?,
                Wake::Timer => {}
            }
        }
    }

    fn backlogged(&self) -> bool {
        self.out.len() - self.written >= HIGH_WATER
    }

    /// Builds whatever is due; true once the session is over.
    fn work(&mut self, now: Instant) -> Result<bool, Ended> {
        match self.phase {
            Phase::PlatformLogin { deadline } => {
                self.silence_due(now);
                if now >= deadline {
                    return Err(Ended::Io(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "no reply to the platform login",
                    )));
                }
            }
            Phase::Running => {
                self.silence_due(now);
                // Heartbeats first: under full load the reports alone keep the queue at its
                // high-water mark, and the heartbeat would never get in.
                self.send_heartbeat(now)?;
                if self.next_login_check.is_some_and(|t| t <= now) {
                    self.send_logins(now)?;
                }
                self.send_reports(now)?;
                if self.finished == self.g.slots.len() {
                    self.begin_stop(now);
                }
            }
            Phase::Stopping { .. } => {}
        }
        if let Phase::Stopping { deadline, .. } = self.phase {
            let all_sent = self.send_logouts()?;
            let drained = self.written == self.out.len();
            if (all_sent && drained && self.logout_replies >= self.logouts_sent) || now >= deadline
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn next_wake(&self, now: Instant) -> Instant {
        let mut t = now + Duration::from_secs(3600);
        if !self.backlogged() {
            if let Some(Reverse((due, _))) = self.schedule.peek() {
                t = t.min(*due);
            }
            let silence = self.g.silences.get(self.g.silenced).map(|&(t, _)| t);
            for x in [self.next_login_check, self.next_heartbeat, silence]
                .into_iter()
                .flatten()
            {
                t = t.min(x);
            }
        }
        match self.phase {
            Phase::PlatformLogin { deadline } | Phase::Stopping { deadline, .. } => t.min(deadline),
            Phase::Running => t,
        }
    }

    /// Silences the vehicles whose offline fault has set in by `now`.
    fn silence_due(&mut self, now: Instant) {
        while let Some(&(at, i)) = self.g.silences.get(self.g.silenced) {
            if at > now {
                break;
            }
            self.g.silenced += 1;
            let config = self.config();
            let max = config.reports_per_vehicle;
            let slot = &mut self.g.slots[i];
            match slot.login {
                Login::Online { .. } => {
                    self.shared.stats.online.fetch_sub(1, Relaxed);
                }
                Login::Silent => continue,
                // Not logged in, so not scheduled: its ticks start counting now.
                _ if !slot.done(max) => {
                    let first = now + config.interval;
                    self.schedule.push(Reverse((first, i)));
                }
                _ => {}
            }
            slot.login = Login::Silent;
            if self.g.platform.is_none() {
                // The terminal's heartbeat was its own; the platform's goes on.
                self.next_heartbeat = None;
            }
        }
    }

    /// Writes as much of the queue as the socket takes without waiting.
    fn flush(&mut self) -> Result<(), Ended> {
        while self.written < self.out.len() {
            match self.stream.try_write(&self.out[self.written..]) {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero).into()),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e.into()),
            }
        }
        if !self.flush_tally_if_drained() && self.written >= HIGH_WATER {
            // Keep the buffer from creeping: drop what has been written.
            self.out.drain(..self.written);
            self.written = 0;
        }
        Ok(())
    }

    /// Once everything queued is written, counts it as sent. True if drained.
    fn flush_tally_if_drained(&mut self) -> bool {
        if self.written < self.out.len() {
            return false;
        }
        self.out.clear();
        self.written = 0;
        if self.tally.frames > 0 {
            self.shared.stats.add(&self.tally);
            self.tally = Tally::default();
        }
        true
    }

    fn queue(&mut self, frame: &Frame) -> Result<(), Ended> {
        let before = self.out.len();
        frame.encode_into(&mut self.out)?;
        self.tally.frames += 1;
        self.tally.bytes += (self.out.len() - before) as u64;
        Ok(())
    }

    fn send_platform_login(&mut self, now: Instant) -> Result<(), Ended> {
        let time = wire_now();
        let edition = self.edition;
        let p = self.g.platform.as_mut().expect("platform mode");
        self.platform_seq = p.seq.next(time);
        let frame = frames::platform_login(
            edition,
            &p.code,
            &p.username,
            &p.password,
            self.platform_seq,
            time,
        );
        self.queue(&frame)?;
        self.tally.platform_logins += 1;
        self.phase = Phase::PlatformLogin {
            deadline: now + self.config().login_timeout,
        };
        Ok(())
    }

    /// Sends logins for vehicles that are not logged in (first time, after a timeout, or once
    /// a refusal's wait is over) and notes when to look again.
    fn send_logins(&mut self, now: Instant) -> Result<(), Ended> {
        let config = self.config();
        let timeout = config.login_timeout;
        let mut next: Option<Instant> = None;
        let mut time = None;
        for i in 0..self.g.slots.len() {
            if self.backlogged() {
                next = Some(now);
                break;
            }
            let slot = &self.g.slots[i];
            if slot.done(config.reports_per_vehicle) {
                continue;
            }
            let due = match slot.login {
                Login::Idle => true,
                Login::Pending { since, .. } if since + timeout <= now => {
                    self.shared.stats.login_timeouts.fetch_add(1, Relaxed);
                    true
                }
                Login::Pending { since, .. } => {
                    next = Some(next.map_or(since + timeout, |n| n.min(since + timeout)));
                    false
                }
                Login::Refused { until } if until <= now => true,
                Login::Refused { until } => {
                    next = Some(next.map_or(until, |n| n.min(until)));
                    false
                }
                Login::Online { .. } | Login::Silent => false,
            };
            if due {
                let time = *time.get_or_insert_with(wire_now);
                let slot = &mut self.g.slots[i];
                let seq = slot.seq.next(time);
                slot.login = Login::Pending { since: now, seq };
                let frame = frames::vehicle_login(self.edition, &slot.vin, seq, time);
                self.queue(&frame)?;
                self.tally.vehicle_logins += 1;
                next = Some(next.map_or(now + timeout, |n| n.min(now + timeout)));
            }
        }
        self.next_login_check = next;
        Ok(())
    }

    /// Sends every report that is due, stepping each vehicle to now first.
    fn send_reports(&mut self, now: Instant) -> Result<(), Ended> {
        let config = self.config();
        let interval = config.interval;
        let max = config.reports_per_vehicle;
        let mut time = None;
        while let Some(&Reverse((due, i))) = self.schedule.peek() {
            if due > now || self.backlogged() {
                break;
            }
            self.schedule.pop();
            let slot = &mut self.g.slots[i];
            if slot.done(max) {
                continue;
            }
            match slot.login {
                Login::Online { .. } => {
                    let dt = now.saturating_duration_since(slot.last_step);
                    slot.last_step = now;
                    slot.vehicle.step(dt.as_secs_f64());
                    let time = *time.get_or_insert_with(wire_now);
                    let before = self.out.len();
                    self.g.encoder.encode(&slot.vehicle, time, &mut self.out)?;
                    self.tally.frames += 1;
                    self.tally.realtime += 1;
                    self.tally.bytes += (self.out.len() - before) as u64;
                }
                // The tick passes without a word.
                Login::Silent => {}
                _ => continue,
            }
            slot.reports += 1;
            if slot.done(max) {
                self.finished += 1;
            } else {
                // A load test that cannot keep up skips ticks rather than bursting to catch up.
                let late = now.saturating_duration_since(due);
                let missed =
                    u32::try_from(late.as_nanos() / interval.as_nanos()).unwrap_or(u32::MAX - 1);
                if missed > 0 {
                    self.shared
                        .stats
                        .ticks_skipped
                        .fetch_add(u64::from(missed), Relaxed);
                }
                self.schedule
                    .push(Reverse((due + interval * (missed + 1), i)));
            }
        }
        Ok(())
    }

    fn send_heartbeat(&mut self, now: Instant) -> Result<(), Ended> {
        if self.backlogged() || self.next_heartbeat.is_none_or(|t| t > now) {
            return Ok(());
        }
        let id = match &self.g.platform {
            Some(p) => p.code,
            None => self.g.slots[0].vin,
        };
        self.queue(&frames::heartbeat(self.edition, &id))?;
        self.tally.heartbeats += 1;
        if self.heartbeats.len() == MAX_OUTSTANDING_HEARTBEATS {
            self.heartbeats.pop_front();
        }
        self.heartbeats.push_back(now);
        self.next_heartbeat = Some(now + self.config().heartbeat_period());
        Ok(())
    }

    fn begin_stop(&mut self, now: Instant) {
        self.phase = match self.phase {
            // Not logged in yet: nothing to log out of.
            Phase::PlatformLogin { .. } => Phase::Stopping {
                deadline: now,
                platform_logout_due: false,
            },
            Phase::Running => Phase::Stopping {
                deadline: now + self.config().stop_timeout,
                platform_logout_due: self.g.platform.is_some(),
            },
            stopping @ Phase::Stopping { .. } => stopping,
        };
        self.schedule.clear();
        self.next_login_check = None;
        self.next_heartbeat = None;
    }

    /// Queues the logouts (vehicles first, then the platform); true once all are queued.
    fn send_logouts(&mut self) -> Result<bool, Ended> {
        let Phase::Stopping {
            deadline,
            platform_logout_due,
        } = self.phase
        else {
            return Ok(false);
        };
        let mut time = None;
        while self.stop_cursor < self.g.slots.len() {
            if self.backlogged() {
                return Ok(false);
            }
            let slot = &mut self.g.slots[self.stop_cursor];
            self.stop_cursor += 1;
            if let Login::Online { seq } = slot.login {
                slot.login = Login::Idle;
                self.shared.stats.online.fetch_sub(1, Relaxed);
                let time = *time.get_or_insert_with(wire_now);
                let frame =
                    frames::logout(self.edition, Command::VEHICLE_LOGOUT, &slot.vin, seq, time);
                self.queue(&frame)?;
                self.tally.vehicle_logouts += 1;
                self.logouts_sent += 1;
            }
        }
        if platform_logout_due {
            if self.backlogged() {
                return Ok(false);
            }
            let time = *time.get_or_insert_with(wire_now);
            let code = self.g.platform.as_ref().expect("platform mode").code;
            let frame = frames::logout(
                self.edition,
                Command::PLATFORM_LOGOUT,
                &code,
                self.platform_seq,
                time,
            );
            self.queue(&frame)?;
            self.tally.platform_logouts += 1;
            self.logouts_sent += 1;
            self.phase = Phase::Stopping {
                deadline,
                platform_logout_due: false,
            };
        }
        Ok(true)
    }

    /// Reads what the server sent and handles every complete frame.
    fn read(&mut self) -> Result<(), Ended> {
        for _ in 0..MAX_READS_PER_WAKE {
            match self.stream.try_read(&mut self.rbuf) {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into()),
                Ok(n) => {
                    self.framer.push(&self.rbuf[..n]);
                    while let Some(frame) = self.framer.next_frame() {
                        match frame {
                            Ok(bytes) => self.on_frame(&bytes)?,
                            Err(_) => {
                                self.shared.stats.bad_frames.fetch_add(1, Relaxed);
                            }
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    fn on_frame(&mut self, bytes: &[u8]) -> Result<(), Ended> {
        let stats = &self.shared.stats;
        let Ok(frame) = decode(bytes) else {
            stats.bad_frames.fetch_add(1, Relaxed);
            return Ok(());
        };
        let h = frame.header;
        if h.response.is_command() {
            // Parameter queries, controls and the like: a simulated terminal does not act on
            // them, but they are counted.
            stats.commands_received.fetch_add(1, Relaxed);
            return Ok(());
        }
        stats.reply(h.command.0, h.response.0);
        let ok = h.response == Response::SUCCESS;
        let now = Instant::now();
        let config = self.config();
        match h.command {
            Command::PLATFORM_LOGIN => {
                if let Phase::PlatformLogin { .. } = self.phase {
                    if !ok {
                        return Err(Ended::Fatal(SimError::PlatformLoginRefused {
                            code: h.response.0,
                            label: h.response.label(),
                        }));
                    }
                    self.phase = Phase::Running;
                    self.established = true;
                    self.next_login_check = Some(now);
                    self.next_heartbeat = Some(now + config.heartbeat_period());
                }
            }
            Command::VEHICLE_LOGIN => {
                let Some(&i) = self.g.by_vin.get(&h.vin.0) else {
                    return Ok(());
                };
                let slot = &mut self.g.slots[i];
                let Login::Pending { seq, .. } = slot.login else {
                    return Ok(());
                };
                if ok {
                    slot.login = Login::Online { seq };
                    stats.online.fetch_add(1, Relaxed);
                    self.established = true;
                    if self.phase == Phase::Running {
                        // The first report at a random point of the interval, so that a
                        // fleet's reports spread evenly.
                        let first = now + config.interval.mul_f64(self.g.rng.unit());
                        self.schedule.push(Reverse((first, i)));
                        if self.next_heartbeat.is_none() {
                            self.next_heartbeat = Some(now + config.heartbeat_period());
                        }
                    }
                } else {
                    let until = now + config.login_timeout;
                    slot.login = Login::Refused { until };
                    self.next_login_check =
                        Some(self.next_login_check.map_or(until, |t| t.min(until)));
                }
            }
            Command::HEARTBEAT => {
                if let Some(sent) = self.heartbeats.pop_front() {
                    stats.rtt(now - sent);
                }
            }
            Command::VEHICLE_LOGOUT | Command::PLATFORM_LOGOUT => self.logout_replies += 1,
            _ => {}
        }
        Ok(())
    }
}
