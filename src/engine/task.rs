//! What runs in an attempt task, and the records it makes: the task's
//! shared context, the work one dispatch sends, how a task ends, and
//! every way a request's record is built (answered, cancelled, lost,
//! never built). Scheduling (when a task starts) is the dispatcher's.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::task::JoinError;
use tokio::time::Instant;

use super::batching::BatchWork;
use super::client::{AttemptResult, attempt};
use super::redirect::{is_redirect, next_hop};
use super::retry::{is_retryable, retry_delay};
use super::transport::Transport;
use crate::batch::{InvalidRequest, RequestSpec};
use crate::export::redact::{
    REDACTED, is_secret_header, redact_header, redact_url, redact_urls_in,
};
use crate::model::{ErrorKind, RequestRecord, SentRequest};
use crate::signals::ServerLimits;

/// What every attempt task needs; shared, never mutated.
pub(crate) struct TaskContext {
    pub transport: Arc<Transport>,
    /// Redirects followed per request (0: none, the 3xx is the result).
    pub max_redirects: u32,
    pub timeout: Duration,
    pub keep_body: Option<usize>,
    /// Keep what was sent and every response header.
    pub capture: bool,
    pub retries: u32,
    pub redact: bool,
    /// The longest Retry-After honoured (`RunConfig::max_wait`).
    pub max_wait: Duration,
    /// Where a batch call's task tells the aggregator the call's answer
    /// (its items' records are results, not answers).
    pub answers: tokio::sync::mpsc::UnboundedSender<super::aggregator::AggMsg>,
}

/// What one dispatch sends: one request, or a batch call (or poll) for
/// coalesced items.
#[derive(Clone)]
pub(crate) enum Work {
    One(Arc<RequestSpec>),
    /// A redirect's next hop for a request.
    Hop(Arc<Hop>),
    Batch(Arc<BatchWork>),
}

/// A redirected request's next hop: what it sends now, for which input.
pub(crate) struct Hop {
    /// The batch's request (its record names it).
    pub request: Arc<RequestSpec>,
    /// What this hop sends.
    pub sent: RequestSpec,
    /// Hops so far, this one included.
    pub hops: u32,
}

impl Work {
    fn items(&self) -> Vec<&RequestSpec> {
        match self {
            Work::One(spec) => vec![spec],
            Work::Hop(hop) => vec![&hop.request],
            Work::Batch(batch) => batch.items.iter().collect(),
        }
    }
}

/// How an attempt task ended.
pub(crate) enum TaskOutcome {
    /// The final records: one, or one per item of a batch.
    Done(Vec<RequestRecord>),
    /// Worth another go after `delay`: a retry, or (`poll`) a job to ask
    /// about again. `last` is what to keep if it never happens (the run
    /// stops first).
    Retry {
        work: Work,
        attempts: u32,
        delay: Duration,
        last: Vec<RequestRecord>,
        poll: bool,
    },
    /// A redirect to follow: `work` is the next hop (it passes the pacer
    /// and the cap like any start); `answer` is this hop's 3xx.
    Redirect {
        work: Work,
        attempts: u32,
        answer: Box<RequestRecord>,
    },
}

/// What an in-flight task was doing, to record it if it is cancelled.
pub(crate) struct InFlight {
    pub work: Work,
    pub attempts: u32,
    pub wait: Duration,
    pub sent_at: SystemTime,
    pub sent: Instant,
    /// The attempts before this one (for the records' `attempts_log`).
    pub history: Vec<crate::model::AttemptEntry>,
}

/// One attempt, as a task: send, record, and decide on a redirect or a
/// retry. `work` is a request or a redirect's hop.
pub(crate) async fn run_attempt(
    ctx: Arc<TaskContext>,
    work: Work,
    attempts: u32,
    wait: Duration,
) -> TaskOutcome {
    let (request, sent, hops) = match &work {
        Work::One(spec) => (spec.clone(), &**spec, 0),
        Work::Hop(hop) => (hop.request.clone(), &hop.sent, hop.hops),
        Work::Batch(_) => unreachable!("batch calls run in batching"),
    };
    let result = attempt(
        &ctx.transport,
        sent,
        ctx.timeout,
        ctx.keep_body,
        ctx.capture,
    )
    .await;
    let mut record = make_record(&request, &result, attempts, wait, ctx.redact);
    if hops > 0 {
        record.redirects = hops;
        record.final_url = Some(shown_url(&sent.url, ctx.redact));
    }
    if ctx.capture {
        capture_request(&mut record, sent, ctx.redact);
    }
    let redirect = result
        .status
        .filter(|s| is_redirect(*s) && ctx.max_redirects > 0)
        .zip(result.location.as_deref());
    if let Some((status, location)) = redirect {
        if hops >= ctx.max_redirects {
            fail_redirect(
                &mut record,
                format!(
                    "too many redirects: stopped after {hops} (--max-redirects {})",
                    ctx.max_redirects
                ),
            );
        } else {
            match next_hop(sent, status, location) {
                Ok(next) => {
                    // This hop's answer, as the server gave it for its URL.
                    let answer = make_record(sent, &result, attempts, wait, ctx.redact);
                    return TaskOutcome::Redirect {
                        work: Work::Hop(Arc::new(Hop {
                            request,
                            sent: next,
                            hops: hops + 1,
                        })),
                        attempts,
                        answer: Box::new(answer),
                    };
                }
                Err(why) => fail_redirect(&mut record, why),
            }
        }
        return TaskOutcome::Done(vec![record]);
    }
    let error_kind = result.error.as_ref().map(|(k, _)| *k);
    if attempts <= ctx.retries && is_retryable(result.status, error_kind) {
        match retry_delay(&result.headers, attempts, ctx.max_wait) {
            Ok(delay) => {
                return TaskOutcome::Retry {
                    work,
                    attempts,
                    delay,
                    last: vec![record],
                    poll: false,
                };
            }
            Err(too_long) => record.error = Some(too_long),
        }
    }
    TaskOutcome::Done(vec![record])
}

