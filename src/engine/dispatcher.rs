//! The dispatcher: the one task that decides when each request starts.
//!
//! It owns the in-flight set (a `JoinSet`), the limits and the pacer, so a
//! live change is applied between two starts with no shared-state races.
//! Order of business each turn (a `biased` select): commands first, so a
//! lowered cap or a stop applies before the next start; then finished
//! attempts, which free slots; then the stop deadline; then dispatching.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::Client;
use tokio::sync::mpsc;
use tokio::task::{Id, JoinError, JoinSet};
use tokio::time::{Instant, sleep_until};

use super::aggregator::AggMsg;
use super::batching::{self, BatchWork, Stage};
use super::live::LiveCounters;
use super::pacer::Pacer;
use super::task::{
    InFlight, TaskContext, TaskOutcome, Work, invalid_record, lost_items, lost_records, run_attempt,
};
use super::timer::PreciseTimer;
use super::{Command, Event, RunConfig};
use crate::batch::coalesce::CoalesceSpec;
use crate::batch::{InvalidRequest, RequestSpec};
use crate::model::{Limits, Profile, RequestRecord, RunState};

/// At most this many starts per wake-up, so commands are never starved.
const MAX_STARTS_PER_TURN: usize = 256;

/// How often a planned rate is looked at while waiting, and published.
const PROFILE_STEP: Duration = Duration::from_millis(50);

type Source = Box<dyn Iterator<Item = Result<RequestSpec, InvalidRequest>> + Send>;

/// Work waiting out its backoff or poll interval. Holds no slot.
struct PendingRetry {
    due: Instant,
    seq: u64,
    work: Work,
    attempts: u32,
    last: Vec<RequestRecord>,
    poll: bool,
}

impl PartialEq for PendingRetry {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}
impl Eq for PendingRetry {}
impl PartialOrd for PendingRetry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for PendingRetry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.due, self.seq).cmp(&(other.due, other.seq))
    }
}

pub(super) struct Dispatcher {
    source: Source,
    head: Option<RequestSpec>,
    source_done: bool,
    /// When the current head became next in line (for its wait time).
    head_since: Instant,
    retries: BinaryHeap<Reverse<PendingRetry>>,
    retry_seq: u64,
    tasks: JoinSet<TaskOutcome>,
    running: HashMap<Id, InFlight>,
    pacer: Pacer,
    /// Wakes the pacer on time to a fraction of a millisecond (`None` if
    /// its thread could not start: tokio's timer then).
    timer: Option<PreciseTimer>,
    limits: Limits,
    /// The server asked new starts to wait until then (`respect_limits`).
    server_hold: Option<Instant>,
    respect_limits: bool,
    /// Send items in batch calls (`coalesce`), and how many so far.
    coalesce: Option<Arc<CoalesceSpec>>,
    batches: u64,
    /// The planned rates and when the plan began; ended by a live change.
    profile: Option<(Profile, Instant)>,
    /// When the live counters last heard the planned rate.
    profile_published: Instant,
    state: RunState,
    stop_deadline: Option<Instant>,
    stop_grace: Duration,
    commands: mpsc::UnboundedReceiver<Command>,
    commands_open: bool,
    events: mpsc::UnboundedSender<Event>,
    records: mpsc::UnboundedSender<AggMsg>,
    live: Arc<LiveCounters>,
    ctx: Arc<TaskContext>,
}

impl Dispatcher {
    pub(super) fn new(
        source: Source,
        config: RunConfig,
        client: Client,
        commands: mpsc::UnboundedReceiver<Command>,
        events: mpsc::UnboundedSender<Event>,
        records: mpsc::UnboundedSender<AggMsg>,
        live: Arc<LiveCounters>,
    ) -> Self {
        let now = Instant::now();
        Self {
            source,
            head: None,
            source_done: false,
            head_since: now,
            retries: BinaryHeap::new(),
            retry_seq: 0,
            tasks: JoinSet::new(),
            running: HashMap::new(),
            pacer: Pacer::new(
                config
                    .profile
                    .as_ref()
                    .map(|p| p.rate_at(Duration::ZERO))
                    .or(config.limits.per_second),
                config.limits.burst,
                now,
            ),
            timer: PreciseTimer::new().ok(),
            limits: config.limits,
            server_hold: None,
            respect_limits: config.respect_limits,
            profile: config.profile.clone().map(|p| (p, now)),
            coalesce: config.coalesce.clone(),
            batches: 0,
            profile_published: now,
            state: RunState::Running,
            stop_deadline: None,
            stop_grace: config.stop_grace,
            commands,
            commands_open: true,
            events,
            records,
            live,
            ctx: Arc::new(TaskContext {
                client,
                timeout: config.timeout,
                keep_body: config.keep_body,
                capture: config.capture || config.keep_body.is_some(),
                retries: config.retries,
                redact: config.redact,
            }),
        }
    }

