//! `GET /api/v1/stream`: live samples, alarm changes and connector changes as server-sent events.
//!
//! `?types=alarm,sample,connector` chooses the kinds (all by default) and `?entity=ID` one
//! vehicle or device (a connector's entity is its connector id, or its charger's id). Each event
//! is one of
//!
//! ```text
//! event: alarm              event: sample              event: connector      event: lagged
//! id: {event_id}            data: {sample}             data: {status}        data: {"skipped": n}
//! data: {AlarmNotice}
//! ```
//!
//! where a connector event is a `connector_status` row (a change of state).
//!
//! with the sample in the shape of `state` in `/api/v1/vehicles` (a `vehicle_samples` row for
//! GB/T 32960 vehicles, a `fleet_reports` row for JT/T 808 ones; `source` tells them apart). An org principal receives only
//! its own organisation's events. A comment line is sent every [`KEEP_ALIVE`] so that proxies do
//! not close an idle stream.
//!
//! The backend publishes on a bounded broadcast channel and each stream reads its own receiver;
//! nothing is queued per client beyond that channel. A client that reads too slowly loses the
//! oldest events and is told how many with one `lagged` event; the stream then goes on with the
//! events still in the channel. The count is of every event the channel dropped for this client,
//! including events its filters would not have passed.
//!
//! A stream never ends by itself, and a graceful shutdown waits for every response to end; so
//! [`crate::serve`] hands each stream a [`Closing`] signal and streams end when shutdown begins.
//!
//! Authentication is the bearer header as everywhere, or `?token=TOKEN` on this endpoint only:
//! the browser's `EventSource` cannot set headers. A token in a URL can end up in proxy logs and
//! browser history, so clients that can send the header should. There is no replay: the `id` of an
//! alarm event lets a client notice what it missed (`Last-Event-ID` is ignored) and read it from
//! `/api/v1/alarms`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast, watch};

use crate::Shared;
use crate::auth::org_scope;
use crate::backend::{Principal, StreamEvent};
use crate::error::ApiError;
use crate::params::{Params, parse_entity, present};

/// How often an idle stream sends a comment line.
pub(crate) const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The event kinds a client may ask for in `types`.
const TYPES: [&str; 3] = ["alarm", "sample", "connector"];

/// The cap on open streams ([`crate::Limits::max_streams`]), shared by the stream route.
#[derive(Debug, Clone)]
pub(crate) struct StreamSlots(pub(crate) Arc<Semaphore>);

/// Becomes `true` when the server begins to shut down; set by [`crate::serve`]. Without it (a
/// router served some other way, or a test's `oneshot`) streams end only with the channel.
#[derive(Debug, Clone)]
pub(crate) struct Closing(pub(crate) watch::Receiver<bool>);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StreamQuery {
    types: Option<String>,
    entity: Option<String>,
    /// Read by the authentication middleware; named here so it is not an unknown parameter.
    #[serde(rename = "token")]
    _token: Option<String>,
}

/// What one client asked for and may see.
#[derive(Debug)]
struct Filter {
    alarms: bool,
    samples: bool,
    connectors: bool,
    entity: Option<String>,
    /// `Some` for an org principal: only events of this organisation pass.
    org: Option<String>,
}

