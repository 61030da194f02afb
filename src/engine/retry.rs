//! When to retry, and how long to wait first.

use std::time::Duration;

use crate::model::ErrorKind;

/// Backoff base and cap (exponential with full jitter).
pub const BACKOFF_BASE: Duration = Duration::from_millis(100);
pub const BACKOFF_CAP: Duration = Duration::from_secs(30);

/// Whether an attempt that ended like this is worth retrying: connect
/// errors, timeouts, 429 and the transient 5xx codes.
pub fn is_retryable(status: Option<u16>, error: Option<ErrorKind>) -> bool {
    match (status, error) {
        (_, Some(ErrorKind::Connect | ErrorKind::Dns | ErrorKind::Timeout)) => true,
        (Some(code), None) => matches!(code, 429 | 500 | 502 | 503 | 504),
        _ => false,
    }
}

/// Full-jitter backoff before attempt `attempt + 1` (`attempt` >= 1):
/// uniform in `[0, min(cap, base * 2^(attempt-1))]`.
pub fn backoff(attempt: u32) -> Duration {
    let ceiling = BACKOFF_BASE
        .saturating_mul(
            1u32.checked_shl(attempt.saturating_sub(1))
                .unwrap_or(u32::MAX),
        )
        .min(BACKOFF_CAP);
    ceiling.mul_f64(fastrand::f64())
}

pub use crate::signals::parse_retry_after;

/// The wait before retrying after an answer with these headers: its
/// `Retry-After`, else the backoff for `attempt`. A Retry-After longer
/// than `max_wait` is refused, with the sentence the record keeps.
pub fn retry_delay(
    headers: &std::collections::BTreeMap<String, String>,
    attempt: u32,
    max_wait: Duration,
) -> Result<Duration, String> {
    match headers
        .get("retry-after")
        .and_then(|v| parse_retry_after(v, std::time::SystemTime::now()))
    {
        Some(asked) if asked > max_wait => Err(too_long(asked, max_wait)),
        Some(asked) => Ok(asked),
        None => Ok(backoff(attempt)),
    }
}

/// What a record says when the server asked for too long a wait.
pub fn too_long(asked: Duration, max_wait: Duration) -> String {
    format!(
        "server asked to wait {} s, more than --max-wait {} s",
        asked.as_secs_f64().round(),
        max_wait.as_secs_f64().round()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_set() {
        for code in [429, 500, 502, 503, 504] {
            assert!(is_retryable(Some(code), None), "{code}");
        }
        for code in [200, 400, 404, 501] {
            assert!(!is_retryable(Some(code), None), "{code}");
        }
        assert!(is_retryable(None, Some(ErrorKind::Timeout)));
        assert!(is_retryable(None, Some(ErrorKind::Connect)));
        assert!(!is_retryable(None, Some(ErrorKind::Body)));
    }

    #[test]
    fn backoff_is_bounded() {
        for attempt in 1..40 {
            let cap = BACKOFF_BASE
                .saturating_mul(1 << (attempt - 1).min(20))
                .min(BACKOFF_CAP);
            assert!(backoff(attempt) <= cap);
        }
    }

    #[test]
    fn retry_after_forms() {
        let now = httpdate::parse_http_date("Sun, 22 Nov 2026 10:00:00 GMT").unwrap();
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Sun, 22 Nov 2026 10:00:05 GMT", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            parse_retry_after("Sun, 22 Nov 2026 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
