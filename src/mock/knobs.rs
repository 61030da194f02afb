//! The mock's behaviour knobs: latency, injected faults, rate limits and
//! concurrency limits, global and per route, all changeable while it runs.
//!
//! The same shape is read from a TOML scenario file, from CLI flags, and
//! from `PUT /__control` (JSON, merged into the current knobs; `null`
//! clears a value). Values are validated on the way in, so a running
//! server only ever holds good knobs.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::batch::parse_duration;

/// The routes whose behaviour can be tuned, by name.
pub const ROUTES: &[&str] = &[
    "inventory",
    "anything",
    "status",
    "delay",
    "bytes",
    "drip",
    "geocode",
    "batch",
];

/// All knobs. Route settings override `global` ones for that route; rate
/// and concurrency limits apply at both levels (a global bucket shared by
/// all routes, and one per route).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Knobs {
    #[serde(default)]
    pub global: RouteKnobs,
    #[serde(default)]
    pub routes: BTreeMap<String, RouteKnobs>,
    #[serde(default)]
    pub jobs: JobKnobs,
}

impl Default for Knobs {
    /// The built-in defaults: `/inventory` answers after 200 ms (as the
    /// Python write-up's mock does); everything else at once.
    fn default() -> Self {
        let inventory = RouteKnobs {
            latency: Some(Latency::Fixed(Duration::from_millis(200))),
            ..RouteKnobs::default()
        };
        Self {
            global: RouteKnobs::default(),
            routes: BTreeMap::from([("inventory".to_owned(), inventory)]),
            jobs: JobKnobs::default(),
        }
    }
}

/// Knobs of one route (or of all, under `global`). Unset = no effect.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteKnobs {
    /// Added before answering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<Latency>,
    /// Probability of answering with a 5xx from `error_statuses`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_rate: Option<f64>,
    /// Which 5xx codes `error_rate` answers with (default 500 and 503).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_statuses: Option<Vec<u16>>,
    /// Probability of closing the connection without any response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_rate: Option<f64>,
    /// Probability of sending only half of the body, then closing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncate_rate: Option<f64>,
    /// A token bucket: `"50/s"`, `"50/s,burst=10"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// Each key its own bucket of `rate_limit` (an API key's limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_by: Option<LimitBy>,
    /// Answer 503 while more than this many requests are in flight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent: Option<u64>,
    /// Requests per second the route can serve: beyond it requests queue,
    /// so latency climbs with load and no 429 is ever sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<f64>,
}

/// The cost of an async batch job (`POST /batch/geocode`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobKnobs {
    /// Fixed time every job takes.
    #[serde(with = "duration_text")]
    pub overhead: Duration,
    /// Extra time per item.
    #[serde(with = "duration_text")]
    pub per_item: Duration,
    /// How long a finished job's results stay available.
    #[serde(with = "duration_text")]
    pub ttl: Duration,
}

impl Default for JobKnobs {
    fn default() -> Self {
        Self {
            overhead: Duration::from_millis(500),
            per_item: Duration::from_millis(10),
            ttl: Duration::from_secs(300),
        }
    }
}

/// How long to wait before answering.
#[derive(Debug, Clone, PartialEq)]
pub enum Latency {
    Fixed(Duration),
    /// Uniform in `[min, max]`.
    Uniform(Duration, Duration),
    /// One of the durations, drawn by weight.
    Weighted(Vec<(Duration, u32)>),
}

impl Latency {
    /// Draws one latency.
    pub fn sample(&self) -> Duration {
        match self {
            Latency::Fixed(d) => *d,
            Latency::Uniform(lo, hi) => *lo + (*hi - *lo).mul_f64(fastrand::f64()),
            Latency::Weighted(choices) => {
                let total: u32 = choices.iter().map(|(_, w)| w).sum();
                let mut pick = fastrand::u32(0..total.max(1));
                for (d, w) in choices {
                    if pick < *w {
                        return *d;
                    }
                    pick -= w;
                }
                choices.last().map_or(Duration::ZERO, |(d, _)| *d)
            }
        }
    }
}

impl FromStr for Latency {
    type Err = String;

