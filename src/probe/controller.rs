//! The adaptive controller that finds the highest rate a server sustains.
//!
//! Fed one [`Observation`] a second (what the last second's responses
//! said), it moves `per_second`:
//! - **climb**: double the rate while responses are fine and latency is
//!   flat (never past the rate the server advertises, if it does);
//! - **back off**: on throttling (429s, 503s, timeouts beyond a small
//!   share, or latency risen past a threshold and still rising), note the
//!   rate as too high, drop to half the last good rate for a second so
//!   queues drain, then try between the good and the bad rate;
//! - **narrow**: each trial lasts two seconds; a clean trial raises the
//!   good rate, a throttled one lowers the bad one, until they are within
//!   4 % of each other;
//! - **hold**: the good rate must then hold for the window (10 s by
//!   default) without throttling; it is the recommendation. A throttled
//!   second while holding sends it back to narrowing, lower.
//!
//! Pure logic, no clock and no network, so it is tested with made-up
//! servers, and both the TUI and `ratebench probe` drive it.

use std::time::Duration;

use serde::Serialize;

use crate::stats::StatsSnapshot;

/// What the controller aims for and how long it may take.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeConfig {
    /// The first rate tried.
    pub start: f64,
    /// Never try above this.
    pub max: f64,
    /// How long the best rate must hold to be recommended.
    pub window: Duration,
    /// Give up narrowing after this long and recommend the best so far.
    pub max_time: Duration,
    /// Share of responses that may be throttled in a second that still
    /// counts as fine (a no-burst limiter refuses a few on timing alone).
    pub tolerance: f64,
    /// Latency (p50) above this multiple of the quietest second's counts
    /// as the server slowing down.
    pub latency_factor: f64,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        Self {
            start: 5.0,
            max: 100_000.0,
            window: Duration::from_secs(10),
            max_time: Duration::from_secs(120),
            tolerance: 0.03,
            latency_factor: 1.5,
        }
    }
}

/// One second of what the server said.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Observation {
    /// Answers (every attempt: a retried 429 counts).
    pub completed: u64,
    /// Of those, accepted ones (status below 400).
    pub ok: u64,
    /// Answered 429 or 503, or timed out.
    pub throttled: u64,
    /// Median and p99 latency of the second's responses, in ms.
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// The rate the server advertises (RateLimit-Policy, quota/window).
    pub advertised: Option<f64>,
    /// How long the observation covers.
    pub seconds: f64,
}

impl Observation {
    /// What happened between two stats snapshots of the same run.
    pub fn between(before: &StatsSnapshot, after: &StatsSnapshot) -> Self {
        // Every answer counts, retried ones too: a 429 that is retried is
        // the server refusing as much as one that is final.
        let (a, b) = (&before.totals.answers, &after.totals.answers);
        let throttled = |x: &crate::stats::Answers| {
            let timeouts = x.by_error.get(&crate::model::ErrorKind::Timeout);
            x.status(429) + x.status(503) + timeouts.copied().unwrap_or(0)
        };
        let delta = |f: fn(&crate::stats::Answers) -> u64| f(b).saturating_sub(f(a));
        Self {
            completed: delta(|x| x.total),
            ok: delta(|x| x.accepted()),
            throttled: throttled(b).saturating_sub(throttled(a)),
            p50_ms: after.recent_latency.p50,
            p99_ms: after.recent_latency.p99,
            advertised: after.server.and_then(|s| s.per_second()),
            seconds: after.elapsed.saturating_sub(before.elapsed).as_secs_f64(),
        }
    }

    fn throttled_share(&self) -> f64 {
        if self.completed == 0 {
            0.0
        } else {
            self.throttled as f64 / self.completed as f64
        }
    }
}

/// Where the search is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Climb,
    /// A second well below the good rate, so queues drain.
    Recover,
    Narrow,
    Hold,
    Done,
}

/// The answer: a rate and a cap to use, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    pub per_second: f64,
    pub max_at_once: u64,
    /// How long the rate held without throttling.
    pub held_s: f64,
    /// Share of answers throttled while it held, in percent, and the
    /// counts behind it.
    pub throttled_pct: f64,
    #[serde(default)]
    pub answers: u64,
    #[serde(default)]
    pub throttled: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Whether it held for the whole window (else: the best before time ran out).
    pub settled: bool,
    /// The rate the server advertised, if it did.
    pub advertised: Option<f64>,
}

