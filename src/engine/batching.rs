//! Coalesced items: one batch call for many items, then polls of its job
//! until done, and a record for every item. Each call and each poll is
//! one dispatch, so `per_second` and `max_at_once` count what the server
//! sees; a job still pending goes back to the dispatcher to poll again
//! after the interval.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use serde_json::Value;
use tokio::time::Instant;

use super::aggregator::AggMsg;
use super::client::{AttemptResult, attempt};
use super::retry::{is_retryable, retry_delay};
use super::task::{TaskContext, TaskOutcome, Work, base_record, make_record};
use crate::batch::RequestSpec;
use crate::batch::coalesce::{BodyShape, CoalesceSpec, Matching};
use crate::model::{BatchInfo, ErrorKind, RequestRecord};

/// Answers larger than this are not read for results.
const ANSWER_CAP: usize = 64 << 20;

/// A batch of items on its way: its call, or the polls of its job.
#[derive(Debug)]
pub(crate) struct BatchWork {
    pub number: u64,
    pub items: Vec<RequestSpec>,
    /// When each item arrived (`arrivals`); empty when all were ready at
    /// the start.
    pub arrived: Vec<Instant>,
    /// With arrivals: the call went full (else on its window).
    pub full: bool,
    pub stage: Stage,
}

#[derive(Debug, Clone)]
pub(crate) enum Stage {
    /// The batch call is next.
    Call,
    /// Its job is pending: poll it.
    Poll {
        job: String,
        call_ms: f64,
        polls: u32,
        since: Instant,
        deadline: Instant,
    },
}

/// What each item gets from the call or the last poll.
struct Answer<'a> {
    result: &'a AttemptResult,
    info: BatchInfo,
}

/// An item's payload: its JSON body, or else its query parameters.
fn payload(item: &RequestSpec) -> Value {
    if let Some(body) = item
        .body
        .as_ref()
        .and_then(|b| b.bytes())
        .and_then(|b| serde_json::from_slice(b).ok())
    {
        return body;
    }
    Value::Object(
        item.url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect(),
    )
}

/// The batch call's request.
fn call_request(spec: &CoalesceSpec, items: &[RequestSpec]) -> RequestSpec {
    let array = Value::Array(items.iter().map(payload).collect());
    let body = match &spec.body {
        BodyShape::JsonArray => array.to_string(),
        BodyShape::Template(t) => t.replace("{{items}}", &array.to_string()),
    };
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    RequestSpec {
        index: 0,
        name: None,
        method: spec.method.clone(),
        url: spec.url.clone(),
        headers,
        body: Some(Bytes::from(body).into()),
        timeout: None,
    }
}

fn poll_request(spec: &CoalesceSpec, job: &str) -> Result<RequestSpec, String> {
    let poll = spec.poll.as_ref().expect("polling only with a poll spec");
    let url = spec
        .url
        .join(&poll.url.replace("{{id}}", job))
        .map_err(|e| format!("the poll URL does not resolve: {e}"))?;
    Ok(RequestSpec {
        index: 0,
        name: None,
        method: http::Method::GET,
        url,
        headers: HeaderMap::new(),
        body: None,
        timeout: None,
    })
}

/// One step for a batch: the call or a poll. With arrivals, each item's
/// record says how long it was queued (arrival → its call was sent), and
/// its latency is arrival → result.
pub(crate) async fn run(
    ctx: Arc<TaskContext>,
    spec: Arc<CoalesceSpec>,
    work: Arc<BatchWork>,
    attempts: u32,
    wait: Duration,
) -> TaskOutcome {
    // The call goes now (a poll's was sent its call latency before the
    // answer that started the job).
    let call_sent = match &work.stage {
        Stage::Call => Instant::now(),
        Stage::Poll { since, call_ms, .. } => since
            .checked_sub(Duration::from_secs_f64(call_ms / 1000.0))
            .unwrap_or(*since),
    };
    let mut outcome = step(ctx, spec, work.clone(), attempts, wait).await;
    if !work.arrived.is_empty() {
        let records = match &mut outcome {
            TaskOutcome::Done(records) => records,
            TaskOutcome::Retry { last, .. } => last,
            TaskOutcome::Redirect { .. } => unreachable!("batch calls follow no redirects"),
        };
        for record in records.iter_mut() {
            let Some(info) = record.batch.as_mut() else {
                continue;
            };
            let Some(arrived) = work.arrived.get(info.position) else {
                continue;
            };
            let queued = call_sent.saturating_duration_since(*arrived).as_secs_f64() * 1000.0;
            info.queued_ms = Some(queued);
            info.full = Some(work.full);
            record.latency_ms = Some(queued + info.call_ms + info.poll_ms);
        }
    }
    outcome
}