    pub(super) async fn run(mut self) {
        self.live.set_state(RunState::Running);
        loop {
            self.refill_head();
            if self.is_finished() {
                break;
            }
            let now = Instant::now();
            let dispatch_at = self.next_dispatch_at(now);
            let deadline = self.stop_deadline;
            // Sleep only for a start in the future: tokio rounds timers up to
            // the next millisecond, so sleeping "until now" would hold every
            // start for a tick even with a free slot.
            let dispatch_now = dispatch_at.is_some_and(|at| at <= now);
            let sleep_to = dispatch_at.filter(|_| !dispatch_now);
            tokio::select! {
                biased;
                command = self.commands.recv(), if self.commands_open => match command {
                    Some(command) => self.handle(command),
                    None => self.commands_open = false,
                },
                Some(joined) = self.tasks.join_next_with_id(), if !self.tasks.is_empty() => {
                    self.on_joined(joined);
                }
                _ = sleep_until(deadline.unwrap_or(now)), if deadline.is_some() && !self.tasks.is_empty() => {
                    self.tasks.abort_all();
                    self.stop_deadline = None;
                }
                _ = std::future::ready(()), if dispatch_now => self.dispatch_due(),
                _ = wait_until(&mut self.timer, sleep_to.unwrap_or(now)), if sleep_to.is_some() => self.dispatch_due(),
            }
        }
        self.finish();
    }

    /// Pulls the next request from the source; entries that failed to
    /// build are recorded at once (they are never sent).
    fn refill_head(&mut self) {
        while self.head.is_none() && !self.source_done && self.state != RunState::Stopping {
            match self.source.next() {
                None => self.source_done = true,
                Some(Ok(spec)) => self.head = Some(spec),
                Some(Err(invalid)) => {
                    let record = invalid_record(&invalid);
                    let _ = self.records.send(AggMsg::Record(Box::new(record)));
                }
            }
        }
    }

    fn is_finished(&self) -> bool {
        let nothing_left = self.head.is_none() && self.source_done && self.retries.is_empty();
        self.tasks.is_empty() && (nothing_left || self.state == RunState::Stopping)
    }

    fn has_capacity(&self) -> bool {
        self.limits
            .max_at_once
            .is_none_or(|cap| (self.tasks.len() as u64) < cap)
    }

    /// When the next request becomes available to start, limits aside.
    fn candidate_at(&self, now: Instant) -> Option<Instant> {
        let retry_due = self.retries.peek().map(|r| r.0.due);
        if self.head.is_some() {
            Some(now)
        } else {
            retry_due
        }
    }

    fn next_dispatch_at(&self, now: Instant) -> Option<Instant> {
        if self.state != RunState::Running || !self.has_capacity() {
            return None;
        }
        let ready = self.candidate_at(now)?;
        let ready = self.server_hold.map_or(ready, |h| h.max(ready));
        let at = self.pacer.ready_at().map_or(ready, |p| p.max(ready));
        // Under a plan the rate moves: look again soon, not only when the
        // current spacing says.
        Some(match self.profile {
            Some(_) => at.min(now + PROFILE_STEP),
            None => at,
        })
    }

