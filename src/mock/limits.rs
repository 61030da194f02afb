//! Token buckets for the mock's rate limits, and the header values that
//! advertise them.

use std::collections::HashMap;

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};
use tokio::time::Instant;

use super::knobs::{Knobs, RateLimit};

/// One token bucket: `rate` tokens a second, at most `burst` saved up.
#[derive(Debug)]
pub struct Bucket {
    limit: RateLimit,
    tokens: f64,
    last: Instant,
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
    pub fn new(limit: RateLimit, now: Instant) -> Self {
        Self {
            limit,
            tokens: if limit.fixed_window {
                limit.rate.round().max(1.0)
            } else {
                f64::from(limit.burst)
            },
            last: now,
        }
    }

    pub fn check(&mut self, now: Instant) -> Verdict {
        if self.limit.fixed_window {
            return self.check_window(now);
        }
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.limit.rate).min(f64::from(self.limit.burst));
        self.last = now;
        let allowed = self.tokens >= 1.0;
        if allowed {
            self.tokens -= 1.0;
        }
        let reset_s = if self.tokens >= 1.0 {
            0.0
        } else {
            (1.0 - self.tokens) / self.limit.rate
        };
        Verdict {
            allowed,
            limit: self.limit,
            remaining: self.tokens.floor() as u64,
            reset_s,
        }
    }
}

impl Bucket {
    /// A fixed window: `rate` requests in each whole second counted from
    /// the bucket's start (`last` marks the current window's start and
    /// `tokens` what is left of it).
    fn check_window(&mut self, now: Instant) -> Verdict {
        let quota = self.limit.rate.round().max(1.0);
        let passed = now.saturating_duration_since(self.last);
        if passed >= Duration::from_secs(1) {
            self.last += Duration::from_secs(passed.as_secs());
            self.tokens = quota;
        }
        let allowed = self.tokens >= 1.0;
        if allowed {
            self.tokens -= 1.0;
        }
        let window_end = self.last + Duration::from_secs(1);
        Verdict {
            allowed,
            limit: self.limit,
            remaining: self.tokens as u64,
            reset_s: window_end.saturating_duration_since(now).as_secs_f64(),
        }
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
            global: knobs.global.rate_limit.map(|l| Bucket::new(l, now)),
            routes: knobs
                .routes
                .iter()
                .filter_map(|(name, r)| Some((name.clone(), Bucket::new(r.rate_limit?, now))))
                .collect(),
        }
    }

    /// Checks the global bucket, then the route's. The verdict returned is
    /// the one that refused, or else the tighter one (fewer remaining), or
    /// `None` when the route is not limited at all.
    pub fn check(&mut self, route: &str, now: Instant) -> Option<Verdict> {
        let global = self.global.as_mut().map(|b| b.check(now));
        if global.is_some_and(|v| !v.allowed) {
            return global;
        }
        let own = self.routes.get_mut(route).map(|b| b.check(now));
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
            t0,
        );
        assert!(b.check(t0).allowed);
        assert!(b.check(t0).allowed);
        let refused = b.check(t0);
        assert!(!refused.allowed);
        assert!((refused.reset_s - 0.1).abs() < 1e-9);
        assert!(b.check(t0 + Duration::from_millis(100)).allowed);
        // A long idle period saves up no more than the burst.
        let later = t0 + Duration::from_secs(60);
        assert!(b.check(later).allowed && b.check(later).allowed);
        assert!(!b.check(later).allowed);
    }

    #[test]
    fn a_fixed_window_allows_its_quota_each_second() {
        let t0 = Instant::now();
        let limit: RateLimit = "3/s,window=fixed".parse().unwrap();
        let mut b = Bucket::new(limit, t0);
        let ms = |n| t0 + Duration::from_millis(n);
        // All three at once at the window's start, then nothing until it ends.
        assert!(b.check(ms(0)).allowed && b.check(ms(1)).allowed && b.check(ms(2)).allowed);
        let refused = b.check(ms(400));
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
        assert!((refused.reset_s - 0.6).abs() < 1e-9);
        assert!(b.check(ms(1000)).allowed, "a new window");
        assert_eq!(b.check(ms(1999)).remaining, 1);
        assert_eq!(b.check(ms(1999)).remaining, 0);
        assert!(!b.check(ms(1999)).allowed);
        assert!(b.check(ms(3500)).allowed, "windows stay on whole seconds");
        assert!((b.check(ms(3500)).reset_s - 0.5).abs() < 1e-9);
    }
}