/// The controller's answer to an observation.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Use this rate from now on.
    Rate(f64),
    /// The search is over.
    Done(Recommendation),
}

/// How a second went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Fine,
    Throttled,
    /// Latency high but falling: a queue draining; not judged yet.
    Draining,
}

/// Trial length in seconds while narrowing.
const TRIAL: u32 = 2;
/// Extra seconds a draining trial may take before it counts as throttled.
const DRAIN_GRACE: u32 = 3;
/// The most seconds spent recovering before trying again anyway.
const RECOVER_MAX: u32 = 5;
/// Latency must rise by at least this much (as well as by the factor) to
/// count: on a fast local server a few milliseconds are noise.
const SLOWER_BY_MS: f64 = 10.0;
/// Narrowing stops when the good and bad rates are this close.
const CLOSE_ENOUGH: f64 = 0.04;

#[derive(Debug, Clone)]
pub struct Controller {
    config: ProbeConfig,
    phase: Phase,
    rate: f64,
    /// The highest rate that held a trial, and the lowest that did not.
    good: Option<f64>,
    bad: Option<f64>,
    /// The rate to try after recovering.
    next: f64,
    /// Seconds into the current trial or hold, and of those, draining.
    ticks: u32,
    draining: u32,
    /// Latency of the quietest fine second: the baseline.
    baseline_p50: Option<f64>,
    last_p50: Option<f64>,
    /// Totals over the hold.
    held: Observation,
    held_p99: f64,
    elapsed: f64,
    advertised: Option<f64>,
    /// The last verdict came from latency alone (no refusals).
    slowed: bool,
    /// What the current trial has seen so far.
    trial: Observation,
    /// Bad seconds in a row while holding.
    strikes: u32,
    /// The rate of the current run of fine seconds, and how long it is.
    fine_run: (f64, f64),
    /// The highest rate that held a whole second or more, and for how
    /// long it held (its longest run of fine seconds).
    best_held: Option<(f64, f64)>,
}

impl Controller {
    pub fn new(config: ProbeConfig) -> Self {
        let rate = config.start.min(config.max).max(0.1);
        Self {
            config,
            phase: Phase::Climb,
            rate,
            good: None,
            bad: None,
            next: rate,
            ticks: 0,
            draining: 0,
            baseline_p50: None,
            last_p50: None,
            held: Observation::default(),
            held_p99: 0.0,
            elapsed: 0.0,
            advertised: None,
            slowed: false,
            trial: Observation::default(),
            strikes: 0,
            fine_run: (rate, 0.0),
            best_held: None,
        }
    }

    /// The highest rate that held (a second or more without throttling)
    /// and for how many seconds: what a search cut short can vouch for.
    pub fn best_held(&self) -> Option<(f64, f64)> {
        self.best_held
    }

    /// Notes how the second at `rate` went, for [`Controller::best_held`].
    fn note(&mut self, rate: f64, verdict: Verdict, seconds: f64) {
        if verdict != Verdict::Fine {
            self.fine_run = (rate, 0.0);
            return;
        }
        if self.fine_run.0 == rate {
            self.fine_run.1 += seconds;
        } else {
            self.fine_run = (rate, seconds);
        }
        let (rate, held) = self.fine_run;
        if held >= 1.0
            && self
                .best_held
                .is_none_or(|(b, h)| rate > b || (rate == b && held > h))
        {
            self.best_held = Some((rate, held));
        }
    }

    /// The rate to send at now.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The highest rate that has held a trial so far.
    pub fn best(&self) -> Option<f64> {
        self.good
    }