/// A redirect that is not followed: the 3xx stays the answer, and the
/// request fails with the reason.
fn fail_redirect(record: &mut RequestRecord, why: String) {
    record.ok = false;
    record.error_kind = Some(ErrorKind::Redirect);
    record.error = Some(why);
}

fn shown_url(url: &url::Url, redact: bool) -> String {
    if redact {
        redact_url(url)
    } else {
        url.to_string()
    }
}

/// A record for `spec` with nothing known yet about how it went.
pub(crate) fn base_record(
    spec: &RequestSpec,
    attempts: u32,
    wait: Duration,
    redact: bool,
) -> RequestRecord {
    let url = shown_url(&spec.url, redact);
    RequestRecord {
        name: spec.name.clone(),
        attempts,
        wait_ms: ms(wait),
        ..RequestRecord::new(spec.index, spec.method.to_string(), url)
    }
}

pub(crate) fn make_record(
    spec: &RequestSpec,
    r: &AttemptResult,
    attempts: u32,
    wait: Duration,
    redact: bool,
) -> RequestRecord {
    RequestRecord {
        status: r.status,
        ok: r.error.is_none() && r.status.is_some_and(|s| s < 400),
        error_kind: r.error.as_ref().map(|(k, _)| *k),
        error: r.error.as_ref().map(|(_, m)| {
            if redact {
                redact_urls_in(m).into_owned()
            } else {
                m.clone()
            }
        }),
        started_at: Some(humantime::format_rfc3339_micros(r.sent_at).to_string()),
        latency_ms: Some(ms(r.latency)),
        bytes: r.bytes,
        headers: if redact {
            r.headers
                .iter()
                .map(|(k, v)| (k.clone(), redact_header(k, v)))
                .collect()
        } else {
            r.headers.clone()
        },
        rate_limit: ServerLimits::from_headers(
            r.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            r.sent_at + r.latency,
        ),
        body: r
            .body
            .as_ref()
            .map(|b| String::from_utf8_lossy(b).into_owned()),
        ..base_record(spec, attempts, wait, redact)
    }
}

/// Keeps what was sent in the record (for `--keep-body`), and hides the
/// secrets among the headers it then holds in full.
fn capture_request(record: &mut RequestRecord, spec: &RequestSpec, redact: bool) {
    let shown = |name: &str, value: &[u8]| {
        if redact && is_secret_header(name) {
            REDACTED.to_owned()
        } else {
            String::from_utf8_lossy(value).into_owned()
        }
    };
    if redact {
        for (name, value) in record.headers.iter_mut() {
            if is_secret_header(name) {
                *value = REDACTED.to_owned();
            }
        }
    }
    // The batch's headers, and those the client adds where the batch set
    // none (a HAR shows what went on the wire).
    let added = super::client::added_headers()
        .into_iter()
        .filter(|(k, _)| !spec.headers.contains_key(*k))
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
    record.request = Some(SentRequest {
        headers: spec
            .headers
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), shown(k.as_str(), v.as_bytes())))
            .chain(added)
            .collect(),
        body: spec.body.as_ref().map(crate::batch::Body::describe),
    });
}

/// The records of an attempt that never finished: cancelled by a stop,
/// or lost to a panic (a bug, but never a crash of the run).
pub(crate) fn lost_records(info: &InFlight, e: &JoinError, redact: bool) -> Vec<RequestRecord> {
    let (kind, message) = if e.is_cancelled() {
        (
            ErrorKind::Cancelled,
            "cancelled: the run was stopped and the grace period ran out".to_owned(),
        )
    } else {
        (ErrorKind::Internal, format!("internal error: {e}"))
    };
    info.work
        .items()
        .into_iter()
        .map(|spec| RequestRecord {
            error_kind: Some(kind),
            error: Some(message.clone()),
            started_at: Some(humantime::format_rfc3339_micros(info.sent_at).to_string()),
            latency_ms: Some(ms(info.sent.elapsed())),
            ..base_record(spec, info.attempts, info.wait, redact)
        })
        .collect()
}

/// Records for the items of work that will not go on (the run stopped).
pub(crate) fn lost_items(
    work: &Work,
    attempts: u32,
    why: &str,
    redact: bool,
) -> Vec<RequestRecord> {
    work.items()
        .into_iter()
        .map(|spec| RequestRecord {
            error_kind: Some(ErrorKind::Cancelled),
            error: Some(format!("cancelled: {why}")),
            ..base_record(spec, attempts, Duration::ZERO, redact)
        })
        .collect()
}

/// The record of a batch item that could not be built: never sent.
pub(crate) fn invalid_record(invalid: &InvalidRequest) -> RequestRecord {
    RequestRecord {
        error_kind: Some(ErrorKind::Invalid),
        error: Some(invalid.error.to_string()),
        ..RequestRecord::new(invalid.index, "", "")
    }
}

/// Milliseconds, rounded to the microsecond (the clocks' useful precision).
fn ms(d: Duration) -> f64 {
    d.as_micros() as f64 / 1000.0
}