async fn step(
    ctx: Arc<TaskContext>,
    spec: Arc<CoalesceSpec>,
    work: Arc<BatchWork>,
    attempts: u32,
    wait: Duration,
) -> TaskOutcome {
    let step = Step {
        ctx: &ctx,
        spec: &spec,
        work: &work,
        attempts,
        wait,
    };
    let request = match &work.stage {
        Stage::Call => call_request(&spec, &work.items),
        Stage::Poll { job, .. } => match poll_request(&spec, job) {
            Ok(r) => r,
            Err(e) => return step.fail_all(e, Some(ErrorKind::Invalid)),
        },
    };
    let result = attempt(
        &ctx.transport,
        &request,
        ctx.timeout,
        Some(ANSWER_CAP),
        false,
    )
    .await;
    let error_kind = result.error.as_ref().map(|(k, _)| *k);
    let is_call = matches!(work.stage, Stage::Call);
    // A failed call is retried like any request; a failed poll is not.
    let mut retry = is_call && attempts <= ctx.retries && is_retryable(result.status, error_kind);
    let delay = match retry_delay(&result.headers, attempts, ctx.max_wait) {
        Ok(delay) => delay,
        // Asked to wait too long: the call's answer stands for its items.
        Err(_) => {
            retry = false;
            Duration::ZERO
        }
    };
    // The call (or poll) is the server's answer; its items' records are
    // results. Counted under the endpoint "batch calls" or "job polls".
    let mut answered = make_record(&request, &result, attempts, wait, ctx.redact);
    answered.name = Some(if is_call { "batch calls" } else { "job polls" }.to_owned());
    let _ = ctx.answers.send(AggMsg::Answer {
        record: Box::new(answered),
        retried: retry,
    });
    if retry {
        let last = item_records(&ctx, &work, attempts, wait, &result, "not retried");
        return TaskOutcome::Retry {
            work: Work::Batch(work.clone()),
            attempts,
            delay,
            last,
            poll: false,
        };
    }
    match step.answer(&result) {
        Ok(answer) => step.on_answer(&result, &answer),
        Err(outcome) => outcome,
    }
}

/// One dispatch of a batch (its call or a poll), and what it needs to
/// make its items' records.
struct Step<'a> {
    ctx: &'a TaskContext,
    spec: &'a CoalesceSpec,
    work: &'a Arc<BatchWork>,
    attempts: u32,
    wait: Duration,
}

