//! What a run has done, as values: counters and histograms folded from
//! result records ([`Stats`]), the counts every view shares ([`Totals`]),
//! the live picture a front end draws ([`StatsSnapshot`]) and the
//! end-of-run [`RunSummary`]. Pure values over [`crate::model`]: the
//! engine's aggregator feeds a [`Stats`] and publishes snapshots, and a
//! journal read back feeds one the same way.
//!
//! ```text
//!  records ──Stats::add──▶ Stats ──totals()──▶ Totals ──┬──▶ StatsSnapshot (live, with the engine's counters)
//!                                                       └──▶ RunSummary (end of run, or rebuilt from a journal)
//! ```

mod batches;
mod endpoints;
mod errors;
mod histogram;
mod phases;
mod summary;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use batches::{ArrivalStats, BatchStats, Batches};
pub use endpoints::{EndpointStats, Endpoints, endpoint_key};
pub use errors::{ErrorGroup, ErrorGroups, FailureClass};
pub use histogram::{LatencyHistogram, Percentiles};
pub use phases::{Phase, Phases};
pub use summary::{JournalFault, RunSummary};

use crate::model::{AttemptEntry, Binding, ErrorKind, Limits, RequestRecord, RunState};
use crate::signals::ServerLimits;

/// The counts of a run's results that every view of it shares: the live
/// snapshot carries them, and the summary is made of them and what only
/// the live run knew. Declared once, derived once ([`Stats::totals`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Requests with a final result.
    #[serde(rename = "total")]
    pub done: u64,
    pub ok: u64,
    pub failed: u64,
    /// Final status code → count.
    #[serde(with = "status_keys")]
    pub by_status: BTreeMap<u16, u64>,
    /// Error kind → count, for requests that got no response.
    pub by_error: BTreeMap<ErrorKind, u64>,
    /// Sent → full body, of requests that got a response (ms).
    #[serde(rename = "latency_ms")]
    pub latency: Percentiles,
    /// Time held by the limits before sending (ms).
    #[serde(rename = "wait_ms")]
    pub wait: Percentiles,
    /// Every attempt's answer, retried ones included: what the server
    /// said, as opposed to how each request ended.
    #[serde(default)]
    pub answers: Answers,
}

/// Every answer a run got: each attempt of each request (a 429 that was
/// retried counts), or for coalesced items each batch call and poll.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Answers {
    pub total: u64,
    /// Status → answers with it.
    #[serde(with = "status_keys")]
    pub by_status: BTreeMap<u16, u64>,
    /// Error kind → attempts that failed on their way (timeouts, resets).
    pub by_error: BTreeMap<ErrorKind, u64>,
    /// Refusals among them: 429, or 503 with Retry-After.
    pub refused: u64,
}

impl Answers {
    /// Counts an attempt, if it was an answer.
    pub fn add(&mut self, a: &AttemptEntry) {
        if !a.is_answer() {
            return;
        }
        self.total += 1;
        match (a.status, a.error_kind) {
            (Some(status), _) => *self.by_status.entry(status).or_default() += 1,
            (None, Some(kind)) => *self.by_error.entry(kind).or_default() += 1,
            (None, None) => {}
        }
        self.refused += u64::from(is_refusal(a));
    }

    /// Answers with this status.
    pub fn status(&self, code: u16) -> u64 {
        self.by_status.get(&code).copied().unwrap_or(0)
    }

    /// Answers with a status in `lo..lo + 100` (`class(500)`: the 5xx).
    pub fn class(&self, lo: u16) -> u64 {
        self.by_status.range(lo..lo + 100).map(|(_, n)| n).sum()
    }

    /// Answers with a status below 400: what the server accepted.
    pub fn accepted(&self) -> u64 {
        self.by_status.range(..400).map(|(_, n)| n).sum()
    }

    /// Attempts that got no HTTP answer (timeouts, resets...).
    pub fn failed_on_the_way(&self) -> u64 {
        self.by_error.values().sum()
    }
}

/// Whether an answer refused the request: a 429, or a 503 that says when
/// to come back.
pub fn is_refusal(a: &AttemptEntry) -> bool {
    a.status == Some(429) || (a.status == Some(503) && a.retry_after_s.is_some())
}

