//! The polling client: the city platform calls each operator's `query_*` interfaces on a
//! schedule and stores every answer.
//!
//! One task per peer with a URL. A round calls `query_stations_info` (every page; every
//! `station_info_every` rounds, and whenever no station is known yet), `query_station_status`
//! for the stations learnt (≤ 50 a call, the standard's batch limit) and, every `stats_every`
//! rounds, `query_station_stats` per station for yesterday and today. Each decrypted answer is
//! submitted as it arrives (submission waits for room in the pipeline: backpressure), without
//! waiting for durability — nothing is owed to the operator for it.
//!
//! HTTP is plain `ureq` on the blocking pool. A failed call (network error, HTTP error status,
//! `Ret` ≠ 0, an answer that does not verify) is retried with exponential back-off; `Ret=4002`
//! fetches a new token first. After `max_attempts` the round moves on.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use model::{BEIJING_OFFSET_SECS, Timestamp};
use pipeline::{IngestRecord, Pipeline, SourceProtocol};
use proto_tcec::charging::interface;
use proto_tcec::codes::SuccStat;
use proto_tcec::model::{
    QueryStationStatsRequest, QueryStationStatusRequest, QueryStationsInfoRequest,
    QueryStationsInfoResponse, QueryTokenRequest, QueryTokenResponse,
};
use proto_tcec::{
    Origin, PeerSecrets, Request, Response, Ret, Stored, decode_json, encode_json, encode_stored,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{Peer, TcecMetrics, system_now};

/// The schedule and limits of the poller.
#[derive(Debug, Clone)]
pub struct PollerOptions {
    /// Time between the starts of two rounds (60 s).
    pub interval: Duration,
    /// Station information is fetched every this many rounds (10), and whenever none is known.
    pub station_info_every: u32,
    /// Statistics are fetched every this many rounds (60; 0 never).
    pub stats_every: u32,
    /// `PageSize` of `query_stations_info` (50).
    pub page_size: u32,
    /// First retry delay (1 s), doubled after every failure up to `max_backoff` (60 s).
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Attempts per call before the round gives up on it (6).
    pub max_attempts: u32,
    /// Timeout of one HTTP exchange (30 s).
    pub request_timeout: Duration,
    /// Largest answer body read (16 MiB).
    pub max_response_bytes: u64,
    /// Most stations remembered per peer (100 000) and pages read per round (10 000).
    pub max_stations: usize,
    pub max_pages: u32,
    pub metrics: TcecMetrics,
}

impl Default for PollerOptions {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(60),
            station_info_every: 10,
            stats_every: 60,
            page_size: 50,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            max_attempts: 6,
            request_timeout: Duration::from_secs(30),
            max_response_bytes: 16 << 20,
            max_stations: 100_000,
            max_pages: 10_000,
            metrics: TcecMetrics::default(),
        }
    }
}

/// The polling client.
#[derive(Debug)]
pub struct Poller;

impl Poller {
    /// Starts one polling task per peer that has a `base_url`, calling as `our_operator_id`;
    /// the returned task ends when every peer's task has seen `shutdown` turn true (or its
    /// sender dropped).
    pub fn spawn(
        peers: Vec<Peer>,
        our_operator_id: String,
        pipeline: Pipeline,
        options: PollerOptions,
        shutdown: watch::Receiver<bool>,
    ) -> JoinHandle<()> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(options.request_timeout))
            .user_agent(concat!("haihe/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let mut tasks = Vec::new();
        for peer in peers {
            let Some(base_url) = peer.base_url.clone() else {
                continue;
            };
            let secrets = match &peer.outbound {
                Some(s) => s.clone(),
                None => match peer.secrets.with_operator_id(&our_operator_id) {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::error!(operator = peer.secrets.operator_id(), error = %e, "T/CEC poller: our operator id is not valid; peer not polled");
                        continue;
                    }
                },
            };
            let client = PeerClient {
                operator_id: peer.secrets.operator_id().to_owned(),
                org: peer.org.clone(),
                base_url: base_url.trim_end_matches('/').to_owned(),
                secrets: Arc::new(secrets),
                agent: agent.clone(),
                token: None,
                seq: 0,
                stations: BTreeSet::new(),
                pipeline: pipeline.clone(),
                options: options.clone(),
                shutdown: shutdown.clone(),
            };
            tasks.push(tokio::spawn(client.run()));
        }
        tokio::spawn(async move {
            for t in tasks {
                if let Err(e) = t.await {
                    tracing::error!(error = %e, "T/CEC poller task failed");
                }
            }
        })
    }
}

