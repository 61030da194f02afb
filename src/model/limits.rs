//! The two user-facing limits, and the one rule for reading a limit a
//! person typed: "0" (or "unlimited") means no limit.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The slowest rate ratebench runs: one start a day. Slower is a typo
/// (`1e-300`), and its interval would overflow a timer.
pub const MIN_RATE: f64 = 1.0 / 86_400.0;

/// A rate is in range: a finite number, 0 (unlimited) or at least
/// [`MIN_RATE`].
pub fn check_rate(r: f64) -> Result<f64, String> {
    if !r.is_finite() || r < 0.0 {
        Err(format!(
            "invalid rate {r}: expected a number of requests per second >= 0 (0 = unlimited)"
        ))
    } else if r > 0.0 && r < MIN_RATE {
        Err(format!(
            "rate {r}/s is below one start a day ({MIN_RATE:.7}/s): expected a higher rate, or 0 for unlimited"
        ))
    } else {
        Ok(r)
    }
}

/// The two limits of a run. `None` means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    /// Most requests in flight at any instant, retries included.
    pub max_at_once: Option<u64>,
    /// Most request starts per second, evenly spaced; fractions allowed.
    pub per_second: Option<f64>,
    /// Starts allowed back to back (1 = strictly evenly spaced).
    pub burst: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_at_once: Some(10),
            per_second: None,
            burst: 1,
        }
    }
}

impl Limits {
    /// Limits from plain numbers, read as [`Limit`] reads them (0 means
    /// unlimited).
    pub fn new(max_at_once: u64, per_second: f64) -> Self {
        Self {
            max_at_once: Limit::count(max_at_once).get(),
            per_second: Limit::rate(per_second).get(),
            burst: 1,
        }
    }

    pub fn with_burst(mut self, burst: u32) -> Self {
        self.burst = burst.max(1);
        self
    }
}

impl fmt::Display for Limits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.max_at_once {
            Some(n) => write!(f, "max at once {n}")?,
            None => f.write_str("max at once unlimited")?,
        }
        match self.per_second {
            Some(r) => write!(f, ", {r}/s")?,
            None => f.write_str(", rate unlimited")?,
        }
        if self.burst > 1 {
            write!(f, " (burst {})", self.burst)?;
        }
        Ok(())
    }
}

/// Who set a run's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangedBy {
    /// The run started with them.
    Start,
    /// A person, with a key or a command.
    User,
    /// The run's planned profile (a stage or a ramp began).
    Plan,
    /// Auto-tune or the probe, looking for the highest rate that holds.
    AutoTune,
}

impl ChangedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangedBy::Start => "start",
            ChangedBy::User => "user",
            ChangedBy::Plan => "plan",
            ChangedBy::AutoTune => "auto-tune",
        }
    }
}

/// A change of a run's limits: when, into the run, to what, and by whom.
/// Under a ramp, `ramp_to` is where the rate is going.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LimitChange {
    pub at_s: f64,
    pub limits: Limits,
    pub by: ChangedBy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ramp_to: Option<f64>,
}

/// A limit as a person gives it, on a flag, in a batch file or at the
/// workbench's prompt: a number, or unlimited (`None`). This type is the
/// one place where "0 means unlimited" lives: `0`, `unlimited`, `none`,
/// `inf` and `u` all read as no limit, and no limit is written back as
/// `0`, which reads back the same.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit<T>(Option<T>);

impl<T> Limit<T> {
    pub const UNLIMITED: Self = Self(None);

    /// The limit, `None` for unlimited.
    pub fn get(self) -> Option<T> {
        self.0
    }
}

impl Limit<u64> {
    /// A cap on a count (0 = unlimited).
    pub fn count(n: u64) -> Self {
        Self((n > 0).then_some(n))
    }
}

impl Limit<f64> {
    /// A rate per second (0 = unlimited). Callers check the sign first.
    pub fn rate(r: f64) -> Self {
        Self((r > 0.0).then_some(r))
    }
}

fn says_unlimited(s: &str) -> bool {
    matches!(
        s.trim().to_ascii_lowercase().as_str(),
        "unlimited" | "none" | "inf" | "u"
    )
}

impl FromStr for Limit<u64> {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if says_unlimited(s) {
            return Ok(Self::UNLIMITED);
        }
        s.trim()
            .parse()
            .map(Self::count)
            .map_err(|_| format!("expected a whole number or \"unlimited\", got {s:?}"))
    }
}

impl FromStr for Limit<f64> {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if says_unlimited(s) {
            return Ok(Self::UNLIMITED);
        }
        match s.trim().trim_end_matches("/s").parse::<f64>() {
            Ok(r) if r.is_finite() && r >= 0.0 => check_rate(r).map(Self::rate),
            _ => Err(format!(
                "expected a rate like 5, 0.5 or \"unlimited\", got {s:?}"
            )),
        }
    }
}

impl<'de> Deserialize<'de> for Limit<u64> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        u64::deserialize(d).map(Self::count)
    }
}

impl<'de> Deserialize<'de> for Limit<f64> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        check_rate(f64::deserialize(d)?)
            .map(Self::rate)
            .map_err(serde::de::Error::custom)
    }
}

impl Serialize for Limit<u64> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0.unwrap_or(0))
    }
}

impl Serialize for Limit<f64> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0.unwrap_or(0.0))
    }
}

impl<T> From<Option<T>> for Limit<T> {
    fn from(limit: Option<T>) -> Self {
        Self(limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_and_words_mean_unlimited_both_ways() {
        assert_eq!("unlimited".parse::<Limit<u64>>(), Ok(Limit::UNLIMITED));
        assert_eq!("0".parse::<Limit<u64>>(), Ok(Limit::UNLIMITED));
        assert_eq!("12".parse::<Limit<u64>>().map(Limit::get), Ok(Some(12)));
        assert!("-1".parse::<Limit<u64>>().is_err());
        assert_eq!("0.5".parse::<Limit<f64>>().map(Limit::get), Ok(Some(0.5)));
        assert_eq!(
            "100/s".parse::<Limit<f64>>().map(Limit::get),
            Ok(Some(100.0))
        );
        assert_eq!("u".parse::<Limit<f64>>(), Ok(Limit::UNLIMITED));
        assert!("-3".parse::<Limit<f64>>().is_err());
        let back: Limit<u64> =
            serde_json::from_value(serde_json::json!(Limit::<u64>::UNLIMITED)).unwrap();
        assert_eq!(back, Limit::UNLIMITED);
        assert_eq!(serde_json::to_string(&Limit::rate(2.5)).unwrap(), "2.5");
        assert!(serde_json::from_str::<Limit<f64>>("-1").is_err());
        assert_eq!(
            Limits::new(0, 0.0),
            Limits {
                max_at_once: None,
                per_second: None,
                burst: 1
            }
        );
    }
}