    fn judge(&mut self, o: &Observation) -> Verdict {
        self.slowed = false;
        // One refusal a second is within any tolerance: at low rates a
        // single early arrival would otherwise be a few percent.
        if o.throttled > 1 && o.throttled_share() > self.config.tolerance {
            return Verdict::Throttled;
        }
        let p50 = o.p50_ms;
        let rising = self.last_p50.is_some_and(|last| p50 > last * 1.1);
        let slow = self.baseline_p50.is_some_and(|base| {
            p50 > base * self.config.latency_factor && p50 > base + SLOWER_BY_MS
        });
        self.slowed = slow;
        if o.completed > 0 {
            self.last_p50 = Some(p50);
        }
        match (slow, rising) {
            (true, true) => Verdict::Throttled,
            (true, false) => Verdict::Draining,
            _ => {
                if o.completed > 0 && p50 > 0.0 {
                    self.baseline_p50 = Some(self.baseline_p50.map_or(p50, |b| b.min(p50)));
                }
                Verdict::Fine
            }
        }
    }

    /// Takes one second's observation; says the rate to use next, or that
    /// the search is done.
    pub fn observe(&mut self, o: &Observation) -> Step {
        self.elapsed += o.seconds;
        if o.advertised.is_some() {
            self.advertised = o.advertised;
        }
        let verdict = self.judge(o);
        self.note(self.rate, verdict, o.seconds);
        match self.phase {
            Phase::Done => return Step::Done(self.recommend(true)),
            Phase::Climb => match verdict {
                Verdict::Fine => {
                    self.good = Some(self.rate);
                    let ceiling = self
                        .advertised
                        .unwrap_or(f64::INFINITY)
                        .min(self.config.max);
                    if self.rate >= ceiling {
                        // At the advertised limit and fine: that is the answer to check.
                        self.start_hold();
                    } else {
                        // Told the limit, start near it rather than far below.
                        let near = self.advertised.map_or(0.0, |a| a / 4.0);
                        self.rate = (self.rate * 2.0).max(near).min(ceiling);
                    }
                }
                Verdict::Throttled | Verdict::Draining => {
                    // The good rates' answers tell where the limit is: a
                    // limiter passes about its rate whatever is offered.
                    let passed = o.ok as f64 / o.seconds.max(0.1);
                    self.too_high(Some(passed));
                }
            },
            Phase::Recover => {
                self.ticks += 1;
                // Stay low until the server is quiet again (a queue built
                // while overloaded takes a while to drain), within reason.
                if verdict != Verdict::Fine && self.ticks < RECOVER_MAX {
                    return self.keep_going();
                }
                self.phase = Phase::Narrow;
                self.rate = self.next;
                self.ticks = 0;
                self.draining = 0;
                self.trial = Observation::default();
            }
            Phase::Narrow => {
                self.ticks += 1;
                self.trial.completed += o.completed;
                self.trial.throttled += o.throttled;
                // Refusals are judged over the whole trial, so a stray one
                // or two in a second do not decide it; latency, each second.
                let refused = self.trial.throttled >= 2
                    && self.trial.throttled_share() > self.config.tolerance;
                let verdict = match verdict {
                    Verdict::Throttled if !self.slowed && !refused => Verdict::Fine,
                    v => v,
                };
                match verdict {
                    Verdict::Throttled => self.too_high(None),
                    Verdict::Draining if self.draining < DRAIN_GRACE => {
                        self.draining += 1;
                        self.ticks -= 1;
                    }
                    Verdict::Draining => self.too_high(None),
                    Verdict::Fine if self.ticks >= TRIAL => {
                        self.good = Some(self.good.map_or(self.rate, |g| g.max(self.rate)));
                        self.next_trial();
                    }
                    Verdict::Fine => {}
                }
            }
            Phase::Hold => {
                self.ticks += 1;
                // One bad second while holding is noise (latency wanders at
                // the knee; a busy client sends a few starts early); two in
                // a row are the server pushing back.
                let slow_once = verdict != Verdict::Fine && self.strikes == 0;
                self.strikes = if verdict == Verdict::Fine {
                    0
                } else {
                    self.strikes + 1
                };
                match verdict {
                    Verdict::Throttled | Verdict::Draining if !slow_once => {
                        self.good = Some(self.rate * 0.95);
                        self.bad = Some(self.rate);
                        self.next = self.rate * 0.95;
                        self.recover();
                    }
                    _ => {
                        self.held.completed += o.completed;
                        self.held.ok += o.ok;
                        self.held.throttled += o.throttled;
                        self.held.seconds += o.seconds;
                        self.held.p50_ms = o.p50_ms;
                        self.held_p99 = self.held_p99.max(o.p99_ms);
                        if self.held.seconds >= self.config.window.as_secs_f64() - 0.05 {
                            // Over the whole window the refusals must stay
                            // within the tolerance too, not just each second.
                            if self.held.throttled >= 2
                                && self.held.throttled_share() > self.config.tolerance
                            {
                                self.good = Some(self.rate * 0.95);
                                self.bad = Some(self.rate);
                                self.next = self.rate * 0.95;
                                self.recover();
                                return self.keep_going();
                            }
                            self.phase = Phase::Done;
                            return Step::Done(self.recommend(true));
                        }
                    }
                }
            }
        }
        self.keep_going()
    }

