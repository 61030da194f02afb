//! Start pacing: at most `per_second` starts per second, evenly spaced.
//!
//! This is GCRA (the algorithm behind `governor`) with one change: the
//! schedule is absolute. `governor` computes the next slot from *now*, so a
//! timer that wakes late (tokio timers are millisecond-grained) loses that
//! lateness for good and the achieved rate sags at high rates: measured in
//! BENCHMARKS.md. Here, a start that is late by at most [`LATE_TOLERANCE`]
//! still advances the schedule by exactly one interval, keeping the long-run
//! mean exact; a start later than that (the run was held by max-at-once,
//! paused, or idle) restarts the schedule from now, so no catch-up burst is
//! ever released beyond the tolerance's few slots.
//!
//! Rule: a start at `now` conforms iff `now >= tat - (burst - 1) * interval`,
//! where `tat` is the theoretical arrival time of the next start.

use std::time::Duration;

use tokio::time::Instant;

/// How late a start may be and still count as on schedule.
pub const LATE_TOLERANCE: Duration = Duration::from_millis(5);

#[derive(Debug, Clone)]
pub struct Pacer {
    /// Time between starts; `None` = unlimited.
    interval: Option<Duration>,
    burst: u32,
    tat: Instant,
    last_start: Option<Instant>,
}

impl Pacer {
    pub fn new(per_second: Option<f64>, burst: u32, now: Instant) -> Self {
        Self {
            interval: interval(per_second),
            burst: burst.max(1),
            tat: now,
            last_start: None,
        }
    }

    /// The earliest instant the next start conforms (`None`: unlimited).
    pub fn ready_at(&self) -> Option<Instant> {
        let interval = self.interval?;
        Some(
            self.tat
                .checked_sub(interval * (self.burst - 1))
                .unwrap_or(self.tat),
        )
    }

    /// Takes a start slot if one is free at `now`.
    pub fn try_acquire(&mut self, now: Instant) -> bool {
        let Some(interval) = self.interval else {
            self.last_start = Some(now);
            return true;
        };
        if self.ready_at().is_some_and(|ready| now < ready) {
            return false;
        }
        if now.saturating_duration_since(self.tat) > LATE_TOLERANCE {
            self.tat = now;
        }
        self.tat += interval;
        self.last_start = Some(now);
        true
    }

    /// Changes the spacing of starts from the next one on, keeping the
    /// schedule (for a planned profile, which moves the rate a little at
    /// every start).
    pub fn retune(&mut self, per_second: f64) {
        self.interval = interval(Some(per_second));
    }

    /// Applies a new rate from the next start: the next start is one new
    /// interval after the last one, but never earlier than now (no burst).
    pub fn set_rate(&mut self, per_second: Option<f64>, burst: u32, now: Instant) {
        self.interval = interval(per_second);
        self.burst = burst.max(1);
        let next = match (self.last_start, self.interval) {
            (Some(last), Some(interval)) => last + interval,
            _ => now,
        };
        self.tat = next.max(now);
    }

    /// Restarts the schedule from `now` (after a pause): no catch-up.
    pub fn reset(&mut self, now: Instant) {
        self.tat = self.tat.max(now);
    }
}

fn interval(per_second: Option<f64>) -> Option<Duration> {
    per_second
        .filter(|r| r.is_finite() && *r > 0.0)
        // Rates are checked where they are read (at least one a day);
        // a slower one that got through waits a day, never panics.
        .map(|r| {
            Duration::try_from_secs_f64(1.0 / r).map_or(Duration::from_secs(86_400), |d| {
                d.min(Duration::from_secs(86_400))
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn spaces_starts_evenly_with_burst_one() {
        let t0 = Instant::now();
        let mut p = Pacer::new(Some(10.0), 1, t0);
        assert!(p.try_acquire(t0));
        assert!(!p.try_acquire(t0 + ms(50)));
        assert_eq!(p.ready_at(), Some(t0 + ms(100)));
        assert!(p.try_acquire(t0 + ms(100)));
    }

    #[test]
    fn late_wakeups_within_tolerance_keep_the_schedule() {
        let t0 = Instant::now();
        let mut p = Pacer::new(Some(1000.0), 1, t0);
        // Wake only every 2 ms (a coarse timer): both due slots are taken.
        let mut started = 0;
        for tick in 0..1000u64 {
            let now = t0 + ms(2 * tick);
            while p.try_acquire(now) {
                started += 1;
            }
        }
        // 2 s at 1000/s: 2000 starts (give or take the final slot).
        assert!((1999..=2001).contains(&started), "{started}");
    }

    #[test]
    fn a_long_hold_releases_no_burst() {
        let t0 = Instant::now();
        let mut p = Pacer::new(Some(100.0), 1, t0);
        assert!(p.try_acquire(t0));
        let later = t0 + Duration::from_secs(5);
        assert!(p.try_acquire(later));
        assert!(
            !p.try_acquire(later),
            "a second start right away would be a catch-up burst"
        );
    }

    #[test]
    fn rate_change_applies_from_the_next_start() {
        let t0 = Instant::now();
        let mut p = Pacer::new(Some(1.0), 1, t0);
        assert!(p.try_acquire(t0));
        // Raise to 10/s 50 ms later: next start at t0 + 100 ms, not t0 + 1 s.
        p.set_rate(Some(10.0), 1, t0 + ms(50));
        assert_eq!(p.ready_at(), Some(t0 + ms(100)));
        // Lower to 0.5/s: next start 2 s after the last one.
        assert!(p.try_acquire(t0 + ms(100)));
        p.set_rate(Some(0.5), 1, t0 + ms(150));
        assert_eq!(p.ready_at(), Some(t0 + ms(2100)));
    }

    #[test]
    fn explicit_burst_allows_back_to_back_starts() {
        let t0 = Instant::now();
        let mut p = Pacer::new(Some(10.0), 3, t0);
        assert!(p.try_acquire(t0));
        assert!(p.try_acquire(t0));
        assert!(p.try_acquire(t0));
        assert!(!p.try_acquire(t0));
    }

    #[test]
    fn unlimited_always_conforms() {
        let t0 = Instant::now();
        let mut p = Pacer::new(None, 1, t0);
        assert!((0..1000).all(|_| p.try_acquire(t0)));
        assert_eq!(p.ready_at(), None);
    }
}
