//! The snapshot builder: turns the aggregator's [`Stats`] and the
//! dispatcher's live counters into the [`StatsSnapshot`] front ends draw,
//! with what needs a clock: rates over the last second, the last second's
//! latency, and which limit binds.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use super::live::LiveReading;
use crate::model::{Binding, Limits, RunState};
use crate::stats::{LatencyHistogram, Percentiles, SNAPSHOT_ENDPOINTS, Stats, StatsSnapshot};

/// The slice of time recent latency is kept in.
const QUARTER: Duration = Duration::from_millis(250);

/// Builds snapshots of one run; keeps what rates and recent latency need
/// from one snapshot to the next.
pub(super) struct Snapshotter {
    total: Option<u64>,
    started_at: Instant,
    rates: RateMeter,
    /// Latency over the last second as four quarter-second slices: when
    /// the current slice (`Stats::window_latency`) began, and the three
    /// before it.
    window_start: Instant,
    past_quarters: VecDeque<LatencyHistogram>,
    /// The four quarters summed, reused at each rotation.
    second: LatencyHistogram,
    recent_latency: Percentiles,
    /// When the latest rate-limit signals arrived, into the run.
    pub(super) server_at: Option<Duration>,
}

impl Snapshotter {
    pub(super) fn new(total: Option<u64>, started_at: Instant) -> Self {
        Self {
            total,
            started_at,
            rates: RateMeter::default(),
            window_start: started_at,
            past_quarters: VecDeque::new(),
            second: LatencyHistogram::default(),
            recent_latency: Percentiles::default(),
            server_at: None,
        }
    }

    /// The snapshot as of now; `state` overrides the live one (the final
    /// snapshot says Done).
    pub(super) fn snapshot(
        &mut self,
        stats: &mut Stats,
        live: &LiveReading,
        state: Option<RunState>,
    ) -> StatsSnapshot {
        let now = Instant::now();
        let rate_limited = stats.by_status.get(&429).copied().unwrap_or(0);
        let [start_rate, completion_rate, rate_limited_rate] = self
            .rates
            .sample(now, [live.started, stats.done, rate_limited]);
        self.roll_latency(stats, now);
        StatsSnapshot {
            state: state.unwrap_or(live.control.state),
            limits: live.control.limits,
            binding: binding(
                live.control.state,
                live.control.limits,
                start_rate,
                live.in_flight,
                live.held_now,
            ),
            total: self.total,
            totals: stats.totals(),
            started: live.started,
            in_flight: live.in_flight,
            max_in_flight: live.max_in_flight,
            retries: live.retries,
            retrying: live.retrying,
            jobs_pending: live.jobs_pending,
            oldest_job: live.oldest_job,
            batches: stats.batches.stats(),
            elapsed: now.duration_since(self.started_at),
            start_rate,
            completion_rate,
            recent_latency: self.recent_latency,
            rate_limited_rate,
            server: stats.server,
            server_at: self.server_at,
            held_by_server: live.held_total,
            errors: stats.errors.top(),
            endpoints: stats.endpoints.top(SNAPSHOT_ENDPOINTS),
        }
    }

    /// Every quarter of a second: the last second's latency, ending at
    /// most a quarter of a second ago, summed into one histogram kept for
    /// the purpose; the oldest quarter, emptied, becomes the current one,
    /// so the four histograms are allocated once per run.
    fn roll_latency(&mut self, stats: &mut Stats, now: Instant) {
        if now.duration_since(self.window_start) < QUARTER {
            return;
        }
        self.second.clear();
        self.second.add(&stats.window_latency);
        for quarter in &self.past_quarters {
            self.second.add(quarter);
        }
        self.recent_latency = self.second.percentiles();
        let fresh = match self.past_quarters.len() {
            3 => {
                let mut oldest = self.past_quarters.pop_front().expect("three");
                oldest.clear();
                oldest
            }
            _ => LatencyHistogram::default(),
        };
        let done = std::mem::replace(&mut stats.window_latency, fresh);
        self.past_quarters.push_back(done);
        self.window_start = now;
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

/// Rates over the last second from periodic samples of counters.
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