    /// The next rate, unless time is up.
    fn keep_going(&mut self) -> Step {
        if self.elapsed >= self.config.max_time.as_secs_f64() {
            self.phase = Phase::Done;
            return Step::Done(self.recommend(false));
        }
        Step::Rate(self.rate)
    }

    /// The current rate is too high: remember it, estimate the limit from
    /// what got through (when known), and recover before trying again.
    fn too_high(&mut self, passed: Option<f64>) {
        let bad = self.bad.map_or(self.rate, |b| b.min(self.rate));
        self.bad = Some(bad);
        // Failing right at the good rate means it was not good after all
        // (one fine second can hide the start of an overload).
        if self
            .good
            .is_some_and(|g| self.rate <= g * (1.0 + CLOSE_ENOUGH))
        {
            self.good = Some(self.rate * 0.9);
        }
        let good = self.good.unwrap_or(self.config.start.min(bad) * 0.5);
        self.next = match passed {
            // Trust the estimate only inside the bracket.
            Some(p) if p > good && p < bad => p * 0.98,
            _ => (good + bad) / 2.0,
        };
        self.recover();
    }

    fn recover(&mut self) {
        self.phase = Phase::Recover;
        self.rate = (self.good.unwrap_or(self.rate) * 0.5).max(0.1);
        self.ticks = 0;
    }

    fn next_trial(&mut self) {
        let good = self.good.unwrap_or(self.rate);
        match self.bad {
            Some(bad) if (bad - good) / bad > CLOSE_ENOUGH => {
                self.rate = (good + bad) / 2.0;
                self.ticks = 0;
                self.draining = 0;
                self.trial = Observation::default();
            }
            Some(_) => self.start_hold(),
            None => {
                // Never throttled: keep climbing from here.
                self.phase = Phase::Climb;
                self.rate = (good * 2.0).min(self.config.max);
            }
        }
    }

    fn start_hold(&mut self) {
        self.phase = Phase::Hold;
        self.strikes = 0;
        self.rate = self.good.unwrap_or(self.rate);
        self.ticks = 0;
        self.held = Observation::default();
        self.held_p99 = 0.0;
    }