impl Totals {
    /// Results with this status.
    pub fn status(&self, code: u16) -> u64 {
        self.by_status.get(&code).copied().unwrap_or(0)
    }
}

/// Status codes as JSON object keys are strings; read them back as
/// numbers (a flattened map does not do it by itself).
mod status_keys {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(map: &BTreeMap<u16, u64>, s: S) -> Result<S::Ok, S::Error> {
        map.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<u16, u64>, D::Error> {
        BTreeMap::<String, u64>::deserialize(d)?
            .into_iter()
            .map(|(k, v)| {
                k.parse()
                    .map(|k| (k, v))
                    .map_err(|_| serde::de::Error::custom(format!("not a status code: {k:?}")))
            })
            .collect()
    }
}

/// Everything a front end shows, as of `elapsed` into the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsSnapshot {
    pub state: RunState,
    pub limits: Limits,
    pub binding: Binding,
    /// Refusals' share of the last second's answers (0 to 1).
    pub refused_share: f64,
    /// The last second's latency as a multiple of its quietest second's,
    /// when it has risen enough to say the server strains.
    pub slowing: Option<f64>,
    /// Requests in the batch, when known.
    pub total: Option<u64>,
    /// The results so far.
    pub totals: Totals,
    /// Attempts started.
    pub started: u64,
    pub in_flight: u64,
    pub max_in_flight: u64,
    /// Connections open and opened, and their cap per origin.
    pub connections: ConnectionCount,
    pub retries: u64,
    /// Requests waiting out a retry backoff.
    pub retrying: u64,
    /// Batch jobs waiting for their next poll (`coalesce`).
    pub jobs_pending: u64,
    /// How long the oldest pending job has waited for its results.
    pub oldest_job: Option<Duration>,
    /// Calls, fill and polling time of a coalescing run.
    pub batches: Option<BatchStats>,
    pub elapsed: Duration,
    /// Attempt starts per second over the last second.
    pub start_rate: f64,
    /// Completions per second over the last second.
    pub completion_rate: f64,
    /// Answers per second over the last second (every attempt).
    pub answer_rate: f64,
    /// Answers the server accepted (status below 400) per second.
    pub accepted_rate: f64,
    /// Refusals (429, 503 with Retry-After) per second.
    pub refused_rate: f64,
    /// 5xx answers per second.
    pub server_error_rate: f64,
    /// Latency of the responses of the last whole second only, so a
    /// controller sees latency move as the load does.
    pub recent_latency: Percentiles,
    /// Answers with status 429 per second over the last second (retried
    /// ones included).
    pub rate_limited_rate: f64,
    /// The latest rate-limit signals a server sent, and when.
    pub server: Option<ServerLimits>,
    pub server_at: Option<Duration>,
    /// How long new starts have been held, in all, because the server
    /// asked (`respect_limits`).
    pub held_by_server: Duration,
    /// What the run waits for: the server's hold (how long it has left),
    /// and the soonest retry or job poll.
    pub hold_left: Option<Duration>,
    pub next_retry_in: Option<Duration>,
    /// Failures by kind or status, most first, each with its latest
    /// message and an example URL.
    pub errors: Vec<ErrorGroup>,
    /// The busiest endpoints (by name or URL pattern), most requests first.
    pub endpoints: Vec<EndpointStats>,
}

/// Endpoint rows carried in each snapshot.
pub const SNAPSHOT_ENDPOINTS: usize = 12;

/// A run's connections: open now, opened since it began (a reused pool
/// opens few), and the cap on open ones per origin (`max_connections`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ConnectionCount {
    pub open: u64,
    pub opened: u64,
    pub cap: Option<u64>,
}

