//! When the next item arrives: even spacing or Poisson (exponential gaps
//! from a seeded stream), at a rate that may change while the run goes.
//! Times are scheduled from the previous arrival, not from when the
//! dispatcher woke, so a late wake-up never slows the stream down.

use std::time::Duration;

use tokio::time::Instant;

#[cfg(test)]
use crate::model::ArrivalRate;
use crate::model::{Arrivals, Pattern};

/// The arrival clock of a run.
#[derive(Debug)]
pub(super) struct Schedule {
    spec: Arrivals,
    /// A live rate, replacing the spec's (a fixed rate or its plan).
    live: Option<f64>,
    rng: fastrand::Rng,
    began: Instant,
    /// The next arrival is `offset` seconds after `anchor`: summed as
    /// seconds, not as rounded durations, so the rate does not drift.
    anchor: Instant,
    offset: f64,
}

impl Schedule {
    /// The first item arrives at the start.
    pub(super) fn new(spec: Arrivals, began: Instant) -> Self {
        Self {
            rng: fastrand::Rng::with_seed(spec.seed),
            spec,
            live: None,
            began,
            anchor: began,
            offset: 0.0,
        }
    }

    /// When the next item arrives.
    pub(super) fn next(&self) -> Instant {
        self.anchor + Duration::from_secs_f64(self.offset)
    }

    /// The rate now (items per second).
    pub(super) fn rate(&self, now: Instant) -> f64 {
        self.live
            .unwrap_or_else(|| self.spec.rate_at(now.saturating_duration_since(self.began)))
    }

    /// The next item has arrived: schedule the one after it.
    pub(super) fn advance(&mut self) {
        let rate = self.rate(self.next()).max(1e-9);
        let gap = match self.spec.pattern {
            Pattern::Even => 1.0 / rate,
            // Exponential gaps: a Poisson stream. 1 - u is in (0, 1].
            Pattern::Poisson => -(1.0 - self.rng.f64()).ln() / rate,
        };
        self.offset += gap.min(1e6);
    }

    /// A live change: from now on, this rate (a plan ends). The next
    /// arrival moves to where the new rate puts it.
    pub(super) fn set_rate(&mut self, rate: f64, now: Instant) {
        let old = self.rate(now);
        let next = self.next();
        self.live = Some(rate);
        if next > now && old > 0.0 {
            // The part of the gap still to go, at the new rate.
            let left = next.duration_since(now).as_secs_f64() * old / rate;
            self.anchor = now;
            self.offset = left.min(1e6);
        }
    }

    /// After a pause: arrivals that fell in it do not all come at once.
    pub(super) fn resume(&mut self, now: Instant) {
        if self.next() < now {
            self.anchor = now;
            self.offset = 0.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(pattern: Pattern, rate: f64, secs: f64, seed: u64) -> usize {
        let began = Instant::now();
        let mut s = Schedule::new(
            Arrivals {
                rate: ArrivalRate::Fixed(rate),
                pattern,
                seed,
            },
            began,
        );
        let end = began + Duration::from_secs_f64(secs);
        let mut n = 0;
        while s.next() < end {
            n += 1;
            s.advance();
        }
        n
    }

    #[test]
    fn the_stream_keeps_its_rate_and_a_seed_repeats_it() {
        assert_eq!(count(Pattern::Even, 300.0, 10.0, 1), 3000);
        // A Poisson count over 10 s varies by its square root (1.8 % of
        // 3,000) from seed to seed; seed 7's is within 1 %, every time.
        let poisson = count(Pattern::Poisson, 300.0, 10.0, 7);
        assert!((poisson as f64 - 3000.0).abs() < 3000.0 * 0.01, "{poisson}");
        assert_eq!(poisson, count(Pattern::Poisson, 300.0, 10.0, 7));
        assert_ne!(poisson, count(Pattern::Poisson, 300.0, 10.0, 8));
    }
}