impl Step<'_> {
    fn what(&self) -> &'static str {
        match self.work.stage {
            Stage::Call => "the batch call",
            Stage::Poll { .. } => "polling its job",
        }
    }

    /// Every item fails with `message`, before any answer.
    fn fail_all(&self, message: String, kind: Option<ErrorKind>) -> TaskOutcome {
        let work = self.work;
        TaskOutcome::Done(
            work.items
                .iter()
                .enumerate()
                .map(|(position, item)| {
                    let mut r = failed(
                        self.ctx,
                        item,
                        self.attempts,
                        self.wait,
                        kind,
                        message.clone(),
                    );
                    r.batch = Some(stage_info(work, position));
                    r
                })
                .collect(),
        )
    }

    /// The answer as JSON, or the items' records if there is none to read.
    fn answer(&self, result: &AttemptResult) -> Result<Value, TaskOutcome> {
        let what = self.what();
        if let Some((kind, message)) = &result.error {
            return Err(self.fail_all(format!("{what} failed: {message}"), Some(*kind)));
        }
        if result.status.is_none_or(|s| s >= 400) {
            return Err(TaskOutcome::Done(item_records(
                self.ctx,
                self.work,
                self.attempts,
                self.wait,
                result,
                &format!("{what} answered HTTP {}", result.status.unwrap_or(0)),
            )));
        }
        match result.body.as_deref().map(serde_json::from_slice) {
            Some(Ok(v)) => Ok(v),
            _ => Err(self.fail_all(
                format!("{what} answered something that is not JSON"),
                Some(ErrorKind::Other),
            )),
        }
    }

    /// A JSON answer: a job still pending is polled again; results go to
    /// their items.
    fn on_answer(&self, result: &AttemptResult, answer: &Value) -> TaskOutcome {
        let work = self.work;
        let latency_ms = result.latency.as_secs_f64() * 1000.0;
        let (call_ms, polls, since) = match &work.stage {
            Stage::Call => (latency_ms, 0, Instant::now()),
            Stage::Poll {
                call_ms,
                polls,
                since,
                ..
            } => (*call_ms, polls + 1, *since),
        };
        if let Some(outcome) = self.pending(answer, call_ms, polls, since) {
            return outcome;
        }
        let job = match &work.stage {
            Stage::Poll { job, .. } => Some(job.clone()),
            Stage::Call => None,
        };
        let Some(Value::Array(results)) = self.spec.items.get(answer) else {
            return self.fail_all(
                format!(
                    "{} answered no array of results where the batch says",
                    self.what()
                ),
                Some(ErrorKind::Other),
            );
        };
        let poll_ms = if job.is_some() {
            since.elapsed().as_secs_f64() * 1000.0
        } else {
            0.0
        };
        let info = |position| BatchInfo {
            number: work.number,
            size: work.items.len(),
            position,
            job: job.clone(),
            queued_ms: None,
            full: None,
            call_ms,
            poll_ms,
            polls,
        };
        let (got, size) = (results.len(), work.items.len());
        TaskOutcome::Done(
            work.items
                .iter()
                .zip(self.matched(results))
                .enumerate()
                .map(|(position, (item, value))| {
                    let answer = Answer {
                        result,
                        info: info(position),
                    };
                    let problem = value.is_none().then(|| {
                        format!(
                            "the batch answered {got} results for {size} items; none for this one"
                        )
                    });
                    record(
                        self.ctx,
                        item,
                        self.attempts,
                        self.wait,
                        &answer,
                        value,
                        problem,
                    )
                })
                .collect(),
        )
    }

    /// While the answer says the job is pending: poll again after the
    /// interval (or fail, when time is up or there is no job id).
    fn pending(
        &self,
        answer: &Value,
        call_ms: f64,
        polls: u32,
        since: Instant,
    ) -> Option<TaskOutcome> {
        let poll = self.spec.poll.as_ref()?;
        let (path, value) = &poll.when;
        if path.get(answer) != Some(value) {
            return None;
        }
        let work = self.work;
        let deadline = match &work.stage {
            Stage::Poll { deadline, .. } => *deadline,
            Stage::Call => Instant::now() + poll.timeout,
        };
        let job = match (&work.stage, poll.id.get(answer)) {
            (Stage::Poll { job, .. }, _) => job.clone(),
            (Stage::Call, Some(Value::String(id))) => id.clone(),
            (Stage::Call, Some(id)) => id.to_string(),
            (Stage::Call, None) => {
                return Some(self.fail_all(
                    "the batch call's answer is pending but has no job id".into(),
                    Some(ErrorKind::Other),
                ));
            }
        };
        if Instant::now() >= deadline {
            return Some(self.fail_all(
                format!(
                    "job {job} was still pending after {}",
                    humantime::format_duration(poll.timeout)
                ),
                Some(ErrorKind::Timeout),
            ));
        }
        let next = BatchWork {
            number: work.number,
            items: work.items.clone(),
            arrived: work.arrived.clone(),
            full: work.full,
            stage: Stage::Poll {
                job,
                call_ms,
                polls,
                since,
                deadline,
            },
        };
        Some(TaskOutcome::Retry {
            work: Work::Batch(Arc::new(next)),
            attempts: self.attempts,
            delay: poll.interval,
            last: Vec::new(),
            poll: true,
        })
    }

    /// Each item's result among `results`, by position or by key.
    fn matched(&self, results: &[Value]) -> Vec<Option<Value>> {
        let items = &self.work.items;
        match &self.spec.matching {
            Matching::Index => (0..items.len()).map(|i| results.get(i).cloned()).collect(),
            Matching::Key { result, item } => items
                .iter()
                .map(|it| {
                    let key = payload(it).get(item).cloned();
                    results
                        .iter()
                        .find(|r| key.is_some() && result.get(r) == key.as_ref())
                        .cloned()
                })
                .collect(),
        }
    }
}

