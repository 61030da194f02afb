//! What a server says about its rate limits, read from response headers.
//!
//! Forms understood, per response:
//! - `Retry-After`: delta-seconds or an HTTP date;
//! - the IETF draft (draft-ietf-httpapi-ratelimit-headers) in its three
//!   shapes: structured fields `RateLimit-Policy: "default";q=100;w=60` and
//!   `RateLimit: "default";r=50;t=30` (drafts 08+), the dictionary
//!   `RateLimit: limit=100, remaining=50, reset=30` with
//!   `RateLimit-Policy: 100;w=60` (drafts 06–07), and the separate
//!   `RateLimit-Limit` / `-Remaining` / `-Reset` fields (drafts up to 05);
//! - the common legacy `X-RateLimit-Limit` / `-Remaining` / `-Reset` and
//!   `X-Rate-Limit-*`. Their reset is either seconds from now or a Unix
//!   timestamp (GitHub, Twitter): a value past 10^9 is a timestamp in
//!   seconds, past 10^12 one in milliseconds.
//!
//! The draft's fields win over the legacy ones when a server sends both.
//! A malformed value is ignored on its own; it never fails the response.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The rate-limit signals of one response; every part is optional.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ServerLimits {
    /// Requests allowed per window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// The window, in seconds, when the server names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_s: Option<f64>,
    /// Requests left in the current window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u64>,
    /// Seconds until the window resets (a timestamp is converted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_s: Option<f64>,
    /// Seconds to wait before trying again, from `Retry-After`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<f64>,
}

/// Whether a header (lower-case name) may carry a rate-limit signal.
pub fn is_signal_header(name: &str) -> bool {
    name == "retry-after"
        || name.starts_with("ratelimit")
        || name.starts_with("x-ratelimit")
        || name.starts_with("x-rate-limit")
}

impl ServerLimits {
    /// Reads the signals among `headers` (lower-case names); `None` when
    /// there are none. `now` converts dates and timestamps to seconds.
    pub fn from_headers<'a>(
        headers: impl IntoIterator<Item = (&'a str, &'a str)>,
        now: SystemTime,
    ) -> Option<Self> {
        let mut draft = ServerLimits::default();
        let mut legacy = ServerLimits::default();
        let mut found = false;
        for (name, value) in headers {
            let value = value.trim();
            match name {
                "retry-after" => {
                    draft.retry_after_s = parse_retry_after(value, now).map(|d| d.as_secs_f64());
                }
                "ratelimit-policy" => draft.merge_policy(value),
                "ratelimit" => draft.merge_ratelimit(value),
                "ratelimit-limit" => draft.limit = leading_integer(value),
                "ratelimit-remaining" => draft.remaining = leading_integer(value),
                "ratelimit-reset" => draft.reset_s = seconds(value),
                "x-ratelimit-limit" | "x-rate-limit-limit" => legacy.limit = leading_integer(value),
                "x-ratelimit-remaining" | "x-rate-limit-remaining" => {
                    legacy.remaining = leading_integer(value)
                }
                "x-ratelimit-reset" | "x-rate-limit-reset" => legacy.reset_s = reset(value, now),
                _ => continue,
            }
            found = true;
        }
        if !found {
            return None;
        }
        let merged = ServerLimits {
            limit: draft.limit.or(legacy.limit),
            window_s: draft.window_s.or(legacy.window_s),
            remaining: draft.remaining.or(legacy.remaining),
            reset_s: draft.reset_s.or(legacy.reset_s),
            retry_after_s: draft.retry_after_s,
        };
        (merged != ServerLimits::default()).then_some(merged)
    }

    /// The advertised limit as a rate, when both quota and window are known.
    pub fn per_second(&self) -> Option<f64> {
        match (self.limit, self.window_s) {
            (Some(limit), Some(window)) if window > 0.0 => Some(limit as f64 / window),
            _ => None,
        }
    }

    /// How long the server asks new requests to wait, if at all: its
    /// Retry-After, or the reset when nothing is left in the window.
    pub fn hold(&self) -> Option<Duration> {
        let secs = match (self.retry_after_s, self.remaining, self.reset_s) {
            (Some(retry), _, _) => retry,
            (None, Some(0), Some(reset)) => reset,
            _ => return None,
        };
        (secs > 0.0).then(|| Duration::from_secs_f64(secs.min(3600.0)))
    }

    /// `RateLimit-Policy`: the first policy's quota and window, either as
    /// `"name";q=100;w=60` or as `100;w=60`.
    fn merge_policy(&mut self, value: &str) {
        let Some(first) = split_list(value).next() else {
            return;
        };
        let (item, params) = split_item(first);
        if let Some(q) = leading_integer(item) {
            self.limit = Some(q);
        }
        for (key, v) in params {
            match key {
                "q" => self.limit = leading_integer(v).or(self.limit),
                "w" => self.window_s = seconds(v).filter(|w| *w > 0.0).or(self.window_s),
                _ => {}
            }
        }
    }

    /// `RateLimit`: `"name";r=50;t=30` (structured) or
    /// `limit=100, remaining=50, reset=30` (dictionary).
    fn merge_ratelimit(&mut self, value: &str) {
        for member in split_list(value) {
            let (item, params) = split_item(member);
            if let Some((key, v)) = item.split_once('=') {
                match key.trim() {
                    "limit" => self.limit = leading_integer(v).or(self.limit),
                    "remaining" => self.remaining = leading_integer(v).or(self.remaining),
                    "reset" => self.reset_s = seconds(v).or(self.reset_s),
                    _ => {}
                }
                continue;
            }
            for (key, v) in params {
                match key {
                    "r" => self.remaining = leading_integer(v).or(self.remaining),
                    "t" => self.reset_s = seconds(v).or(self.reset_s),
                    _ => {}
                }
            }
            // Structured form: the first policy is the one that counts.
            if self.remaining.is_some() || self.reset_s.is_some() {
                return;
            }
        }
    }
}

