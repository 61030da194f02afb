//! Planned rates over time: stages held one after another (from a batch
//! file's `profile`) or a linear ramp (`--ramp 10..500/60s`). The
//! dispatcher asks for the rate at each start; past the end, the last
//! rate holds. A live limit change from the user ends the plan.

use std::time::Duration;

/// One piece of a profile: the rate goes from `from` to `to` over
/// `duration` (equal for a held stage).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    pub from: f64,
    pub to: f64,
    pub duration: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    segments: Vec<Segment>,
}

impl Profile {
    /// Rates held for a while each, in order.
    pub fn stages(stages: impl IntoIterator<Item = (f64, Duration)>) -> Result<Self, String> {
        let segments: Vec<Segment> = stages
            .into_iter()
            .map(|(rate, duration)| Segment {
                from: rate,
                to: rate,
                duration,
            })
            .collect();
        Self::new(segments)
    }

    /// From `from` to `to` per second, linearly, over `over`.
    pub fn ramp(from: f64, to: f64, over: Duration) -> Result<Self, String> {
        Self::new(vec![Segment {
            from,
            to,
            duration: over,
        }])
    }

    fn new(segments: Vec<Segment>) -> Result<Self, String> {
        if segments.is_empty() {
            return Err("a profile needs at least one stage".into());
        }
        for s in &segments {
            for rate in [s.from, s.to] {
                if !(rate.is_finite() && rate > 0.0) {
                    return Err(format!(
                        "invalid rate {rate} in a profile: expected a number of requests per second > 0"
                    ));
                }
                super::limits::check_rate(rate)?;
            }
            if s.duration.is_zero() {
                return Err("a profile stage needs a duration above 0".into());
            }
        }
        Ok(Self { segments })
    }

    /// Parses `FROM..TO/DURATION`, e.g. `10..500/60s`.
    pub fn parse_ramp(text: &str) -> Result<Self, String> {
        let bad = || format!("invalid ramp {text:?}: expected FROM..TO/DURATION, e.g. 10..500/60s");
        let (rates, over) = text.split_once('/').ok_or_else(bad)?;
        let (from, to) = rates.split_once("..").ok_or_else(bad)?;
        let from: f64 = from.trim().parse().map_err(|_| bad())?;
        let to: f64 = to.trim().parse().map_err(|_| bad())?;
        let over = humantime::parse_duration(over.trim()).map_err(|_| bad())?;
        Self::ramp(from, to, over)
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// How long the plan lasts (the last rate holds after it).
    pub fn duration(&self) -> Duration {
        self.segments.iter().map(|s| s.duration).sum()
    }

    /// Which segment is under way `elapsed` into the run (past the end,
    /// one more than the last: the last rate holds).
    pub fn segment_at(&self, elapsed: Duration) -> usize {
        let mut end = Duration::ZERO;
        for (i, s) in self.segments.iter().enumerate() {
            end += s.duration;
            if elapsed < end {
                return i;
            }
        }
        self.segments.len()
    }

    /// The planned rate `elapsed` into the run.
    pub fn rate_at(&self, elapsed: Duration) -> f64 {
        let mut start = Duration::ZERO;
        for s in &self.segments {
            let end = start + s.duration;
            if elapsed < end {
                let t = (elapsed - start).as_secs_f64() / s.duration.as_secs_f64();
                return s.from + (s.to - s.from) * t;
            }
            start = end;
        }
        self.segments.last().map_or(0.0, |s| s.to)
    }

    /// How many starts the plan makes in its first `elapsed` (the integral
    /// of the rate), to judge how closely a run followed it.
    pub fn starts_by(&self, elapsed: Duration) -> f64 {
        let mut start = Duration::ZERO;
        let mut total = 0.0;
        for s in &self.segments {
            let end = start + s.duration;
            let upto = elapsed.min(end);
            if upto > start {
                let dt = (upto - start).as_secs_f64();
                let rate_end = self.rate_at(upto.min(end - Duration::from_nanos(1)));
                total += dt * (s.from + rate_end) / 2.0;
            }
            if elapsed <= end {
                return total;
            }
            start = end;
        }
        let last = self.segments.last().map_or(0.0, |s| s.to);
        total + (elapsed - start).as_secs_f64() * last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn stages_hold_and_ramps_interpolate() {
        let p = Profile::stages([(10.0, secs(30.0)), (100.0, secs(60.0))]).unwrap();
        assert_eq!(p.rate_at(secs(0.0)), 10.0);
        assert_eq!(p.rate_at(secs(29.9)), 10.0);
        assert_eq!(p.rate_at(secs(30.0)), 100.0);
        assert_eq!(p.rate_at(secs(500.0)), 100.0, "the last rate holds");
        assert_eq!(p.duration(), secs(90.0));
        let r = Profile::parse_ramp("10..500/60s").unwrap();
        assert_eq!(r.rate_at(secs(0.0)), 10.0);
        assert!((r.rate_at(secs(30.0)) - 255.0).abs() < 1e-9);
        assert_eq!(r.rate_at(secs(61.0)), 500.0);
    }

    #[test]
    fn starts_are_the_integral_of_the_rate() {
        let r = Profile::ramp(0.5, 100.5, secs(10.0)).unwrap();
        assert!((r.starts_by(secs(10.0)) - 505.0).abs() < 1e-6);
        assert!((r.starts_by(secs(12.0)) - 706.0).abs() < 1e-6);
        let p = Profile::stages([(10.0, secs(2.0)), (50.0, secs(1.0))]).unwrap();
        assert!((p.starts_by(secs(1.0)) - 10.0).abs() < 1e-6);
        assert!((p.starts_by(secs(3.0)) - 70.0).abs() < 1e-6);
    }

    #[test]
    fn bad_ramps_are_refused_with_the_form() {
        for bad in [
            "10-500/60s",
            "10..500",
            "a..5/1s",
            "10..500/soon",
            "0..5/1s",
            "5..5/0s",
        ] {
            let e = Profile::parse_ramp(bad).unwrap_err();
            assert!(e.contains("ramp") || e.contains("profile"), "{bad}: {e}");
        }
    }
}
