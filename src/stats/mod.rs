//! Aggregates: what the run has done so far, as counters, histograms and
//! rates. Fed one record at a time by the aggregator task; published as a
//! [`StatsSnapshot`] several times a second.

mod aggregator;
mod batches;
mod endpoints;
mod errors;
mod histogram;
mod live;

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

pub(crate) use aggregator::{AggMsg, Aggregator};
pub use batches::{BatchStats, Batches};
pub use endpoints::{EndpointStats, Endpoints, endpoint_key};
pub use errors::{ErrorGroup, ErrorGroups, FailureClass};
pub use histogram::{LatencyHistogram, Percentiles};
pub use live::{Control, LiveCounters, LiveReading};

use crate::engine::{Binding, Limits, RunState};
use crate::export::{ErrorKind, RequestRecord, RunSummary};
use crate::signals::ServerLimits;

/// Everything a front end shows, as of `elapsed` into the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsSnapshot {
    pub state: RunState,
    pub limits: Limits,
    pub binding: Binding,
    /// Requests in the batch, when known.
    pub total: Option<u64>,
    /// Requests with a final result.
    pub done: u64,
    pub ok: u64,
    pub failed: u64,
    /// Attempts started.
    pub started: u64,
    pub in_flight: u64,
    pub max_in_flight: u64,
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
    pub latency: Percentiles,
    /// Latency of the responses of the last whole second only, so a
    /// controller sees latency move as the load does.
    pub recent_latency: Percentiles,
    pub wait: Percentiles,
    pub by_status: BTreeMap<u16, u64>,
    pub by_error: BTreeMap<ErrorKind, u64>,
    /// Answers with status 429 per second over the last second.
    pub rate_limited_rate: f64,
    /// The latest rate-limit signals a server sent, and when.
    pub server: Option<ServerLimits>,
    pub server_at: Option<Duration>,
    /// How long new starts have been held, in all, because the server
    /// asked (`respect_limits`).
    pub held_by_server: Duration,
    /// Failures by kind or status, most first, each with its latest
    /// message and an example URL.
    pub errors: Vec<ErrorGroup>,
    /// The busiest endpoints (by name or URL pattern), most requests first.
    pub endpoints: Vec<EndpointStats>,
}

/// Endpoint rows carried in each snapshot.
pub const SNAPSHOT_ENDPOINTS: usize = 12;

impl StatsSnapshot {
    pub fn initial(total: Option<u64>, limits: Limits) -> Self {
        Self {
            state: RunState::Idle,
            limits,
            binding: Binding::None,
            total,
            done: 0,
            ok: 0,
            failed: 0,
            started: 0,
            in_flight: 0,
            max_in_flight: 0,
            retries: 0,
            retrying: 0,
            jobs_pending: 0,
            oldest_job: None,
            batches: None,
            elapsed: Duration::ZERO,
            start_rate: 0.0,
            completion_rate: 0.0,
            latency: Percentiles::default(),
            recent_latency: Percentiles::default(),
            wait: Percentiles::default(),
            by_status: BTreeMap::new(),
            by_error: BTreeMap::new(),
            rate_limited_rate: 0.0,
            server: None,
            server_at: None,
            held_by_server: Duration::ZERO,
            errors: Vec::new(),
            endpoints: Vec::new(),
        }
    }
}

/// Running totals over records.
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
    /// Latency of the responses since the current one-second window began.
    pub window_latency: LatencyHistogram,
    /// The latest rate-limit signals seen.
    pub server: Option<ServerLimits>,
}

impl Stats {
    pub fn add(&mut self, r: &RequestRecord) {
        self.done += 1;
        self.endpoints.add(r);
        self.batches.add(r);
        if r.ok {
            self.ok += 1;
        } else {
            self.failed += 1;
            self.errors.add(r);
        }
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

    /// The summary of a finished run.
    pub fn summary(
        &self,
        wall: Duration,
        live: &LiveReading,
        total: Option<u64>,
        stopped: bool,
    ) -> RunSummary {
        let wall_s = wall.as_secs_f64();
        RunSummary {
            total: self.done,
            ok: self.ok,
            failed: self.failed,
            by_status: self
                .by_status
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            by_error: self
                .by_error
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            wall_s,
            achieved_per_s: if wall_s > 0.0 {
                self.done as f64 / wall_s
            } else {
                0.0
            },
            latency_ms: self.latency.percentiles(),
            wait_ms: self.wait.percentiles(),
            max_in_flight: live.max_in_flight,
            retries: live.retries,
            not_sent: total.map_or(0, |t| t.saturating_sub(self.done)),
            stopped,
            held_by_server_s: live.held_total.as_secs_f64(),
            calls: live.started,
        }
    }
}

/// Which limit is holding the run back, judged over the last second: the
/// rate when starts keep up with it, else the cap when in flight is at it
/// (the instant view flips each time a slot frees, so it is not used).
/// Neither: the server's latency is what limits throughput.
pub fn binding(
    state: RunState,
    limits: Limits,
    start_rate: f64,
    in_flight: u64,
    held_by_server: bool,
) -> Binding {
    match state {
        RunState::Paused => return Binding::Paused,
        RunState::Running if held_by_server => return Binding::Server,
        RunState::Running => {}
        _ => return Binding::None,
    }
    if limits.per_second.is_some_and(|r| start_rate >= 0.9 * r) {
        Binding::Rate
    } else if limits
        .max_at_once
        .is_some_and(|c| in_flight >= c.saturating_sub(1).max(1))
    {
        Binding::MaxAtOnce
    } else {
        Binding::None
    }
}

/// Rates over the last second from periodic samples of two counters.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binding_limit_is_judged_over_rates() {
        let limits = Limits::new(10, 100.0);
        assert_eq!(
            binding(RunState::Running, limits, 99.0, 4, false),
            Binding::Rate
        );
        assert_eq!(
            binding(RunState::Running, limits, 49.0, 10, false),
            Binding::MaxAtOnce
        );
        assert_eq!(
            binding(RunState::Running, limits, 49.0, 9, false),
            Binding::MaxAtOnce
        );
        assert_eq!(
            binding(RunState::Running, limits, 30.0, 3, false),
            Binding::None,
            "the server"
        );
        assert_eq!(
            binding(RunState::Paused, limits, 0.0, 0, false),
            Binding::Paused
        );
        assert_eq!(
            binding(RunState::Done, limits, 99.0, 0, false),
            Binding::None
        );
        assert_eq!(
            binding(RunState::Running, Limits::new(0, 0.0), 5000.0, 64, false),
            Binding::None
        );
    }
}

#[derive(Debug, Default)]
pub struct RateMeter {
    samples: VecDeque<(Instant, [u64; 3])>,
}

impl RateMeter {
    /// Adds a sample of three counters (starts, completions, 429s) and
    /// returns their rates per second over about the last second.
    pub fn sample(&mut self, now: Instant, counts: [u64; 3]) -> [f64; 3] {
        self.samples.push_back((now, counts));
        while self.samples.len() > 2
            && now.duration_since(self.samples[1].0) >= Duration::from_secs(1)
        {
            self.samples.pop_front();
        }
        let (t0, c0) = self.samples[0];
        let dt = now.duration_since(t0).as_secs_f64();
        if dt <= 0.0 {
            return [0.0; 3];
        }
        std::array::from_fn(|i| counts[i].saturating_sub(c0[i]) as f64 / dt)
    }
}