    /// `"200ms"`, `"10ms..50ms"` or `"10ms:90,500ms:10"`.
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if let Some((lo, hi)) = s.split_once("..") {
            let (lo, hi) = (parse_duration(lo)?, parse_duration(hi)?);
            if lo > hi {
                return Err(format!(
                    "latency range {s:?}: the minimum is above the maximum"
                ));
            }
            return Ok(Latency::Uniform(lo, hi));
        }
        if s.contains(':') {
            let choices = s
                .split(',')
                .map(|part| {
                    let (d, w) = part
                        .split_once(':')
                        .ok_or_else(|| format!("latency {s:?}: expected DURATION:WEIGHT items like \"10ms:90,500ms:10\""))?;
                    let weight = w.trim().parse::<u32>().map_err(|_| format!("latency {s:?}: weight {w:?} is not a whole number"))?;
                    Ok((parse_duration(d)?, weight))
                })
                .collect::<Result<Vec<_>, String>>()?;
            if choices.iter().map(|(_, w)| w).sum::<u32>() == 0 {
                return Err(format!("latency {s:?}: the weights add up to 0"));
            }
            return Ok(Latency::Weighted(choices));
        }
        Ok(Latency::Fixed(parse_duration(s)?))
    }
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = |d: &Duration| humantime::format_duration(*d).to_string();
        match self {
            Latency::Fixed(x) => f.write_str(&d(x)),
            Latency::Uniform(lo, hi) => write!(f, "{}..{}", d(lo), d(hi)),
            Latency::Weighted(choices) => {
                let parts: Vec<String> = choices
                    .iter()
                    .map(|(x, w)| format!("{}:{w}", d(x)))
                    .collect();
                f.write_str(&parts.join(","))
            }
        }
    }
}

/// A rate limit: by default a token bucket, `rate` tokens per second
/// holding at most `burst`; with `fixed_window`, a counter of `rate`
/// requests per one-second window that starts afresh each second (the
/// other common limiter, which allows a burst at each window's start).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub rate: f64,
    pub burst: u32,
    pub fixed_window: bool,
}

impl FromStr for RateLimit {
    type Err = String;

    /// `"50"`, `"50/s"`, `"0.5/s"`, `"50/s,burst=10"`, `"50/s,window=fixed"`.
    fn from_str(s: &str) -> Result<Self, String> {
        let mut parts = s.split(',');
        let rate_text = parts.next().unwrap_or("").trim();
        let rate = rate_text
            .trim_end_matches("/s")
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|r| r.is_finite() && *r > 0.0)
            .ok_or_else(|| {
                format!("rate limit {s:?}: expected a rate like \"50/s\" or \"50/s,burst=10\"")
            })?;
        let mut burst = 1;
        let mut fixed_window = false;
        for part in parts {
            match part.trim() {
                "window=fixed" => {
                    fixed_window = true;
                    continue;
                }
                "window=bucket" => continue,
                _ => {}
            }
            let value = part.trim().strip_prefix("burst=").ok_or_else(|| {
                format!("rate limit {s:?}: unknown option {part:?} (known: burst=N, window=fixed)")
            })?;
            burst = value
                .parse::<u32>()
                .ok()
                .filter(|b| *b >= 1)
                .ok_or_else(|| format!("rate limit {s:?}: burst must be a whole number >= 1"))?;
        }
        Ok(RateLimit {
            rate,
            burst,
            fixed_window,
        })
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/s,burst={}", self.rate, self.burst)?;
        if self.fixed_window {
            write!(f, ",window=fixed")?;
        }
        Ok(())
    }
}

/// What a keyed limit tells callers apart by: a request header or a
/// query parameter (`header:X-Api-Key`, `query:key`). Requests without it
/// share one bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitBy {
    Header(String),
    Query(String),
}

impl FromStr for LimitBy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().split_once(':') {
            Some(("header", name)) if !name.trim().is_empty() => {
                Ok(LimitBy::Header(name.trim().to_ascii_lowercase()))
            }
            Some(("query", name)) if !name.trim().is_empty() => {
                Ok(LimitBy::Query(name.trim().to_owned()))
            }
            _ => Err(format!(
                "limit by {s:?}: expected header:NAME or query:NAME (e.g. header:X-Api-Key)"
            )),
        }
    }
}