/// `Retry-After`: delta-seconds or an HTTP date (a date in the past is 0).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Some(secs) = seconds(value) {
        return Some(Duration::from_secs_f64(secs.min(86_400.0)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A legacy reset: seconds from now, a Unix timestamp (seconds or
/// milliseconds), or an HTTP date.
fn reset(value: &str, now: SystemTime) -> Option<f64> {
    let Some(n) = seconds(value) else {
        let at = httpdate::parse_http_date(value).ok()?;
        return Some(at.duration_since(now).unwrap_or_default().as_secs_f64());
    };
    let epoch_s = if n >= 1e12 {
        n / 1000.0
    } else if n >= 1e9 {
        n
    } else {
        return Some(n);
    };
    let now_s = now.duration_since(UNIX_EPOCH).ok()?.as_secs_f64();
    Some((epoch_s - now_s).max(0.0))
}

/// A non-negative finite number of seconds.
fn seconds(value: &str) -> Option<f64> {
    let n: f64 = value.trim().parse().ok()?;
    (n.is_finite() && n >= 0.0).then_some(n)
}

/// The integer a value starts with: `100` in `100`, `100, 100;w=60`.
fn leading_integer(value: &str) -> Option<u64> {
    let value = value.trim();
    let end = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let digits = &value[..end];
    let rest = value[end..].trim_start();
    // "100abc" is malformed; "100, ..." and "100;w=60" are lists.
    if digits.is_empty() || !(rest.is_empty() || rest.starts_with([',', ';'])) {
        return None;
    }
    digits.parse().ok()
}

/// The members of a comma-separated list (quotes respected).
fn split_list(value: &str) -> impl Iterator<Item = &str> {
    let mut in_quotes = false;
    value
        .split(move |c: char| {
            if c == '"' {
                in_quotes = !in_quotes;
            }
            c == ',' && !in_quotes
        })
        .map(str::trim)
        .filter(|m| !m.is_empty())
}

/// An item and its `;key=value` parameters.
fn split_item(member: &str) -> (&str, impl Iterator<Item = (&str, &str)>) {
    let mut parts = member.split(';');
    let item = parts.next().unwrap_or("").trim();
    let params = parts.filter_map(|p| {
        let (k, v) = p.split_once('=')?;
        Some((k.trim(), v.trim().trim_matches('"')))
    });
    (item, params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_800_000_000)
    }

    fn read(headers: &[(&str, &str)]) -> Option<ServerLimits> {
        ServerLimits::from_headers(headers.iter().copied(), now())
    }

    #[test]
    fn structured_draft_fields() {
        let s = read(&[
            (
                "ratelimit-policy",
                "\"default\";q=100;w=60, \"daily\";q=1000;w=86400",
            ),
            ("ratelimit", "\"default\";r=50;t=30"),
        ])
        .unwrap();
        assert_eq!(s.limit, Some(100));
        assert_eq!(s.window_s, Some(60.0));
        assert_eq!(s.remaining, Some(50));
        assert_eq!(s.reset_s, Some(30.0));
        assert!((s.per_second().unwrap() - 100.0 / 60.0).abs() < 1e-9);
    }

    #[test]
    fn dictionary_draft_fields() {
        let s = read(&[
            ("ratelimit", "limit=10, remaining=0, reset=7"),
            ("ratelimit-policy", "10;w=1"),
        ])
        .unwrap();
        assert_eq!(
            (s.limit, s.remaining, s.reset_s),
            (Some(10), Some(0), Some(7.0))
        );
        assert_eq!(s.per_second(), Some(10.0));
        assert_eq!(s.hold(), Some(Duration::from_secs(7)));
    }

    #[test]
    fn separate_draft_fields_win_over_legacy() {
        let s = read(&[
            ("x-ratelimit-limit", "999"),
            ("ratelimit-limit", "100"),
            ("ratelimit-remaining", "3"),
            ("ratelimit-reset", "12"),
        ])
        .unwrap();
        assert_eq!(
            (s.limit, s.remaining, s.reset_s),
            (Some(100), Some(3), Some(12.0))
        );
    }

    #[test]
    fn legacy_reset_as_delta_or_timestamp() {
        let delta = read(&[("x-ratelimit-reset", "30")]).unwrap();
        assert_eq!(delta.reset_s, Some(30.0));
        let epoch = read(&[("x-ratelimit-reset", "1800000045")]).unwrap();
        assert_eq!(epoch.reset_s, Some(45.0));
        let epoch_ms = read(&[("x-rate-limit-reset", "1800000002500")]).unwrap();
        assert_eq!(epoch_ms.reset_s, Some(2.5));
        let past = read(&[("x-ratelimit-reset", "1700000000")]).unwrap();
        assert_eq!(past.reset_s, Some(0.0));
        let s = read(&[
            ("x-rate-limit-limit", "100, 100;w=60"),
            ("x-rate-limit-remaining", "99"),
        ])
        .unwrap();
        assert_eq!((s.limit, s.remaining), (Some(100), Some(99)));
    }

    #[test]
    fn retry_after_seconds_or_date() {
        let s = read(&[("retry-after", "120")]).unwrap();
        assert_eq!(s.retry_after_s, Some(120.0));
        assert_eq!(s.hold(), Some(Duration::from_secs(120)));
        let date = httpdate::fmt_http_date(now() + Duration::from_secs(90));
        let s = read(&[("retry-after", &date)]).unwrap();
        assert_eq!(s.retry_after_s, Some(90.0));
        let past = httpdate::fmt_http_date(now() - Duration::from_secs(90));
        assert_eq!(
            read(&[("retry-after", &past)]).unwrap().retry_after_s,
            Some(0.0)
        );
    }

    #[test]
    fn malformed_values_are_ignored_one_by_one() {
        for bad in ["soon", "-5", "1e999", "NaN", "12abc", ""] {
            assert_eq!(read(&[("retry-after", bad)]), None, "{bad:?}");
            assert_eq!(read(&[("x-ratelimit-limit", bad)]), None, "{bad:?}");
        }
        let s = read(&[
            ("x-ratelimit-limit", "lots"),
            ("x-ratelimit-remaining", "4"),
            ("ratelimit-policy", "\"p\";q=;w=x"),
            ("ratelimit", "garbage;;;=="),
        ])
        .unwrap();
        assert_eq!(s.limit, None);
        assert_eq!(s.window_s, None);
        assert_eq!(s.remaining, Some(4));
        assert_eq!(read(&[("content-type", "text/plain")]), None);
    }

    #[test]
    fn no_hold_while_requests_remain() {
        let s = read(&[("x-ratelimit-remaining", "5"), ("x-ratelimit-reset", "9")]).unwrap();
        assert_eq!(s.hold(), None);
        let s = read(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "9")]).unwrap();
        assert_eq!(s.hold(), Some(Duration::from_secs(9)));
    }
}