    fn handle(&mut self, command: Command) {
        let now = Instant::now();
        match command {
            Command::SetLimits(limits) => {
                // The user (or a controller) took the rate over.
                self.profile = None;
                self.limits = limits;
                self.pacer.set_rate(limits.per_second, limits.burst, now);
                self.live.set_limits(limits);
                let _ = self.events.send(Event::LimitsApplied(limits));
            }
            Command::SetMaxItems(n) => {
                if let Some(c) = &self.coalesce {
                    let mut next = (**c).clone();
                    next.max_items = n.max(1);
                    self.coalesce = Some(Arc::new(next));
                }
            }
            Command::Pause if self.state == RunState::Running => {
                self.state = RunState::Paused;
                self.live.set_state(self.state);
                let _ = self.events.send(Event::Paused);
            }
            Command::Resume if self.state == RunState::Paused => {
                self.state = RunState::Running;
                self.pacer.reset(now);
                self.live.set_state(self.state);
                let _ = self.events.send(Event::Resumed);
            }
            Command::Stop { grace } => {
                let grace = grace.unwrap_or(self.stop_grace);
                let deadline = now + grace;
                if self.state != RunState::Stopping {
                    self.state = RunState::Stopping;
                    self.live.set_state(self.state);
                    let _ = self.events.send(Event::Stopping);
                }
                // A second stop may shorten the grace, never lengthen it.
                self.stop_deadline = Some(self.stop_deadline.map_or(deadline, |d| d.min(deadline)));
                if grace.is_zero() {
                    self.tasks.abort_all();
                }
            }
            Command::Pause | Command::Resume => {}
        }
    }

    /// Starts every request that is due and allowed right now.
    fn dispatch_due(&mut self) {
        for _ in 0..MAX_STARTS_PER_TURN {
            if self.state != RunState::Running || !self.has_capacity() {
                return;
            }
            let now = Instant::now();
            if self.server_hold.is_some_and(|h| now < h) {
                return;
            }
            self.follow_profile(now);
            let retry_due = self.retries.peek().is_some_and(|r| r.0.due <= now);
            if !retry_due && self.head.is_none() {
                return;
            }
            if !self.pacer.try_acquire(now) {
                return;
            }
            let (work, attempts, ready_since) = if retry_due {
                let Reverse(retry) = self.retries.pop().expect("peeked");
                if retry.poll {
                    self.live.job_pending(false);
                    self.publish_oldest_job();
                } else {
                    self.live.retry_left_queue();
                }
                // A poll keeps the call's attempt count; a retry adds one.
                let attempts = retry.attempts + u32::from(!retry.poll);
                (retry.work, attempts, retry.due.max(self.head_since))
            } else {
                let spec = self.head.take().expect("checked");
                let work = match self.coalesce.as_ref().map(|c| c.max_items) {
                    None => Work::One(Arc::new(spec)),
                    Some(max_items) => {
                        // Items of a batch file are all ready: fill the batch.
                        let mut items = vec![spec];
                        while items.len() < max_items {
                            self.refill_head();
                            match self.head.take() {
                                Some(next) => items.push(next),
                                None => break,
                            }
                        }
                        self.batches += 1;
                        Work::Batch(Arc::new(BatchWork {
                            number: self.batches,
                            items,
                            stage: Stage::Call,
                        }))
                    }
                };
                (work, 1, self.head_since)
            };
            self.head_since = now;
            self.spawn(work, attempts, now.saturating_duration_since(ready_since));
            self.refill_head();
        }
    }

    fn spawn(&mut self, work: Work, attempts: u32, wait: Duration) {
        let ctx = self.ctx.clone();
        let handle = match (&work, &self.coalesce) {
            (Work::One(spec), _) => {
                self.tasks
                    .spawn(run_attempt(ctx, spec.clone(), attempts, wait))
            }
            (Work::Batch(batch), Some(coalesce)) => self.tasks.spawn(batching::run(
                ctx,
                coalesce.clone(),
                batch.clone(),
                attempts,
                wait,
            )),
            (Work::Batch(_), None) => unreachable!("batches only when coalescing"),
        };
        self.running.insert(
            handle.id(),
            InFlight {
                work,
                attempts,
                wait,
                sent_at: SystemTime::now(),
                sent: Instant::now(),
            },
        );
        self.live.started(self.tasks.len() as u64);
    }

