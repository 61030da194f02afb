//! The engine: runs a batch under live-tunable limits. No terminal code.
//!
//! ```text
//!            Command (SetLimits, Pause, Resume, Stop)
//!  caller ───────────────────────▶ dispatcher ──spawn──▶ attempt tasks
//!    ▲  ▲                           owns in-flight,         │ (retry: back to
//!    │  │                           limits, pacer ◀─────────┘  the dispatcher)
//!    │  └── Event (Started, LimitsApplied, ..., Finished) ◀──┐
//!    │                                                       │ records
//!    └───── StatsSnapshot (watch, ~10 Hz) ◀──── aggregator ◀─┘──▶ journal (RecordSink)
//! ```
//! The engine owns its whole pipeline: `dispatcher` (scheduling: when each
//! dispatch starts), `task` (what an attempt task does and the records it
//! makes), `batching` (a coalesced batch call and its polls), `live`
//! (counters the dispatcher writes), `aggregator` (the journal and the
//! [`crate::stats::Stats`] fold) and `snapshot` (rates, recent latency and
//! the binding limit, published as a [`StatsSnapshot`]). A single
//! dispatcher task owns the counters, so a lowered cap or a new rate is
//! exact from the next start. Front ends (the session, the probe, tests)
//! drive a run through [`RunHandle`].

mod aggregator;
mod arrivals;
mod batching;
mod client;
mod connect;
mod decode;
mod dispatcher;
mod live;
mod pacer;
pub mod redirect;
pub mod retry;
mod snapshot;
mod task;
mod timer;
pub mod transport;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use aggregator::Aggregator;
use live::LiveCounters;

use crate::batch::{InvalidRequest, RequestSpec};
use crate::export::RecordSink;
use crate::stats::{RunSummary, StatsSnapshot};

pub use crate::model::{Binding, Limits, Profile, RunState};
pub use connect::Connections;
pub use pacer::{LATE_TOLERANCE, Pacer};
pub use snapshot::{Judging, REFUSED_SHARE, RateMeter, judge};
pub use transport::{Proxy, Transport, TransportConfig, TransportError};

/// How a run behaves, apart from its limits.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub limits: Limits,
    /// Retries per request after the first attempt.
    pub retries: u32,
    /// Per-request timeout unless the request sets its own.
    pub timeout: Duration,
    /// Speak HTTP/2 (prior knowledge) instead of HTTP/1.1; on https, h2
    /// is offered by ALPN either way.
    pub http2: bool,
    /// Accept any server certificate (`--insecure`).
    pub insecure: bool,
    /// Through a proxy (`--proxy`, `--proxy-from-env`), or not (default).
    pub proxy: Proxy,
    /// Redirects followed per request (`--max-redirects`; 0: none).
    pub max_redirects: u32,
    /// Most open connections per origin (`max_connections`); `None`: as
    /// many as requests need.
    pub max_connections: Option<u64>,
    /// Keep up to this many body bytes in each record.
    pub keep_body: Option<usize>,
    /// Keep what was sent (headers, body) and every response header in
    /// each record, secrets redacted: for a HAR. Implied by `keep_body`.
    pub capture: bool,
    /// How long in-flight requests may finish after a stop.
    pub stop_grace: Duration,
    /// Mask key-like query values in recorded URLs.
    pub redact: bool,
    /// How often a stats snapshot is published.
    pub snapshot_every: Duration,
    /// Hold new starts while the server says to: for a 429's or 503's
    /// Retry-After, and until the reset when it says none remain.
    pub respect_limits: bool,
    /// Planned rates over time; any live limit change ends the plan.
    pub profile: Option<Profile>,
    /// Send the items in batch calls; limits then count calls and polls.
    pub coalesce: Option<Arc<crate::batch::coalesce::CoalesceSpec>>,
    /// With `coalesce`: items arrive over time (else all at the start),
    /// and calls go on the window.
    pub arrivals: Option<crate::model::Arrivals>,
    /// The longest the server may make a request (a Retry-After) or the
    /// run (a reset, under `respect_limits`) wait: a longer demand fails
    /// the request rather than hang the run.
    pub max_wait: Duration,
}

/// The default of [`RunConfig::max_wait`].
pub const MAX_WAIT: Duration = Duration::from_secs(60);

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            retries: 0,
            timeout: Duration::from_secs(30),
            http2: false,
            insecure: false,
            proxy: Proxy::Direct,
            max_redirects: redirect::MAX_REDIRECTS,
            max_connections: None,
            keep_body: None,
            capture: false,
            stop_grace: Duration::from_secs(5),
            redact: true,
            snapshot_every: Duration::from_millis(100),
            respect_limits: false,
            profile: None,
            coalesce: None,
            arrivals: None,
            max_wait: MAX_WAIT,
        }
    }
}

/// Instructions to a running engine.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Replace both limits (and the burst): a person's change.
    SetLimits(Limits),
    /// The same, by a controller looking for the highest rate that holds
    /// (auto-tune, the probe): the run's timeline says so.
    Tune(Limits),
    /// Items per batch call from the next call on (coalescing runs).
    SetMaxItems(usize),
    /// The window of coalescing runs with arrivals, from now on.
    SetWindow(Duration),
    /// The arrival rate (items per second), from now on.
    SetArrivalRate(f64),
    /// The cap on open connections per origin (`None`: no cap).
    SetMaxConnections(Option<u64>),
    /// Pause new dispatches; in-flight requests carry on.
    Pause,
    Resume,
    /// No new dispatches; in-flight requests get `grace` (default: the
    /// run's `stop_grace`) and are then cancelled and recorded as such.
    Stop {
        grace: Option<Duration>,
    },
}