impl Filter {
    fn parse(q: &StreamQuery, principal: &Principal) -> Result<Self, ApiError> {
        let (mut alarms, mut samples, mut connectors) = (false, false, false);
        match present(&q.types) {
            None => (alarms, samples, connectors) = (true, true, true),
            Some(types) => {
                for t in types.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                    match t {
                        "alarm" => alarms = true,
                        "sample" => samples = true,
                        "connector" => connectors = true,
                        _ => {
                            return Err(ApiError::BadRequest(format!(
                                "types: unknown event type {t:?}; expected a comma-separated \
                                 list of {}",
                                TYPES.join(", ")
                            )));
                        }
                    }
                }
                if !(alarms || samples || connectors) {
                    (alarms, samples, connectors) = (true, true, true);
                }
            }
        }
        Ok(Self {
            alarms,
            samples,
            connectors,
            entity: parse_entity("entity", &q.entity)?,
            org: org_scope(principal)?.map(str::to_owned),
        })
    }

    /// Whether an event with this kind, entity and organisation passes.
    fn passes(&self, wanted: bool, entity: &str, org: Option<&str>) -> bool {
        wanted
            && self.entity.as_deref().is_none_or(|e| e == entity)
            && self.org.as_deref().is_none_or(|o| org == Some(o))
    }

    /// The SSE event for `event`, or `None` when this client does not get it.
    fn render(&self, event: &StreamEvent) -> Option<Event> {
        let rendered = match event {
            StreamEvent::Alarm(notice) => {
                let alarm = &notice.alarm;
                if !self.passes(self.alarms, &alarm.entity_id, alarm.org.as_deref()) {
                    return None;
                }
                Event::default()
                    .event("alarm")
                    .id(notice.event_id.to_string())
                    .json_data(&**notice)
            }
            StreamEvent::Sample { org, sample } => {
                if !self.passes(self.samples, sample.vin.as_str(), org.as_deref()) {
                    return None;
                }
                Event::default().event("sample").json_data(&**sample)
            }
            StreamEvent::Fleet { org, report } => {
                // Either id names the vehicle: its VIN, or its terminal's phone number.
                let entity = match (&self.entity, &report.vin) {
                    (Some(e), _) if *e == report.terminal_id => e.as_str(),
                    (_, Some(vin)) => vin.as_str(),
                    (_, None) => report.terminal_id.as_str(),
                };
                if !self.passes(self.samples, entity, org.as_deref()) {
                    return None;
                }
                Event::default().event("sample").json_data(&**report)
            }
            StreamEvent::Connector { org, status } => {
                let entity = match &self.entity {
                    Some(e) if *e == status.equipment_id => e.as_str(),
                    _ => status.connector_id.as_str(),
                };
                if !self.passes(self.connectors, entity, org.as_deref()) {
                    return None;
                }
                Event::default().event("connector").json_data(&**status)
            }
        };
        rendered
            .map_err(|e| tracing::error!(error = %e, "could not serialize a stream event"))
            .ok()
    }
}

/// What a stream carries from one event to the next.
#[derive(Debug)]
struct Subscription {
    events: broadcast::Receiver<StreamEvent>,
    filter: Filter,
    closing: Option<watch::Receiver<bool>>,
    /// Held for as long as the stream is open.
    _slot: OwnedSemaphorePermit,
}

impl Subscription {
    /// The next event for this client; `None` once the server is shutting down or the backend
    /// has closed the channel.
    async fn next(&mut self) -> Option<Event> {
        let Some(closing) = &mut self.closing else {
            return Self::receive(&mut self.events, &self.filter).await;
        };
        tokio::select! {
            event = Self::receive(&mut self.events, &self.filter) => event,
            // A dropped sender means the server is gone as well.
            _ = closing.wait_for(|closing| *closing) => None,
        }
    }

    async fn receive(
        events: &mut broadcast::Receiver<StreamEvent>,
        filter: &Filter,
    ) -> Option<Event> {
        loop {
            match events.recv().await {
                Ok(event) => {
                    if let Some(rendered) = filter.render(&event) {
                        return Some(rendered);
                    }
                }
                Err(RecvError::Lagged(skipped)) => {
                    tracing::debug!(skipped, "a stream client fell behind");
                    return Event::default()
                        .event("lagged")
                        .json_data(json!({ "skipped": skipped }))
                        .ok();
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }
}

pub(crate) async fn events(
    State(backend): State<Shared>,
    Extension(principal): Extension<Principal>,
    Extension(StreamSlots(slots)): Extension<StreamSlots>,
    closing: Option<Extension<Closing>>,
    Params(q): Params<StreamQuery>,
) -> Result<Response, ApiError> {
    let filter = Filter::parse(&q, &principal)?;
    let slot = slots
        .try_acquire_owned()
        .map_err(|_| ApiError::Unavailable("too many live streams are open; retry later".into()))?;
    let subscription = Subscription {
        events: backend.subscribe(),
        filter,
        closing: closing.map(|Extension(Closing(c))| c),
        _slot: slot,
    };
    let events = stream::unfold(subscription, |mut s| async move {
        let event = s.next().await?;
        Some((Ok::<_, Infallible>(event), s))
    });
    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response();
    // nginx buffers responses by default, which would hold events back until its buffer fills.
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}