/// What is known of an item's batch before an answer: its call, and its
/// job so far.
fn stage_info(work: &BatchWork, position: usize) -> BatchInfo {
    let (job, call_ms, poll_ms, polls) = match &work.stage {
        Stage::Call => (None, 0.0, 0.0, 0),
        Stage::Poll {
            job,
            call_ms,
            polls,
            since,
            ..
        } => (
            Some(job.clone()),
            *call_ms,
            since.elapsed().as_secs_f64() * 1000.0,
            *polls,
        ),
    };
    BatchInfo {
        number: work.number,
        size: work.items.len(),
        position,
        job,
        queued_ms: None,
        full: None,
        call_ms,
        poll_ms,
        polls,
    }
}

/// Every item of a batch marked with the same outcome of its call.
fn item_records(
    ctx: &TaskContext,
    work: &BatchWork,
    attempts: u32,
    wait: Duration,
    result: &AttemptResult,
    problem: &str,
) -> Vec<RequestRecord> {
    work.items
        .iter()
        .enumerate()
        .map(|(position, item)| {
            let answer = Answer {
                result,
                info: BatchInfo {
                    number: work.number,
                    size: work.items.len(),
                    position,
                    job: None,
                    queued_ms: None,
                    full: None,
                    call_ms: result.latency.as_secs_f64() * 1000.0,
                    poll_ms: 0.0,
                    polls: 0,
                },
            };
            record(
                ctx,
                item,
                attempts,
                wait,
                &answer,
                None,
                Some(problem.to_owned()),
            )
        })
        .collect()
}

/// An item's record from its batch's answer.
fn record(
    ctx: &TaskContext,
    item: &RequestSpec,
    attempts: u32,
    wait: Duration,
    answer: &Answer,
    value: Option<Value>,
    problem: Option<String>,
) -> RequestRecord {
    let r = answer.result;
    let mut record = make_record(item, r, attempts, wait, ctx.redact);
    record.ok = problem.is_none() && record.ok;
    if let Some(problem) = problem {
        record.error = Some(problem);
        // An answer that looked fine but held nothing for this item.
        if record.error_kind.is_none() && record.status.is_some_and(|s| s < 400) {
            record.error_kind = Some(ErrorKind::Other);
        }
    }
    record.batch = Some(answer.info.clone());
    record.result = value;
    record.body = None;
    record
}

/// An item that failed with its whole batch, before any answer.
fn failed(
    ctx: &TaskContext,
    item: &RequestSpec,
    attempts: u32,
    wait: Duration,
    kind: Option<ErrorKind>,
    message: String,
) -> RequestRecord {
    RequestRecord {
        ok: false,
        error_kind: kind,
        error: Some(message),
        ..base_record(item, attempts, wait, ctx.redact)
    }
}
