//! The result record: one per request, failures included.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a request failed below HTTP (a response with an error status has a
/// `status` and no `error_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    Timeout,
    Connect,
    Dns,
    Reset,
    Tls,
    Body,
    Redirect,
    /// Stopped by the user before it finished.
    Cancelled,
    /// The request could not be built (e.g. a data row changed since load).
    Invalid,
    /// A bug in ratebench (a request task panicked).
    Internal,
    Other,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Timeout => "timeout",
            ErrorKind::Connect => "connect",
            ErrorKind::Dns => "dns",
            ErrorKind::Reset => "reset",
            ErrorKind::Tls => "tls",
            ErrorKind::Body => "body",
            ErrorKind::Redirect => "redirect",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Invalid => "invalid",
            ErrorKind::Internal => "internal",
            ErrorKind::Other => "other",
        }
    }
}

impl fmt::Display for ErrorKind {
    /// Honours width and alignment (`{:<10}`), as `str` does.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// The outcome of one request (its last attempt, with the attempt count).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// Input row: position in the expanded batch.
    pub index: u64,
    pub name: Option<String>,
    pub method: String,
    /// The URL with key-like query values redacted (unless opted out).
    pub url: String,
    pub status: Option<u16>,
    /// A response with status below 400 and no error.
    pub ok: bool,
    pub error_kind: Option<ErrorKind>,
    pub error: Option<String>,
    pub attempts: u32,
    /// When the last attempt was sent (RFC 3339, microseconds, UTC).
    pub started_at: Option<String>,
    /// Ready to dispatch → sent, for the last attempt: time held by limits.
    pub wait_ms: f64,
    /// Sent → full body read, for the last attempt.
    pub latency_ms: Option<f64>,
    pub bytes: u64,
    /// Selected response headers (lower-case names): Retry-After,
    /// RateLimit*, X-RateLimit*, X-Rate-Limit*, Content-Type; with
    /// `--keep-body`, all of them (secret ones redacted).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The rate-limit signals among those headers, parsed (limit,
    /// remaining, reset, Retry-After); absent when there were none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<crate::signals::ServerLimits>,
    /// For an item sent in a batch call: which call, and what it cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<BatchInfo>,
    /// For an item sent in a batch call: its own result from the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    /// The response body (lossy UTF-8), when `--keep-body` asked for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// What was sent, when `--keep-body` asked for it (a HAR needs it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<SentRequest>,
    /// The attempts before the last one, oldest first, when there were
    /// any (a retried 429 is an answer the server gave): with the record's
    /// own fields, every answer the request got.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempts_log: Vec<AttemptEntry>,
    /// Redirects followed to this answer; each hop was an answer of its
    /// own (its 3xx is in `attempts_log`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub redirects: u32,
    /// Where the redirects led: the URL that gave this answer (redacted
    /// as `url` is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_url: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// One attempt of a request, compactly: what the server answered (or why
/// nothing came), how long it took, and how long it asked to wait.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AttemptEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<ErrorKind>,
    pub latency_ms: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<f64>,
}

impl AttemptEntry {
    /// The attempt a record describes (its last).
    pub fn of(record: &RequestRecord) -> Self {
        Self {
            status: record.status,
            error_kind: record.error_kind,
            latency_ms: record.latency_ms.unwrap_or(0.0),
            retry_after_s: record.rate_limit.and_then(|l| l.retry_after_s),
        }
    }

    /// Whether the server answered it, or it failed on its way (a
    /// timeout, a reset): an answer either way. Not: a request cancelled
    /// by a stop, never built, or lost to a bug.
    pub fn is_answer(&self) -> bool {
        self.status.is_some()
            || !matches!(
                self.error_kind,
                None | Some(ErrorKind::Cancelled | ErrorKind::Invalid | ErrorKind::Internal)
            )
    }

    /// `429`, or the error kind (`timeout`): how the CSV's `statuses`
    /// column writes it.
    pub fn label(&self) -> String {
        match (self.status, self.error_kind) {
            (Some(status), _) => status.to_string(),
            (None, Some(kind)) => kind.as_str().to_owned(),
            (None, None) => "-".to_owned(),
        }
    }
}

impl RequestRecord {
    /// Every attempt the record tells of, oldest first: the earlier ones
    /// and its own (its own only if it was sent at all).
    pub fn all_attempts(&self) -> impl Iterator<Item = AttemptEntry> + '_ {
        let own = (self.attempts > 0).then(|| AttemptEntry::of(self));
        self.attempts_log.iter().copied().chain(own)
    }

    /// The statuses of its attempts, oldest first: `429;429;200`.
    pub fn statuses(&self) -> String {
        self.all_attempts()
            .map(|a| a.label())
            .collect::<Vec<_>>()
            .join(";")
    }
}

/// The request as sent: headers (secret ones redacted) and body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentRequest {
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

impl RequestRecord {
    /// The record of row `index` with nothing known yet of how it went:
    /// not ok, no answer, no attempt. Fill in what is known with struct
    /// update syntax (`RequestRecord { status, ..RequestRecord::new(..) }`).
    pub fn new(index: u64, method: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            index,
            name: None,
            method: method.into(),
            url: url.into(),
            status: None,
            ok: false,
            error_kind: None,
            error: None,
            attempts: 0,
            started_at: None,
            wait_ms: 0.0,
            latency_ms: None,
            bytes: 0,
            headers: BTreeMap::new(),
            rate_limit: None,
            batch: None,
            result: None,
            body: None,
            request: None,
            attempts_log: Vec::new(),
            redirects: 0,
            final_url: None,
        }
    }
}

/// Whether a response header is kept in the record. Called per response
/// header, so it must not allocate.
pub fn is_selected_header(name: &str) -> bool {
    let starts = |prefix: &str| {
        name.len() >= prefix.len()
            && name.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
    };
    name.eq_ignore_ascii_case("retry-after")
        || name.eq_ignore_ascii_case("content-type")
        || starts("ratelimit")
        || starts("x-ratelimit")
        || starts("x-rate-limit")
}

/// How an item travelled in a batch call (`coalesce`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchInfo {
    /// The batch call's number in the run (1, 2, ...).
    pub number: u64,
    /// Items in that call, and this item's position among them.
    pub size: usize,
    pub position: usize,
    /// The asynchronous job's id, when the call started one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    /// With arrivals: arrival → its call was sent (the window and any
    /// wait for the limits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queued_ms: Option<f64>,
    /// With arrivals: the call went full (else on its window, or at the
    /// batch's end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full: Option<bool>,
    /// The batch call's latency (sent → answer read).
    pub call_ms: f64,
    /// From the batch call's answer to the job's results (0 without a job).
    pub poll_ms: f64,
    pub polls: u32,
}