/// Coarse, low-volume notifications (never one per request).
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Started {
        total: Option<u64>,
    },
    LimitsApplied(Limits),
    Paused,
    Resumed,
    Stopping,
    /// The journal could not be written; the run is being stopped.
    JournalFailed(String),
    Finished(Box<RunSummary>),
}

/// Errors that keep a run from starting or finishing.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot set up the transport: {0}")]
    Transport(#[from] TransportError),
    #[error("the engine stopped unexpectedly: {0}")]
    Crashed(#[source] tokio::task::JoinError),
}

/// A running batch: send it commands, read its events and stats.
pub struct RunHandle {
    commands: mpsc::UnboundedSender<Command>,
    /// Coarse events; reading them is optional (they are few).
    pub events: mpsc::UnboundedReceiver<Event>,
    /// The latest stats; never blocks the engine, however slow the reader.
    pub stats: watch::Receiver<StatsSnapshot>,
    done: JoinHandle<RunSummary>,
}

impl RunHandle {
    /// Sends a command; ignored once the run has finished.
    pub fn send(&self, command: Command) {
        let _ = self.commands.send(command);
    }

    pub fn set_limits(&self, limits: Limits) {
        self.send(Command::SetLimits(limits));
    }

    pub fn pause(&self) {
        self.send(Command::Pause);
    }

    pub fn resume(&self) {
        self.send(Command::Resume);
    }

    /// Stops with the run's default grace period.
    pub fn stop(&self) {
        self.send(Command::Stop { grace: None });
    }

    /// A sender for commands, for tasks that outlive a borrow of the handle
    /// (e.g. a Ctrl-C handler).
    pub fn commander(&self) -> mpsc::UnboundedSender<Command> {
        self.commands.clone()
    }

    /// The handle's channels, for a front end that polls them separately
    /// (a `select!` loop cannot borrow one handle in several branches).
    pub fn into_parts(self) -> RunParts {
        RunParts {
            commands: self.commands,
            events: self.events,
            stats: self.stats,
            done: self.done,
        }
    }

    /// Waits until every result is recorded and returns the summary.
    pub async fn wait(self) -> Result<RunSummary, EngineError> {
        self.done.await.map_err(EngineError::Crashed)
    }
}

/// A [`RunHandle`] taken apart.
pub struct RunParts {
    pub commands: mpsc::UnboundedSender<Command>,
    pub events: mpsc::UnboundedReceiver<Event>,
    pub stats: watch::Receiver<StatsSnapshot>,
    /// Resolves to the summary when every result is recorded.
    pub done: JoinHandle<RunSummary>,
}

/// What the summary says of a transport set apart from the defaults.
fn transport_note(config: &RunConfig) -> Option<String> {
    let mut parts = Vec::new();
    if config.insecure {
        parts.push("insecure: any TLS certificate accepted".to_owned());
    }
    parts.extend(config.proxy.describe());
    if let Some(cap) = config.max_connections {
        parts.push(format!("at most {cap} connections per origin"));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// Starts a run on the current tokio runtime.
///
/// `requests` are pulled one at a time as the limits allow (a batch that
/// expands to millions is never materialised); `total`, when known, feeds
/// progress and the count of requests not sent. Records go to `sink` as
/// they complete.
pub fn start<I>(
    requests: I,
    total: Option<u64>,
    config: RunConfig,
    sink: Box<dyn RecordSink>,
) -> Result<RunHandle, EngineError>
where
    I: IntoIterator<Item = Result<RequestSpec, InvalidRequest>>,
    I::IntoIter: Send + 'static,
{
    let connections = Arc::new(Connections::new(config.max_connections));
    let transport = Arc::new(Transport::new(
        &TransportConfig {
            http2: config.http2,
            insecure: config.insecure,
            proxy: config.proxy.clone(),
            pool: config.limits.max_at_once,
        },
        connections.clone(),
    )?);
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let (event_tx, event_rx) = mpsc::unbounded_channel();
    let (record_tx, record_rx) = mpsc::unbounded_channel();
    let live = Arc::new(LiveCounters::new(config.limits, connections));
    let (stats_tx, stats_rx) = watch::channel(StatsSnapshot::initial(total, config.limits));

    let mut aggregator = Aggregator::new(
        total,
        live.clone(),
        sink,
        stats_tx,
        event_tx.clone(),
        cmd_tx.clone(),
        config.coalesce.is_some(),
    );
    aggregator.transport = transport_note(&config);
    let done = tokio::spawn(aggregator.run(record_rx, config.snapshot_every));
    let _ = event_tx.send(Event::Started { total });
    let dispatcher = dispatcher::Dispatcher::new(
        Box::new(requests.into_iter()),
        config,
        transport,
        cmd_rx,
        event_tx,
        record_tx,
        live,
    );
    tokio::spawn(dispatcher.run());
    Ok(RunHandle {
        commands: cmd_tx,
        events: event_rx,
        stats: stats_rx,
        done,
    })
}