/// Why a call did not give an answer.
#[derive(Debug)]
enum CallError {
    /// Worth retrying (network, HTTP status, `Ret` ≠ 0, bad answer).
    Retry(String),
    /// The token is refused: fetch a new one, then retry.
    Token,
    /// Shutting down.
    Shutdown,
}

struct PeerClient {
    operator_id: String,
    org: Option<String>,
    base_url: String,
    /// Our outbound secrets (our operator id).
    secrets: Arc<PeerSecrets>,
    agent: ureq::Agent,
    token: Option<(String, Timestamp)>,
    seq: u16,
    stations: BTreeSet<String>,
    pipeline: Pipeline,
    options: PollerOptions,
    shutdown: watch::Receiver<bool>,
}

/// `yyyy-MM-dd` in Beijing time.
fn beijing_date(at: Timestamp) -> String {
    let c = at.to_civil(BEIJING_OFFSET_SECS);
    format!("{:04}-{:02}-{:02}", c.year, c.month, c.day)
}

/// The fixed label of an interface this poller calls.
fn label(name: &str) -> &'static str {
    [
        interface::QUERY_TOKEN,
        interface::QUERY_STATIONS_INFO,
        interface::QUERY_STATION_STATUS,
        interface::QUERY_STATION_STATS,
    ]
    .into_iter()
    .find(|n| *n == name)
    .unwrap_or("other")
}

impl PeerClient {
    async fn run(mut self) {
        tracing::info!(operator = %self.operator_id, url = %self.base_url, "T/CEC poller started");
        let mut round: u64 = 0;
        loop {
            if *self.shutdown.borrow() {
                break;
            }
            let started = tokio::time::Instant::now();
            match self.round(round).await {
                Ok(()) => {}
                Err(CallError::Shutdown) => break,
                Err(e) => {
                    tracing::warn!(operator = %self.operator_id, error = ?e, "T/CEC poll round cut short");
                }
            }
            round += 1;
            let rest = self.options.interval.saturating_sub(started.elapsed());
            if self.sleep(rest).await {
                break;
            }
        }
        tracing::info!(operator = %self.operator_id, "T/CEC poller stopped");
    }

    /// Sleeps; `true` if shutdown came first (or can never come: the sender is gone).
    async fn sleep(&mut self, d: Duration) -> bool {
        if *self.shutdown.borrow() {
            return true;
        }
        tokio::select! {
            () = tokio::time::sleep(d) => *self.shutdown.borrow(),
            changed = self.shutdown.changed() => changed.is_err() || *self.shutdown.borrow(),
        }
    }

    async fn round(&mut self, round: u64) -> Result<(), CallError> {
        let every = u64::from(self.options.station_info_every.max(1));
        if round.is_multiple_of(every) || self.stations.is_empty() {
            self.stations_info().await?;
        }
        let ids: Vec<String> = self.stations.iter().cloned().collect();
        for chunk in ids.chunks(50) {
            let ask = QueryStationStatusRequest {
                station_ids: chunk.to_vec(),
            };
            let data = self
                .call(interface::QUERY_STATION_STATUS, &encode_json(&ask))
                .await?;
            self.submit(interface::QUERY_STATION_STATUS, data).await?;
        }
        let stats = u64::from(self.options.stats_every);
        if stats > 0 && round.is_multiple_of(stats) {
            let now = system_now();
            let today = beijing_date(now);
            let yesterday = beijing_date(Timestamp::from_secs(now.as_secs() - 86_400));
            for id in ids {
                let ask = QueryStationStatsRequest {
                    station_id: id,
                    start_time: yesterday.clone(),
                    end_time: today.clone(),
                };
                let data = self
                    .call(interface::QUERY_STATION_STATS, &encode_json(&ask))
                    .await?;
                self.submit(interface::QUERY_STATION_STATS, data).await?;
            }
        }
        Ok(())
    }

