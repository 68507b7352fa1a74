//! Wiring of T/CEC 102: the configured peers, the token store on the catalog (tokens survive a
//! restart), the `/evcs/v1/` routes and the polling client.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use gateway::tcec::{
    Peer, Poller, PollerOptions, TcecMetrics, TcecOptions, TcecServer, TokenStore,
};
use model::Timestamp;
use pipeline::Pipeline;
use proto_tcec::PeerSecrets;
use store::catalog::Catalog;
use tokio::sync::watch;

use crate::config::Tcec;

/// The OperatorID Haihe calls operators with when `[tcec] operator_id` is not set.
pub(crate) const DEFAULT_OPERATOR_ID: &str = "HAIHE0001";

/// `AccessToken`s in the catalog.
struct CatalogTokens(Arc<Catalog>);

impl TokenStore for CatalogTokens {
    fn store(&self, operator_id: &str, token: &str, expires_at: Timestamp) -> Result<(), String> {
        self.0
            .store_tcec_token(operator_id, token, expires_at)
            .map_err(|e| e.to_string())
    }

    fn operator_of(&self, token: &str, now: Timestamp) -> Result<Option<String>, String> {
        self.0
            .tcec_token_operator(token, now)
            .map_err(|e| e.to_string())
    }
}

/// The peers of `[[tcec.peers]]`, their secrets checked.
pub(crate) fn peers(config: &Tcec) -> anyhow::Result<Vec<Peer>> {
    config
        .peers
        .iter()
        .map(|p| {
            let secrets = PeerSecrets::new(
                &p.operator_id,
                &p.operator_secret,
                &p.data_secret,
                &p.data_secret_iv,
                &p.sig_secret,
            )
            .with_context(|| format!("[[tcec.peers]] operator_id = {:?}", p.operator_id))?;
            Ok(Peer {
                secrets,
                org: p.org.clone(),
                base_url: p.base_url.clone().filter(|u| !u.is_empty()),
                outbound: None,
            })
        })
        .collect()
}

/// The `/evcs/v1/` routes and, when any peer has a `base_url`, the poller.
pub(crate) fn start(
    config: &Tcec,
    catalog: Arc<Catalog>,
    pipeline: Pipeline,
    metrics: TcecMetrics,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<(axum::Router, Option<tokio::task::JoinHandle<()>>)> {
    let peers = peers(config)?;
    let server = TcecServer::new(
        peers.clone(),
        Arc::new(CatalogTokens(catalog)),
        pipeline.clone(),
        TcecOptions {
            metrics: metrics.clone(),
            ..TcecOptions::default()
        },
    );
    let router = gateway::tcec::router(Arc::new(server));
    let poller = peers.iter().any(|p| p.base_url.is_some()).then(|| {
        let mut options = PollerOptions {
            metrics,
            ..PollerOptions::default()
        };
        if let Some(secs) = config.poll_interval_secs {
            options.interval = Duration::from_secs(secs.max(1));
        }
        Poller::spawn(
            peers,
            config
                .operator_id
                .clone()
                .unwrap_or_else(|| DEFAULT_OPERATOR_ID.to_owned()),
            pipeline,
            options,
            shutdown,
        )
    });
    Ok((router, poller))
}
