//! The mock's rate limits and the header values that advertise them.
//!
//! A token bucket is governor's GCRA, which is exactly a rate-limited
//! API's admission rule (its remaining capacity and time until ready give
//! the RateLimit headers and Retry-After); keyed, each caller (an API key
//! in a header or the query, `limit_by`) has a bucket of its own. Its
//! clock follows the `now` each check is given, so tests drive time. A
//! fixed window (`window=fixed`) is counted here: governor has none.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};
use governor::clock::FakeRelativeClock;
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use tokio::time::Instant;

use super::knobs::{Knobs, LimitBy, RateLimit};

type Gcra = RateLimiter<
    String,
    DefaultKeyedStateStore<String>,
    FakeRelativeClock,
    StateInformationMiddleware,
>;

/// Fixed windows remembered per key at most; past it the map starts
/// over (a mock's keys are few).
const MAX_KEYS: usize = 100_000;

/// One limit: `rate` a second with at most `burst` saved up (GCRA), or
/// `rate` in each whole second (a fixed window); per key when keyed.
pub struct Bucket {
    limit: RateLimit,
    by: Option<LimitBy>,
    kind: Kind,
}

enum Kind {
    Gcra {
        limiter: Gcra,
        clock: FakeRelativeClock,
        origin: Instant,
        /// How far the clock has been moved from `origin`.
        at: Duration,
    },
    /// Per key: what is left of its window, and when its window began.
    Window {
        origin: Instant,
        keys: HashMap<String, (f64, Instant)>,
    },
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bucket")
            .field("limit", &self.limit)
            .field("by", &self.by)
            .finish_non_exhaustive()
    }
}

/// What a bucket says about a request, for the rate-limit headers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    pub allowed: bool,
    pub limit: RateLimit,
    /// Whole tokens left after this request.
    pub remaining: u64,
    /// Seconds until the next token (0 when one is there now).
    pub reset_s: f64,
}

impl Bucket {
    pub fn new(limit: RateLimit, by: Option<LimitBy>, now: Instant) -> Self {
        let kind = if limit.fixed_window {
            Kind::Window {
                origin: now,
                keys: HashMap::new(),
            }
        } else {
            let period = Duration::from_secs_f64(1.0 / limit.rate).max(Duration::from_nanos(1));
            let quota = Quota::with_period(period)
                .expect("a period above zero")
                .allow_burst(NonZeroU32::new(limit.burst.max(1)).expect("at least 1"));
            let clock = FakeRelativeClock::default();
            Kind::Gcra {
                limiter: RateLimiter::dashmap_with_clock(quota, clock.clone())
                    .with_middleware::<StateInformationMiddleware>(),
                clock,
                origin: now,
                at: Duration::ZERO,
            }
        };
        Self { limit, by, kind }
    }

    /// The caller's key for this bucket: its header's or query
    /// parameter's value; one shared key when the bucket is not keyed or
    /// the request has none.
    pub fn key(&self, headers: &HeaderMap, query: Option<&str>) -> String {
        let found = match &self.by {
            None => None,
            Some(LimitBy::Header(name)) => headers
                .get(name.as_str())
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            Some(LimitBy::Query(name)) => query.and_then(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.into_owned())
            }),
        };
        found.unwrap_or_default()
    }

    pub fn check(&mut self, key: &str, now: Instant) -> Verdict {
        let limit = self.limit;
        match &mut self.kind {
            Kind::Gcra {
                limiter,
                clock,
                origin,
                at,
            } => {
                // The clock moves to `now` (never back).
                let target = now.saturating_duration_since(*origin);
                if target > *at {
                    clock.advance(target - *at);
                    *at = target;
                }
                let period = 1.0 / limit.rate;
                match limiter.check_key(&key.to_owned()) {
                    Ok(state) => {
                        let remaining = u64::from(state.remaining_burst_capacity());
                        Verdict {
                            allowed: true,
                            limit,
                            remaining,
                            reset_s: if remaining >= 1 { 0.0 } else { period },
                        }
                    }
                    Err(not_until) => {
                        use governor::clock::Clock;
                        Verdict {
                            allowed: false,
                            limit,
                            remaining: 0,
                            reset_s: not_until.wait_time_from(clock.now()).as_secs_f64(),
                        }
                    }
                }
            }
            Kind::Window { origin, keys } => {
                if keys.len() >= MAX_KEYS && !keys.contains_key(key) {
                    keys.clear();
                }
                let quota = limit.rate.round().max(1.0);
                let (tokens, last) = keys.entry(key.to_owned()).or_insert((quota, *origin));
                check_window(quota, tokens, last, limit, now)
            }
        }
    }
}

/// A fixed window: `quota` requests in each whole second counted from
/// the bucket's start (`last` marks the current window's start and
/// `tokens` what is left of it).
fn check_window(
    quota: f64,
    tokens: &mut f64,
    last: &mut Instant,
    limit: RateLimit,
    now: Instant,
) -> Verdict {
    let passed = now.saturating_duration_since(*last);
    if passed >= Duration::from_secs(1) {
        *last += Duration::from_secs(passed.as_secs());
        *tokens = quota;
    }
    let allowed = *tokens >= 1.0;
    if allowed {
        *tokens -= 1.0;
    }
    let window_end = *last + Duration::from_secs(1);
    Verdict {
        allowed,
        limit,
        remaining: *tokens as u64,
        reset_s: window_end.saturating_duration_since(now).as_secs_f64(),
    }
}