impl StatsSnapshot {
    pub fn initial(total: Option<u64>, limits: Limits) -> Self {
        Self {
            state: RunState::Idle,
            limits,
            binding: Binding::None,
            refused_share: 0.0,
            slowing: None,
            total,
            totals: Totals::default(),
            started: 0,
            in_flight: 0,
            max_in_flight: 0,
            connections: ConnectionCount::default(),
            retries: 0,
            retrying: 0,
            jobs_pending: 0,
            oldest_job: None,
            batches: None,
            elapsed: Duration::ZERO,
            start_rate: 0.0,
            completion_rate: 0.0,
            answer_rate: 0.0,
            accepted_rate: 0.0,
            refused_rate: 0.0,
            server_error_rate: 0.0,
            recent_latency: Percentiles::default(),
            rate_limited_rate: 0.0,
            server: None,
            server_at: None,
            held_by_server: Duration::ZERO,
            hold_left: None,
            next_retry_in: None,
            errors: Vec::new(),
            endpoints: Vec::new(),
        }
    }
}

/// Running totals over records, folded one at a time.
#[derive(Debug, Default)]
pub struct Stats {
    pub done: u64,
    pub ok: u64,
    pub failed: u64,
    pub latency: LatencyHistogram,
    pub wait: LatencyHistogram,
    pub by_status: BTreeMap<u16, u64>,
    pub by_error: BTreeMap<ErrorKind, u64>,
    pub errors: ErrorGroups,
    pub endpoints: Endpoints,
    pub batches: Batches,
    /// Latency of the responses since the current quarter-second slice
    /// began (the engine rolls it into the last second's latency).
    pub window_latency: LatencyHistogram,
    /// The latest rate-limit signals seen.
    pub server: Option<ServerLimits>,
    pub answers: Answers,
    /// The run cut at each change of its limits.
    pub phases: Phases,
}

impl Stats {
    /// A request's final result. Its own attempt is an answer too, unless
    /// it was an item of a batch call (the call was the answer).
    pub fn add(&mut self, r: &RequestRecord) {
        self.add_result(r);
        if r.batch.is_none() && r.attempts > 0 {
            self.count_answer(r, false);
        }
    }

    /// A request's final result, as a result only (its answers are counted
    /// apart: live as they come, or from a journal's attempt logs).
    pub fn add_result(&mut self, r: &RequestRecord) {
        self.done += 1;
        self.endpoints.add(r);
        self.batches.add(r);
        self.phases.add_result(r);
        if r.ok {
            self.ok += 1;
        } else {
            self.failed += 1;
        }
        self.errors.add_final(r);
        if let Some(status) = r.status {
            *self.by_status.entry(status).or_default() += 1;
            if let Some(latency) = r.latency_ms {
                let latency = Duration::from_secs_f64(latency / 1000.0);
                self.latency.record(latency);
                self.window_latency.record(latency);
            }
        }
        if let Some(kind) = r.error_kind {
            *self.by_error.entry(kind).or_default() += 1;
        }
        if r.rate_limit.is_some() {
            self.server = r.rate_limit;
        }
        if r.attempts > 0 {
            self.wait
                .record(Duration::from_secs_f64(r.wait_ms / 1000.0));
        }
    }

    /// An answer that is not a request's final result: an attempt that is
    /// retried, or a batch call or a job poll (`retried`: it goes again).
    pub fn add_answer(&mut self, r: &RequestRecord, retried: bool) {
        self.count_answer(r, retried);
        if let Some(latency) = r.latency_ms.filter(|_| r.status.is_some()) {
            self.window_latency
                .record(Duration::from_secs_f64(latency / 1000.0));
        }
        if r.rate_limit.is_some() {
            self.server = r.rate_limit;
        }
    }

    fn count_answer(&mut self, r: &RequestRecord, retried: bool) {
        let attempt = AttemptEntry::of(r);
        if !attempt.is_answer() {
            return;
        }
        self.answers.add(&attempt);
        self.phases.add_answer(&attempt);
        self.endpoints.add_answer(r, &attempt);
        self.errors.add_answer(r, &attempt, retried);
    }

    /// The counts so far.
    pub fn totals(&self) -> Totals {
        Totals {
            done: self.done,
            ok: self.ok,
            failed: self.failed,
            by_status: self.by_status.clone(),
            by_error: self.by_error.clone(),
            latency: self.latency.percentiles(),
            wait: self.wait.percentiles(),
            answers: self.answers.clone(),
        }
    }
}
