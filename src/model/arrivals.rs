//! How the items of a coalescing batch arrive: what a batching layer in
//! production sees (callers' requests trickling in), so its window and
//! items per call can be tuned against a realistic stream.

use super::Profile;

/// An arrival process: a rate (items per second) or a plan of rates,
/// evenly spaced or Poisson (independent callers), repeatable by its seed.
#[derive(Debug, Clone, PartialEq)]
pub struct Arrivals {
    pub rate: ArrivalRate,
    pub pattern: Pattern,
    /// The random stream of a Poisson pattern: the same seed, the same
    /// arrival times.
    pub seed: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ArrivalRate {
    Fixed(f64),
    Profile(Profile),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pattern {
    Even,
    Poisson,
}

impl Arrivals {
    /// The rate at `elapsed` into the run.
    pub fn rate_at(&self, elapsed: std::time::Duration) -> f64 {
        match &self.rate {
            ArrivalRate::Fixed(r) => *r,
            ArrivalRate::Profile(p) => p.rate_at(elapsed),
        }
    }

    /// Parses `--arrival-rate`: `300`, `300/poisson` or `300/even`
    /// (Poisson by default, as independent callers arrive).
    pub fn parse_flag(text: &str) -> Result<Self, String> {
        let (rate, pattern) = match text.split_once('/') {
            Some((r, p)) => (r, p),
            None => (text, "poisson"),
        };
        let pattern = match pattern.trim() {
            "poisson" => Pattern::Poisson,
            "even" => Pattern::Even,
            other => {
                return Err(format!(
                    "unknown arrival pattern {other:?}: expected poisson or even"
                ));
            }
        };
        let rate: f64 = rate
            .trim()
            .parse()
            .map_err(|_| format!("invalid arrival rate {rate:?}: expected items per second"))?;
        check_rate(rate)?;
        Ok(Self {
            rate: ArrivalRate::Fixed(rate),
            pattern,
            seed: 1,
        })
    }
}

/// An arrival rate: above zero and at most a million items a second.
pub fn check_rate(rate: f64) -> Result<(), String> {
    if rate.is_finite() && rate > 0.0 && rate <= 1e6 {
        Ok(())
    } else {
        Err(format!(
            "invalid arrival rate {rate}: expected items per second above 0 (at most 1000000)"
        ))
    }
}