/// The global bucket and one per limited route, rebuilt (full) whenever
/// the knobs change.
#[derive(Debug, Default)]
pub struct Limiters {
    global: Option<Bucket>,
    routes: HashMap<String, Bucket>,
}

impl Limiters {
    pub fn new(knobs: &Knobs, now: Instant) -> Self {
        Self {
            global: knobs
                .global
                .rate_limit
                .map(|l| Bucket::new(l, knobs.global.limit_by.clone(), now)),
            routes: knobs
                .routes
                .iter()
                .filter_map(|(name, r)| {
                    Some((
                        name.clone(),
                        Bucket::new(r.rate_limit?, r.limit_by.clone(), now),
                    ))
                })
                .collect(),
        }
    }

    /// Checks the global bucket, then the route's, each for the caller's
    /// key (`headers`, `query`). The verdict returned is the one that
    /// refused, or else the tighter one (fewer remaining), or `None` when
    /// the route is not limited at all.
    pub fn check(
        &mut self,
        route: &str,
        headers: &HeaderMap,
        query: Option<&str>,
        now: Instant,
    ) -> Option<Verdict> {
        let global = self.global.as_mut().map(|b| {
            let key = b.key(headers, query);
            b.check(&key, now)
        });
        if global.is_some_and(|v| !v.allowed) {
            return global;
        }
        let own = self.routes.get_mut(route).map(|b| {
            let key = b.key(headers, query);
            b.check(&key, now)
        });
        match (global, own) {
            (Some(g), Some(o)) => Some(if !o.allowed || o.remaining <= g.remaining {
                o
            } else {
                g
            }),
            (g, o) => o.or(g),
        }
    }
}

impl Verdict {
    /// `RateLimit-Policy`/`RateLimit` (IETF draft) and `X-RateLimit-*`.
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        let reset = self.reset_s.ceil() as u64;
        let quota = self.limit.rate.max(1.0).round() as u64;
        let mut put = |name: &'static str, value: String| {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(name, v);
            }
        };
        put("ratelimit-policy", format!("\"default\";q={quota};w=1"));
        put(
            "ratelimit",
            format!("\"default\";r={};t={reset}", self.remaining),
        );
        put("x-ratelimit-limit", quota.to_string());
        put("x-ratelimit-remaining", self.remaining.to_string());
        put("x-ratelimit-reset", reset.to_string());
        if !self.allowed {
            put("retry-after", reset.max(1).to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refills_at_its_rate_and_caps_at_burst() {
        let t0 = Instant::now();
        let mut b = Bucket::new(
            RateLimit {
                rate: 10.0,
                burst: 2,
                fixed_window: false,
            },
            None,
            t0,
        );
        let first = b.check("", t0);
        assert!(first.allowed);
        assert_eq!(first.remaining, 1);
        assert!(b.check("", t0).allowed);
        let refused = b.check("", t0);
        assert!(!refused.allowed);
        assert!((refused.reset_s - 0.1).abs() < 1e-6, "{}", refused.reset_s);
        assert!(b.check("", t0 + Duration::from_millis(100)).allowed);
        // A long idle period saves up no more than the burst.
        let later = t0 + Duration::from_secs(60);
        assert!(b.check("", later).allowed && b.check("", later).allowed);
        assert!(!b.check("", later).allowed);
    }

    #[test]
    fn each_key_has_a_bucket_of_its_own() {
        let t0 = Instant::now();
        let limit: RateLimit = "2/s,burst=2".parse().unwrap();
        let mut b = Bucket::new(limit, Some("header:X-Api-Key".parse().unwrap()), t0);
        let mut headers = HeaderMap::new();
        headers.insert("x-api-key", HeaderValue::from_static("alice"));
        assert_eq!(b.key(&headers, None), "alice");
        assert_eq!(
            b.key(&HeaderMap::new(), None),
            "",
            "no key: the shared bucket"
        );
        for key in ["alice", "bob"] {
            assert!(
                b.check(key, t0).allowed && b.check(key, t0).allowed,
                "{key}"
            );
            assert!(!b.check(key, t0).allowed, "{key}'s own burst is spent");
        }
        let by_query = Bucket::new(limit, Some("query:key".parse().unwrap()), t0);
        assert_eq!(
            by_query.key(&HeaderMap::new(), Some("a=1&key=k%201")),
            "k 1"
        );
    }

    #[test]
    fn a_fixed_window_allows_its_quota_each_second() {
        let t0 = Instant::now();
        let limit: RateLimit = "3/s,window=fixed".parse().unwrap();
        let mut b = Bucket::new(limit, None, t0);
        let ms = |n| t0 + Duration::from_millis(n);
        let mut check = |at| b.check("", at);
        // All three at once at the window's start, then nothing until it ends.
        assert!(check(ms(0)).allowed && check(ms(1)).allowed && check(ms(2)).allowed);
        let refused = check(ms(400));
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
        assert!((refused.reset_s - 0.6).abs() < 1e-9);
        assert!(check(ms(1000)).allowed, "a new window");
        assert_eq!(check(ms(1999)).remaining, 1);
        assert_eq!(check(ms(1999)).remaining, 0);
        assert!(!check(ms(1999)).allowed);
        assert!(check(ms(3500)).allowed, "windows stay on whole seconds");
        assert!((check(ms(3500)).reset_s - 0.5).abs() < 1e-9);
    }
}
