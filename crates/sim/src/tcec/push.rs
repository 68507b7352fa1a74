//! Pushing to the supervision platform: `query_token`, then sealed `notification_*` calls, each
//! retried until the platform answers `Ret` 0 with a valid signature (or refuses it for good).
//!
//! ureq is blocking, so each HTTP exchange runs on tokio's blocking pool; pushes go one at a
//! time, in the order the network produced them, as a real operator's pusher does.

use std::time::Duration;

use proto_tcec::model::{QueryTokenRequest, QueryTokenResponse};
use proto_tcec::{PeerSecrets, Request, Response, Ret, decode_json, encode_json};

use super::wall_now;

/// How one push ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// `Ret` 0 with a valid signature; the decrypted answer.
    Delivered(Vec<u8>),
    /// The platform refused the push with a code retrying cannot fix (4001, 4003, 4004, …).
    Refused(i32, String),
    /// Stopped before delivery (shutdown).
    Abandoned,
}

/// Counters of the pusher's troubles, by kind.
#[derive(Debug, Clone, Default)]
pub(crate) struct Troubles {
    pub network: u64,
    pub http_status: u64,
    pub busy: u64,
    pub token_errors: u64,
    pub bad_responses: u64,
    pub token_queries: u64,
}

/// The pushing side of one operator.
#[derive(Debug)]
pub(crate) struct Pusher {
    base: String,
    secrets: PeerSecrets,
    agent: ureq::Agent,
    token: Option<String>,
    seq: u16,
    pub troubles: Troubles,
    max_backoff: Duration,
}

enum Attempt {
    Done(Outcome),
    Retry,
    NewToken,
}

impl Pusher {
    pub(crate) fn new(base: &str, secrets: PeerSecrets, timeout: Duration) -> Self {
        let mut base = base.trim().to_owned();
        if !base.ends_with('/') {
            base.push('/');
        }
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build()
            .into();
        Self {
            base,
            secrets,
            agent,
            token: None,
            seq: 0,
            troubles: Troubles::default(),
            max_backoff: Duration::from_secs(5),
        }
    }

    fn next_seq(&mut self) -> u16 {
        self.seq = self.seq % 9999 + 1;
        self.seq
    }

    /// Posts `body` to `endpoint`; `Err` for a network failure or a body that is not a
    /// response envelope, with the HTTP status when there was one.
    async fn post(
        &self,
        endpoint: &str,
        body: String,
        token: Option<String>,
    ) -> Result<Result<Response, u16>, String> {
        let agent = self.agent.clone();
        let url = format!("{}{endpoint}", self.base);
        let joined = tokio::task::spawn_blocking(move || {
            let mut req = agent
                .post(&url)
                .header("Content-Type", "application/json;charset=utf-8");
            if let Some(t) = &token {
                req = req.header("Authorization", format!("Bearer {t}"));
            }
            let mut resp = req.send(body).map_err(|e| e.to_string())?;
            let status = resp.status().as_u16();
            let bytes = resp
                .body_mut()
                .with_config()
                .limit(4 * 1024 * 1024)
                .read_to_vec()
                .map_err(|e| e.to_string())?;
            Ok::<_, String>((status, bytes))
        })
        .await
        .map_err(|e| e.to_string())?;
        let (status, bytes) = joined?;
        match Response::parse(&bytes) {
            Ok(r) => Ok(Ok(r)),
            Err(_) if !(200..300).contains(&status) => Ok(Err(status)),
            Err(e) => Err(format!("HTTP {status}: {e}")),
        }
    }

    /// Gets a token, retrying until it works or `stop` says so. `false` if stopped.
    async fn ensure_token(&mut self, stop: &tokio::sync::watch::Receiver<bool>) -> bool {
        let mut backoff = Duration::from_millis(100);
        while self.token.is_none() {
            if *stop.borrow() {
                return false;
            }
            self.troubles.token_queries += 1;
            match self.query_token().await {
                Ok(t) => self.token = Some(t),
                Err(_) => {
                    sleep_or_stop(backoff, stop).await;
                    backoff = (backoff * 2).min(self.max_backoff);
                }
            }
        }
        true
    }