    /// The best answer so far.
    pub fn recommend(&self, settled: bool) -> Recommendation {
        let per_second = if self.phase == Phase::Hold || settled {
            self.rate
        } else {
            self.good.unwrap_or(self.rate)
        };
        let per_second = (per_second * 10.0).floor() / 10.0;
        let p99_s = self.held_p99.max(self.held.p50_ms) / 1000.0;
        // Little's law with headroom: enough slots for the rate at p99 latency.
        let max_at_once = ((per_second * p99_s * 1.5).ceil() as u64).max(1);
        Recommendation {
            per_second,
            max_at_once,
            held_s: self.held.seconds,
            throttled_pct: if self.held.completed == 0 {
                0.0
            } else {
                100.0 * self.held.throttled as f64 / self.held.completed as f64
            },
            answers: self.held.completed,
            throttled: self.held.throttled,
            p50_ms: self.held.p50_ms,
            p99_ms: self.held_p99,
            settled,
            advertised: self.advertised,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A made-up server: a no-burst limiter at `limit`/s that refuses
    /// what is sent above it, with flat latency.
    fn limiter(limit: f64) -> impl Fn(f64) -> Observation {
        move |rate: f64| {
            // In thousandths, so low rates do not round their refusals away.
            let sent = (rate * 1000.0).round() as u64;
            let ok = sent.min((limit * 1000.0).round() as u64);
            Observation {
                completed: sent,
                ok,
                throttled: sent - ok,
                p50_ms: 5.0,
                p99_ms: 9.0,
                advertised: None,
                seconds: 1.0,
            }
        }
    }

    fn run(server: impl Fn(f64) -> Observation, config: ProbeConfig) -> (Recommendation, f64) {
        let mut c = Controller::new(config);
        for second in 1..=300 {
            let o = server(c.rate());
            if let Step::Done(r) = c.observe(&o) {
                return (r, second as f64);
            }
        }
        panic!("never settled");
    }

    #[test]
    fn finds_a_limiters_rate() {
        for limit in [50.0, 200.0, 1000.0, 7.0] {
            let (r, took) = run(limiter(limit), ProbeConfig::default());
            assert!(r.settled, "{limit}: {r:?}");
            // The tolerance lets a rate a hair above an exact limiter pass
            // (at most 3 % of its answers refused); never more.
            assert!(
                r.per_second <= limit * 1.031 && r.per_second >= limit * 0.9,
                "{limit}: recommended {} after {took}s",
                r.per_second
            );
            assert!(took < 60.0, "{limit}: took {took}s");
            assert!(r.throttled_pct <= 3.0, "{r:?}");
        }
    }

    #[test]
    fn an_advertised_rate_caps_the_climb() {
        let limit = 200.0;
        let server = move |rate: f64| Observation {
            advertised: Some(limit),
            ..limiter(limit)(rate)
        };
        let (r, took) = run(server, ProbeConfig::default());
        assert!(r.per_second >= 190.0 && r.per_second <= 200.0, "{r:?}");
        assert_eq!(r.advertised, Some(200.0));
        assert!(took < 30.0, "took {took}s");
    }

    #[test]
    fn stops_at_the_knee_of_a_server_that_only_slows_down() {
        // Latency flat up to 120/s, then climbing with the overload.
        let knee = 120.0;
        let server = move |rate: f64| {
            let over = (rate / knee - 1.0).max(0.0);
            Observation {
                completed: rate.round() as u64,
                ok: rate.round() as u64,
                throttled: 0,
                p50_ms: 10.0 + 400.0 * over,
                p99_ms: 15.0 + 600.0 * over,
                advertised: None,
                seconds: 1.0,
            }
        };
        let mut c = Controller::new(ProbeConfig::default());
        // The server's latency rises from one second to the next while over.
        let mut overload: f64 = 0.0;
        let mut done = None;
        for _ in 0..300 {
            let rate = c.rate();
            overload = if rate > knee {
                overload + (rate / knee - 1.0)
            } else {
                (overload - (1.0 - rate / knee)).max(0.0)
            };
            let mut o = server(rate);
            o.p50_ms = 10.0 + 400.0 * overload;
            if let Step::Done(r) = c.observe(&o) {
                done = Some(r);
                break;
            }
        }
        let r = done.expect("settled");
        assert!(r.per_second <= knee && r.per_second >= knee * 0.9, "{r:?}");
    }

    #[test]
    fn gives_up_at_max_time_with_the_best_so_far() {
        let config = ProbeConfig {
            max_time: Duration::from_secs(8),
            ..ProbeConfig::default()
        };
        let (r, took) = run(limiter(1000.0), config);
        assert!(!r.settled);
        assert!(took <= 8.0);
        assert!(r.per_second > 0.0);
    }

    #[test]
    fn recommends_a_cap_from_the_rate_and_latency() {
        let server = |rate: f64| Observation {
            p50_ms: 200.0,
            p99_ms: 400.0,
            ..limiter(50.0)(rate)
        };
        let (r, _) = run(server, ProbeConfig::default());
        // ~49/s at 0.4 s p99 is ~20 in flight, with half again for headroom.
        assert!((25..=32).contains(&r.max_at_once), "{r:?}");
    }
}