impl fmt::Display for LimitBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitBy::Header(name) => write!(f, "header:{name}"),
            LimitBy::Query(name) => write!(f, "query:{name}"),
        }
    }
}

macro_rules! serde_via_text {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = match Value::deserialize(d)? {
                    Value::String(s) => s,
                    Value::Number(n) => n.to_string(),
                    other => {
                        return Err(serde::de::Error::custom(format!(
                            "expected a string, got {other}"
                        )));
                    }
                };
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

serde_via_text!(Latency);
serde_via_text!(RateLimit);
serde_via_text!(LimitBy);

mod duration_text {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_duration(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        crate::batch::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

impl Knobs {
    /// Checks what serde cannot: probabilities, status codes, route names.
    pub fn validate(&self) -> Result<(), String> {
        for name in self.routes.keys() {
            if !ROUTES.contains(&name.as_str()) {
                return Err(format!(
                    "unknown route `{name}`: expected one of {}",
                    ROUTES.join(", ")
                ));
            }
        }
        let all = std::iter::once(("global", &self.global))
            .chain(self.routes.iter().map(|(k, v)| (k.as_str(), v)));
        for (name, knobs) in all {
            for (field, p) in [
                ("error_rate", knobs.error_rate),
                ("close_rate", knobs.close_rate),
                ("truncate_rate", knobs.truncate_rate),
            ] {
                if let Some(p) = p
                    && !(0.0..=1.0).contains(&p)
                {
                    return Err(format!(
                        "{name}.{field} = {p}: expected a probability from 0 to 1"
                    ));
                }
            }
            if let Some(codes) = &knobs.error_statuses
                && (codes.is_empty() || codes.iter().any(|c| !(500..=599).contains(c)))
            {
                return Err(format!(
                    "{name}.error_statuses: expected a non-empty list of 5xx codes"
                ));
            }
            if knobs.max_concurrent == Some(0) {
                return Err(format!("{name}.max_concurrent: expected at least 1"));
            }
        }
        Ok(())
    }

    /// Parses a TOML scenario file's text on top of the built-in defaults.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let patch: toml::Value = toml::from_str(text).map_err(|e| e.to_string())?;
        let patch = serde_json::to_value(patch).map_err(|e| e.to_string())?;
        Knobs::default().merged(&patch)
    }

    /// These knobs with `patch` (JSON) merged in: objects merge key by key,
    /// `null` removes a value, anything else replaces it. Validated.
    pub fn merged(&self, patch: &Value) -> Result<Self, String> {
        if !patch.is_object() {
            return Err("expected a JSON object of knobs".into());
        }
        let mut current = serde_json::to_value(self).map_err(|e| e.to_string())?;
        merge(&mut current, patch);
        let knobs: Knobs = serde_path_to_error::deserialize(current).map_err(|e| {
            let path = e.path().to_string();
            format!("{path}: {}", e.into_inner())
        })?;
        knobs.validate()?;
        Ok(knobs)
    }

    /// The knobs that apply to `route`: its own, falling back to global.
    pub fn effective(&self, route: &str) -> RouteKnobs {
        let own = self.routes.get(route);
        let pick = |f: fn(&RouteKnobs) -> Option<f64>| own.and_then(f).or(f(&self.global));
        RouteKnobs {
            latency: own
                .and_then(|r| r.latency.clone())
                .or_else(|| self.global.latency.clone()),
            error_rate: pick(|r| r.error_rate),
            error_statuses: own
                .and_then(|r| r.error_statuses.clone())
                .or_else(|| self.global.error_statuses.clone()),
            close_rate: pick(|r| r.close_rate),
            truncate_rate: pick(|r| r.truncate_rate),
            // Limits are not inherited: the global ones are enforced apart.
            rate_limit: own.and_then(|r| r.rate_limit),
            limit_by: own.and_then(|r| r.limit_by.clone()),
            max_concurrent: own.and_then(|r| r.max_concurrent),
            capacity: pick(|r| r.capacity),
        }
    }
}

fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_forms() {
        assert_eq!(
            "200ms".parse::<Latency>(),
            Ok(Latency::Fixed(Duration::from_millis(200)))
        );
        let uniform: Latency = "10ms..50ms".parse().unwrap();
        for _ in 0..100 {
            let d = uniform.sample();
            assert!(d >= Duration::from_millis(10) && d <= Duration::from_millis(50));
        }
        let weighted: Latency = "10ms:90,500ms:10".parse().unwrap();
        let slow = (0..10_000)
            .filter(|_| weighted.sample() == Duration::from_millis(500))
            .count();
        assert!((700..1300).contains(&slow), "{slow}");
        assert!("50ms..10ms".parse::<Latency>().is_err());
        assert!("10ms:x".parse::<Latency>().is_err());
        assert_eq!(weighted.to_string().parse::<Latency>().unwrap(), weighted);
    }

    #[test]
    fn rate_limit_forms() {
        assert_eq!(
            "50/s".parse(),
            Ok(RateLimit {
                rate: 50.0,
                burst: 1,
                fixed_window: false
            })
        );
        assert_eq!(
            "0.5,burst=3".parse(),
            Ok(RateLimit {
                rate: 0.5,
                burst: 3,
                fixed_window: false
            })
        );
        assert!("fast".parse::<RateLimit>().is_err());
        assert!("5/s,burst=0".parse::<RateLimit>().is_err());
        assert!(
            "5/s,window=1"
                .parse::<RateLimit>()
                .unwrap_err()
                .contains("unknown option")
        );
        let fixed: RateLimit = "100/s,window=fixed".parse().unwrap();
        assert!(fixed.fixed_window);
        assert_eq!(fixed.to_string().parse(), Ok(fixed), "round trip");
    }

    #[test]
    fn merging_validates_and_null_clears() {
        let knobs = Knobs::default();
        let patched = knobs
            .merged(&serde_json::json!({"global": {"error_rate": 0.5}, "routes": {"geocode": {"rate_limit": "5/s"}}}))
            .unwrap();
        assert_eq!(patched.global.error_rate, Some(0.5));
        assert_eq!(
            patched.effective("geocode").rate_limit,
            Some(RateLimit {
                rate: 5.0,
                burst: 1,
                fixed_window: false
            })
        );
        assert_eq!(
            patched.effective("inventory").latency,
            Some(Latency::Fixed(Duration::from_millis(200)))
        );
        let cleared = patched
            .merged(&serde_json::json!({"routes": {"inventory": {"latency": null}}}))
            .unwrap();
        assert_eq!(cleared.effective("inventory").latency, None);
        assert!(
            knobs
                .merged(&serde_json::json!({"global": {"error_rate": 2}}))
                .unwrap_err()
                .contains("probability")
        );
        assert!(
            knobs
                .merged(&serde_json::json!({"routes": {"nope": {}}}))
                .unwrap_err()
                .contains("unknown route")
        );
        assert!(
            knobs
                .merged(&serde_json::json!({"global": {"latency": "soon"}}))
                .unwrap_err()
                .contains("global.latency")
        );
        assert!(
            knobs
                .merged(&serde_json::json!({"global": {"colour": 1}}))
                .unwrap_err()
                .contains("unknown field")
        );
    }

    #[test]
    fn toml_scenarios() {
        let knobs = Knobs::from_toml(
            "[global]\nlatency = \"5ms\"\nerror_rate = 0.1\n[routes.geocode]\nrate_limit = \"5/s,burst=2\"\n[jobs]\noverhead = \"1s\"\n",
        )
        .unwrap();
        assert_eq!(
            knobs.global.latency,
            Some(Latency::Fixed(Duration::from_millis(5)))
        );
        assert_eq!(
            knobs.effective("geocode").rate_limit,
            Some(RateLimit {
                rate: 5.0,
                burst: 2,
                fixed_window: false
            })
        );
        assert_eq!(knobs.jobs.overhead, Duration::from_secs(1));
        assert_eq!(knobs.jobs.per_item, JobKnobs::default().per_item);
        assert!(Knobs::from_toml("[global]\nlatency = 5ms").is_err());
    }
}