    async fn query_token(&mut self) -> Result<String, String> {
        let payload = encode_json(&QueryTokenRequest {
            operator_id: self.secrets.operator_id().to_owned(),
            operator_secret: self.secrets.operator_secret().to_owned(),
        });
        let seq = self.next_seq();
        let req =
            Request::seal(&self.secrets, &payload, wall_now(), seq).map_err(|e| e.to_string())?;
        match self.post("query_token", req.to_json(), None).await {
            Err(e) => {
                self.troubles.network += 1;
                Err(e)
            }
            Ok(Err(status)) => {
                self.troubles.http_status += 1;
                Err(format!("HTTP {status}"))
            }
            Ok(Ok(resp)) => {
                let plain = resp.open(&self.secrets).map_err(|e| {
                    self.troubles.bad_responses += 1;
                    e.to_string()
                })?;
                if resp.ret != Ret::Ok {
                    self.troubles.token_errors += 1;
                    return Err(format!("query_token Ret {}: {}", resp.ret.code(), resp.msg));
                }
                let t: QueryTokenResponse = decode_json(&plain).map_err(|e| {
                    self.troubles.bad_responses += 1;
                    e.to_string()
                })?;
                if t.access_token.is_empty() || t.succ_stat.code() != 0 {
                    self.troubles.token_errors += 1;
                    return Err(format!("token refused: {:?}", t.fail_reason));
                }
                Ok(t.access_token)
            }
        }
    }

    async fn attempt(&mut self, endpoint: &str, payload: &[u8]) -> Attempt {
        let seq = self.next_seq();
        // Sealed anew on every attempt: a fresh TimeStamp and Seq, so that the platform's
        // replay guard does not refuse a retry of a push whose answer was lost.
        let req = match Request::seal(&self.secrets, payload, wall_now(), seq) {
            Ok(r) => r,
            Err(e) => return Attempt::Done(Outcome::Refused(0, e.to_string())),
        };
        match self.post(endpoint, req.to_json(), self.token.clone()).await {
            Err(_) => {
                self.troubles.network += 1;
                Attempt::Retry
            }
            Ok(Err(status)) => {
                self.troubles.http_status += 1;
                if status == 401 {
                    Attempt::NewToken
                } else {
                    Attempt::Retry
                }
            }
            Ok(Ok(resp)) => {
                let opened = resp.open(&self.secrets);
                match (resp.ret, opened) {
                    (Ret::Ok, Ok(plain)) => Attempt::Done(Outcome::Delivered(plain)),
                    (Ret::Ok, Err(_)) => {
                        // Ret 0 without a valid signature is not a delivery we can trust.
                        self.troubles.bad_responses += 1;
                        Attempt::Retry
                    }
                    (Ret::TokenError, _) => {
                        self.troubles.token_errors += 1;
                        Attempt::NewToken
                    }
                    (Ret::Busy | Ret::SystemError, _) => {
                        self.troubles.busy += 1;
                        Attempt::Retry
                    }
                    (ret, _) => Attempt::Done(Outcome::Refused(ret.code(), resp.msg)),
                }
            }
        }
    }

    /// Pushes `payload` to `endpoint` until it is delivered or refused, or `give_up` turns
    /// true.
    pub(crate) async fn push(
        &mut self,
        endpoint: &str,
        payload: &[u8],
        give_up_at: &tokio::sync::watch::Receiver<bool>,
    ) -> Outcome {
        let mut backoff = Duration::from_millis(100);
        loop {
            if *give_up_at.borrow() {
                return Outcome::Abandoned;
            }
            if !self.ensure_token(give_up_at).await {
                return Outcome::Abandoned;
            }
            match self.attempt(endpoint, payload).await {
                Attempt::Done(o) => return o,
                Attempt::NewToken => self.token = None,
                Attempt::Retry => {
                    sleep_or_stop(backoff, give_up_at).await;
                    backoff = (backoff * 2).min(self.max_backoff);
                }
            }
        }
    }
}

async fn sleep_or_stop(d: Duration, stop: &tokio::sync::watch::Receiver<bool>) {
    let mut stop = stop.clone();
    if *stop.borrow() {
        return;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = stop.wait_for(|s| *s) => {}
    }
}