    fn on_joined(&mut self, joined: Result<(Id, TaskOutcome), JoinError>) {
        let records = match joined {
            Ok((id, TaskOutcome::Done(records))) => {
                self.running.remove(&id);
                records
            }
            Ok((
                id,
                TaskOutcome::Retry {
                    work,
                    attempts,
                    delay,
                    last,
                    poll,
                },
            )) => {
                self.running.remove(&id);
                if self.state == RunState::Stopping && !last.is_empty() {
                    last
                } else if self.state == RunState::Stopping {
                    // A job still pending when the run stops.
                    lost_items(
                        &work,
                        attempts,
                        "the run was stopped while its job was pending",
                        self.ctx.redact,
                    )
                } else {
                    self.retry_seq += 1;
                    let due = Instant::now() + delay;
                    self.retries.push(Reverse(PendingRetry {
                        due,
                        seq: self.retry_seq,
                        work,
                        attempts,
                        last,
                        poll,
                    }));
                    if poll {
                        self.live.job_pending(true);
                        self.publish_oldest_job();
                    } else {
                        self.live.retry_queued();
                    }
                    Vec::new()
                }
            }
            Err(e) => self
                .running
                .remove(&e.id())
                .map(|info| lost_records(&info, &e, self.ctx.redact))
                .unwrap_or_default(),
        };
        self.live.finished(self.tasks.len() as u64);
        if let Some(last) = records.last() {
            self.observe_server(last);
        }
        for record in records {
            let _ = self.records.send(AggMsg::Record(Box::new(record)));
        }
    }

    /// Sets the pacer to the planned rate for `now`, and tells the live
    /// counters a few times a second (the UI shows it as the target).
    fn follow_profile(&mut self, now: Instant) {
        let Some((profile, began)) = &self.profile else {
            return;
        };
        let rate = profile.rate_at(now.saturating_duration_since(*began));
        self.pacer.retune(rate);
        if now.saturating_duration_since(self.profile_published) >= PROFILE_STEP {
            self.profile_published = now;
            self.limits.per_second = Some(rate);
            self.live.set_limits(self.limits);
        }
    }

    /// With `respect_limits`, holds new starts for as long as the answer
    /// asks: a 429's or 503's Retry-After, or the reset when none remain.
    fn observe_server(&mut self, record: &RequestRecord) {
        if !self.respect_limits {
            return;
        }
        let Some(mut signals) = record.rate_limit else {
            return;
        };
        if !matches!(record.status, Some(429 | 503)) {
            signals.retry_after_s = None;
        }
        if let Some(hold) = signals.hold() {
            let until = Instant::now() + hold;
            if self.server_hold.is_none_or(|h| h < until) {
                self.server_hold = Some(until);
                self.live.hold_until(until);
            }
        }
    }

    /// Tells the live counters since when the oldest pending job waits.
    /// A scan of the waiting work: it holds one entry per job at most.
    fn publish_oldest_job(&self) {
        let oldest = self
            .retries
            .iter()
            .filter_map(|r| match &r.0.work {
                Work::Batch(b) => match &b.stage {
                    Stage::Poll { since, .. } => Some(*since),
                    Stage::Call => None,
                },
                Work::One(_) => None,
            })
            .min();
        self.live.set_oldest_job(oldest);
    }

    /// Records what a stop left behind and tells the aggregator it is over.
    fn finish(mut self) {
        let stopped = self.state == RunState::Stopping;
        while let Some(Reverse(retry)) = self.retries.pop() {
            let last = if retry.poll {
                self.live.job_pending(false);
                lost_items(
                    &retry.work,
                    retry.attempts,
                    "the run was stopped while its job was pending",
                    self.ctx.redact,
                )
            } else {
                self.live.retry_left_queue();
                retry.last
            };
            for record in last {
                let _ = self.records.send(AggMsg::Record(Box::new(record)));
            }
        }
        let _ = self.records.send(AggMsg::Done { stopped });
    }
}

/// Sleeps until `at` on the precise timer, or tokio's without one.
async fn wait_until(timer: &mut Option<PreciseTimer>, at: Instant) {
    match timer {
        Some(timer) => timer.sleep_until(at).await,
        None => sleep_until(at).await,
    }
}