    /// Every page of `query_stations_info`, each stored as it comes.
    async fn stations_info(&mut self) -> Result<(), CallError> {
        let mut page = 1;
        loop {
            let ask = QueryStationsInfoRequest {
                last_query_time: None,
                page_no: Some(page),
                page_size: Some(self.options.page_size),
            };
            let data = self
                .call(interface::QUERY_STATIONS_INFO, &encode_json(&ask))
                .await?;
            let answer = decode_json::<QueryStationsInfoResponse>(&data);
            self.submit(interface::QUERY_STATIONS_INFO, data).await?;
            let answer = match answer {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(operator = %self.operator_id, page, error = %e, "T/CEC query_stations_info answer unreadable; paging stops");
                    return Ok(());
                }
            };
            for s in answer.station_infos {
                if self.stations.len() < self.options.max_stations {
                    self.stations.insert(s.station_id);
                }
            }
            if page >= answer.page_count || page >= self.options.max_pages {
                return Ok(());
            }
            page += 1;
        }
    }

    async fn submit(&self, name: &str, data: Vec<u8>) -> Result<(), CallError> {
        let stored = Stored {
            operator_id: self.operator_id.clone(),
            interface: name.to_owned(),
            origin: Origin::Poll,
            data,
        };
        let record = IngestRecord {
            protocol: SourceProtocol::Tcec,
            received_at: system_now(),
            org: self.org.clone(),
            payload: encode_stored(&stored),
        };
        self.pipeline
            .submit(record)
            .await
            .map(|_| ())
            .map_err(|e| CallError::Retry(format!("pipeline: {e}")))
    }

    /// One call with retries; the decrypted `Data` of the answer.
    async fn call(&mut self, name: &'static str, plaintext: &[u8]) -> Result<Vec<u8>, CallError> {
        let mut backoff = self.options.initial_backoff;
        let mut last = String::new();
        for attempt in 1..=self.options.max_attempts.max(1) {
            let result = match self.token().await {
                Ok(token) => self.exchange(name, plaintext, Some(&token)).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(data) => {
                    self.options.metrics.poll(label(name), "ok");
                    return Ok(data);
                }
                Err(CallError::Shutdown) => return Err(CallError::Shutdown),
                Err(CallError::Token) => {
                    self.options.metrics.poll(label(name), "token_refused");
                    tracing::info!(operator = %self.operator_id, interface = name, "T/CEC token refused; fetching a new one");
                    self.token = None;
                    last = "token refused".to_owned();
                    // The first refusal is retried at once with a new token.
                    if attempt == 1 {
                        continue;
                    }
                }
                Err(CallError::Retry(why)) => {
                    self.options.metrics.poll(label(name), "retried");
                    tracing::warn!(operator = %self.operator_id, interface = name, attempt, retry_in = ?backoff, error = %why, "T/CEC call failed");
                    last = why;
                }
            }
            if self.sleep(backoff).await {
                return Err(CallError::Shutdown);
            }
            backoff = (backoff * 2).min(self.options.max_backoff);
        }
        self.options.metrics.poll(label(name), "failed");
        Err(CallError::Retry(format!(
            "{name}: gave up after {} attempts: {last}",
            self.options.max_attempts
        )))
    }

    /// A valid token, fetching one when there is none or it is about to expire.
    async fn token(&mut self) -> Result<String, CallError> {
        let now = system_now();
        if let Some((token, until)) = &self.token
            && *until > now
        {
            return Ok(token.clone());
        }
        let ask = QueryTokenRequest {
            operator_id: self.secrets.operator_id().to_owned(),
            operator_secret: self.secrets.operator_secret().to_owned(),
        };
        let data = match self
            .exchange(interface::QUERY_TOKEN, &encode_json(&ask), None)
            .await
        {
            Ok(d) => d,
            // A 4002 on query_token itself is a refusal like any other.
            Err(CallError::Token) => return Err(CallError::Retry("query_token: Ret 4002".into())),
            Err(e) => return Err(e),
        };
        let answer: QueryTokenResponse =
            decode_json(&data).map_err(|e| CallError::Retry(format!("query_token answer: {e}")))?;
        if answer.succ_stat != SuccStat::Success || answer.access_token.is_empty() {
            self.options.metrics.poll(interface::QUERY_TOKEN, "refused");
            return Err(CallError::Retry(format!(
                "query_token refused: FailReason {:?}",
                answer.fail_reason
            )));
        }
        self.options.metrics.poll(interface::QUERY_TOKEN, "ok");
        // Renew a minute early (or at half-life for short tokens).
        let ttl = i64::from(answer.token_available_time.unwrap_or(7200));
        let margin = 60.min(ttl / 2);
        let until = Timestamp::from_secs(now.as_secs() + ttl - margin);
        self.token = Some((answer.access_token.clone(), until));
        Ok(answer.access_token)
    }

    /// One HTTP exchange: seal, POST, verify, decrypt.
    async fn exchange(
        &mut self,
        name: &str,
        plaintext: &[u8],
        token: Option<&str>,
    ) -> Result<Vec<u8>, CallError> {
        self.seq = self.seq % 9999 + 1;
        let request = Request::seal(&self.secrets, plaintext, system_now(), self.seq)
            .map_err(|e| CallError::Retry(format!("sealing: {e}")))?;
        let url = format!("{}/{name}", self.base_url);
        let agent = self.agent.clone();
        let body = request.to_json();
        let auth = token.map(|t| format!("Bearer {t}"));
        let limit = self.options.max_response_bytes;
        let exchange = tokio::task::spawn_blocking(move || post(&agent, &url, body, auth, limit));
        let (status, bytes) = tokio::select! {
            r = exchange => r.map_err(|e| CallError::Retry(format!("HTTP task: {e}")))?.map_err(CallError::Retry)?,
            _ = self.shutdown.wait_for(|s| *s) => return Err(CallError::Shutdown),
        };
        if !(200..300).contains(&status) {
            return Err(CallError::Retry(format!("HTTP {status}")));
        }
        let response = Response::parse(&bytes).map_err(|e| CallError::Retry(e.to_string()))?;
        // A refusal may come unsigned; only the token case changes what we do next.
        match response.ret {
            Ret::Ok => {}
            Ret::TokenError if token.is_some() => return Err(CallError::Token),
            other => {
                return Err(CallError::Retry(format!(
                    "Ret {}: {}",
                    other.code(),
                    response.msg.chars().take(200).collect::<String>()
                )));
            }
        }
        response
            .open(&self.secrets)
            .map_err(|e| CallError::Retry(format!("answer: {e}")))
    }
}

/// POSTs `body` as JSON; the status and at most `limit` bytes of the answer.
fn post(
    agent: &ureq::Agent,
    url: &str,
    body: String,
    auth: Option<String>,
    limit: u64,
) -> Result<(u16, Vec<u8>), String> {
    let mut request = agent
        .post(url)
        .header("Content-Type", "application/json;charset=utf-8");
    if let Some(auth) = auth {
        request = request.header("Authorization", auth);
    }
    let mut response = request.send(body).map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let bytes = response
        .body_mut()
        .with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|e| e.to_string())?;
    Ok((status, bytes))
}
