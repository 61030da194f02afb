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
    rates: RateMeter<RATES>,
    /// Latency over the last second as four quarter-second slices: when
    /// the current slice (`Stats::window_latency`) began, and the three
    /// before it.
    window_start: Instant,
    past_quarters: VecDeque<LatencyHistogram>,
    /// The four quarters summed, reused at each rotation.
    second: LatencyHistogram,
    recent_latency: Percentiles,
    /// The lowest p50 of a whole second's answers so far: the server's
    /// latency when it is not straining.
    quietest_p50: Option<f64>,
    /// When the latest rate-limit signals arrived, into the run.
    pub(super) server_at: Option<Duration>,
}

/// Counters the rates are taken of, in this order.
const RATES: usize = 7;

/// Refusals above this share of a second's answers mean the server is
/// what limits the run.
pub const REFUSED_SHARE: f64 = 0.05;
/// Latency this many times its quietest (and [`SLOWER_BY_MS`] more) while
/// neither limit binds means the server is straining.
pub const SLOWER_FACTOR: f64 = 1.5;
pub const SLOWER_BY_MS: f64 = 10.0;

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
            quietest_p50: None,
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
        let a = &stats.answers;
        let [
            start_rate,
            completion_rate,
            answer_rate,
            accepted_rate,
            refused_rate,
            rate_limited_rate,
            server_error_rate,
        ] = self.rates.sample(
            now,
            [
                live.started,
                stats.done,
                a.total,
                a.accepted(),
                a.refused,
                a.status(429),
                a.class(500),
            ],
        );
        self.roll_latency(stats, now);
        let refused_share = if answer_rate > 0.0 {
            refused_rate / answer_rate
        } else {
            0.0
        };
        let slowing = self.slowing();
        let judged = judge(Judging {
            state: live.control.state,
            limits: live.control.limits,
            start_rate,
            in_flight: live.in_flight,
            held_by_server: live.held_now,
            refused_share,
            slowing,
        });
        StatsSnapshot {
            state: state.unwrap_or(live.control.state),
            limits: live.control.limits,
            binding: judged,
            refused_share,
            slowing,
            total: self.total,
            totals: stats.totals(),
            started: live.started,
            in_flight: live.in_flight,
            max_in_flight: live.max_in_flight,
            connections: live.connections,
            retries: live.retries,
            retrying: live.retrying,
            jobs_pending: live.jobs_pending,
            oldest_job: live.oldest_job,
            batches: stats.batches.stats(),
            elapsed: now.duration_since(self.started_at),
            start_rate,
            completion_rate,
            answer_rate,
            accepted_rate,
            refused_rate,
            server_error_rate,
            recent_latency: self.recent_latency,
            rate_limited_rate,
            server: stats.server,
            server_at: self.server_at,
            held_by_server: live.held_total,
            hold_left: live.hold_left,
            next_retry_in: live.next_retry_in,
            errors: stats.errors.top(),
            endpoints: stats.endpoints.top(SNAPSHOT_ENDPOINTS),
        }
    }

    /// How many times its quietest the last second's latency is, when it
    /// has risen enough to say the server strains.
    fn slowing(&self) -> Option<f64> {
        let (now, low) = (self.recent_latency.p50, self.quietest_p50?);
        (low > 0.0 && now > low * SLOWER_FACTOR && now > low + SLOWER_BY_MS).then(|| now / low)
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
        if !self.second.is_empty() && self.past_quarters.len() == 3 {
            let p50 = self.recent_latency.p50;
            self.quietest_p50 = Some(self.quietest_p50.map_or(p50, |q| q.min(p50)));
        }
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

/// What the binding limit is judged from: the last second.
#[derive(Debug, Clone, Copy)]
pub struct Judging {
    pub state: RunState,
    pub limits: Limits,
    pub start_rate: f64,
    pub in_flight: u64,
    /// `respect_limits` is holding new starts because the server asked.
    pub held_by_server: bool,
    /// Refusals' share of the last second's answers.
    pub refused_share: f64,
    /// The last second's latency as a multiple of its quietest, when it
    /// has risen enough to count.
    pub slowing: Option<f64>,
}

/// Which limit is holding the run back, judged over the last second (the
/// instant view flips each time a slot frees, so it is not used). The
/// server binds when it holds the run (`respect_limits`) or refuses more
/// than a small share of answers, whatever the client's limits; then the
/// rate, when starts keep up with it; then the cap, when in flight is at
/// it; then the server again, when its latency climbs. Else nothing binds:
/// requests go as fast as the server answers them.
pub fn judge(j: Judging) -> Binding {
    match j.state {
        RunState::Paused => return Binding::Paused,
        RunState::Running => {}
        _ => return Binding::None,
    }
    if j.held_by_server || j.refused_share > REFUSED_SHARE {
        Binding::Server
    } else if j.limits.per_second.is_some_and(|r| j.start_rate >= 0.9 * r) {
        Binding::Rate
    } else if j
        .limits
        .max_at_once
        .is_some_and(|c| j.in_flight >= c.saturating_sub(1).max(1))
    {
        Binding::MaxAtOnce
    } else if j.slowing.is_some() {
        Binding::Server
    } else {
        Binding::None
    }
}

/// Rates over the last second from periodic samples of counters.
#[derive(Debug)]
pub struct RateMeter<const N: usize> {
    samples: VecDeque<(Instant, [u64; N])>,
}

impl<const N: usize> Default for RateMeter<N> {
    fn default() -> Self {
        Self {
            samples: VecDeque::new(),
        }
    }
}

impl<const N: usize> RateMeter<N> {
    /// Adds a sample of `N` counters and returns their rates per second
    /// over about the last second.
    pub fn sample(&mut self, now: Instant, counts: [u64; N]) -> [f64; N] {
        self.samples.push_back((now, counts));
        while self.samples.len() > 2
            && now.duration_since(self.samples[1].0) >= Duration::from_secs(1)
        {
            self.samples.pop_front();
        }
        let (t0, c0) = self.samples[0];
        let dt = now.duration_since(t0).as_secs_f64();
        if dt <= 0.0 {
            return [0.0; N];
        }
        std::array::from_fn(|i| counts[i].saturating_sub(c0[i]) as f64 / dt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(state: RunState, limits: Limits, start_rate: f64, in_flight: u64) -> Judging {
        Judging {
            state,
            limits,
            start_rate,
            in_flight,
            held_by_server: false,
            refused_share: 0.0,
            slowing: None,
        }
    }

    #[test]
    fn the_binding_limit_is_judged_over_rates() {
        let limits = Limits::new(10, 100.0);
        let running = |rate, in_flight| at(RunState::Running, limits, rate, in_flight);
        assert_eq!(judge(running(99.0, 4)), Binding::Rate);
        assert_eq!(judge(running(49.0, 10)), Binding::MaxAtOnce);
        assert_eq!(judge(running(49.0, 9)), Binding::MaxAtOnce);
        assert_eq!(judge(running(30.0, 3)), Binding::None, "nothing binds");
        assert_eq!(judge(at(RunState::Paused, limits, 0.0, 0)), Binding::Paused);
        assert_eq!(judge(at(RunState::Done, limits, 99.0, 0)), Binding::None);
        assert_eq!(
            judge(at(RunState::Running, Limits::new(0, 0.0), 5000.0, 64)),
            Binding::None
        );
    }

    #[test]
    fn the_server_binds_when_it_refuses_holds_or_slows() {
        let limits = Limits::new(10, 50.0);
        let base = at(RunState::Running, limits, 50.0, 4);
        assert_eq!(judge(base), Binding::Rate);
        // At the rate, but a third of the answers refused: the server.
        let refusing = Judging {
            refused_share: 0.38,
            ..base
        };
        assert_eq!(judge(refusing), Binding::Server);
        // A stray refusal is no limit.
        let stray = Judging {
            refused_share: 0.02,
            ..base
        };
        assert_eq!(judge(stray), Binding::Rate);
        let held = Judging {
            held_by_server: true,
            ..base
        };
        assert_eq!(judge(held), Binding::Server);
        // Below both limits, latency climbing: the server.
        let slowing = Judging {
            start_rate: 20.0,
            slowing: Some(2.0),
            ..base
        };
        assert_eq!(judge(slowing), Binding::Server);
        // Latency up while the rate binds: the rate is what holds it.
        let paced = Judging {
            slowing: Some(2.0),
            ..base
        };
        assert_eq!(judge(paced), Binding::Rate);
    }
}
