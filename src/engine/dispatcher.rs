//! The dispatcher: the one task that decides when each request starts.
//!
//! It owns the in-flight set (a `JoinSet`), the limits and the pacer, so a
//! live change is applied between two starts with no shared-state races.
//! Order of business each turn (a `biased` select): commands first, so a
//! lowered cap or a stop applies before the next start; then finished
//! attempts, which free slots; then the stop deadline; then dispatching.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;
use tokio::task::{Id, JoinError, JoinSet};
use tokio::time::{Instant, sleep_until};

use super::aggregator::AggMsg;
use super::arrivals::Schedule;
use super::batching::{self, BatchWork, Stage};
use super::live::LiveCounters;
use super::pacer::Pacer;
use super::task::{
    InFlight, TaskContext, TaskOutcome, Work, invalid_record, lost_items, lost_records, run_attempt,
};
use super::timer::PreciseTimer;
use super::transport::Transport;
use super::{Command, Event, RunConfig};
use crate::batch::coalesce::CoalesceSpec;
use crate::batch::{InvalidRequest, RequestSpec};
use crate::model::{
    AttemptEntry, ChangedBy, LimitChange, Limits, Profile, RequestRecord, RunState,
};

/// At most this many starts per wake-up, so commands are never starved.
const MAX_STARTS_PER_TURN: usize = 256;

/// With `respect_limits`, starts go at most at this share of the rate the
/// server advertises: a margin for the jitter of arrivals, so a limiter
/// with no burst is not hit by a start that comes a little early. Each
/// refusal takes the share down a step (to the floor at most); each
/// accepted answer brings it back up a little.
const ADVISED_SHARE: f64 = 0.95;
const ADVISED_STEP_DOWN: f64 = 0.02;
const ADVISED_FLOOR: f64 = 0.8;
const ADVISED_CREEP: f64 = 0.0005;

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
    /// A redirect's next hop (neither a retry nor a poll).
    hop: bool,
    /// The attempts so far (for the records' `attempts_log`).
    history: Vec<AttemptEntry>,
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
    /// Some attempt has come back (with `respect_limits`, the first one
    /// goes alone).
    answered: bool,
    /// With `respect_limits`, the rate the server advertises (a policy of
    /// q requests per w seconds), less a margin: starts never go faster.
    advised: Option<f64>,
    /// The share of the advertised rate paced to (see [`ADVISED_SHARE`]).
    advised_share: f64,
    /// Send items in batch calls (`coalesce`), and how many so far.
    coalesce: Option<Arc<CoalesceSpec>>,
    batches: u64,
    /// Items arriving over time (coalescing with `arrivals`): when the
    /// next one comes, and those come and waiting for a call, with their
    /// arrival times.
    schedule: Option<Schedule>,
    queue: VecDeque<(RequestSpec, Instant)>,
    /// The planned rates and when the plan began; ended by a live change.
    profile: Option<(Profile, Instant)>,
    /// When the live counters last heard the planned rate.
    profile_published: Instant,
    /// The plan's segment under way (its start is a change of limits).
    plan_segment: Option<usize>,
    /// When the run began, for the times of its limit changes.
    began: Instant,
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
        transport: Arc<Transport>,
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
            answered: false,
            advised: None,
            advised_share: ADVISED_SHARE,
            profile: config.profile.clone().map(|p| (p, now)),
            coalesce: config.coalesce.clone(),
            batches: 0,
            schedule: config
                .arrivals
                .clone()
                .filter(|_| config.coalesce.is_some())
                .map(|a| Schedule::new(a, now)),
            queue: VecDeque::new(),
            profile_published: now,
            plan_segment: None,
            began: now,
            state: RunState::Running,
            stop_deadline: None,
            stop_grace: config.stop_grace,
            commands,
            commands_open: true,
            events,
            live,
            ctx: Arc::new(TaskContext {
                transport,
                max_redirects: config.max_redirects,
                timeout: config.timeout,
                keep_body: config.keep_body,
                capture: config.capture || config.keep_body.is_some(),
                retries: config.retries,
                redact: config.redact,
                max_wait: config.max_wait,
                answers: records.clone(),
            }),
            records,
        }
    }

    pub(super) async fn run(mut self) {
        self.live.set_state(RunState::Running);
        let by = if self.profile.is_some() {
            ChangedBy::Plan
        } else {
            ChangedBy::Start
        };
        self.changed(self.limits, by, None);
        self.changed_batching();
        loop {
            self.refill_head();
            if self.is_finished() {
                break;
            }
            let now = Instant::now();
            // An arrival wakes the loop too (it may fill or open a call).
            let dispatch_at = match (self.next_dispatch_at(now), self.next_arrival()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
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

    /// When the next item arrives, while items are still to come.
    fn next_arrival(&self) -> Option<Instant> {
        let schedule = self.schedule.as_ref()?;
        (self.state == RunState::Running && self.head.is_some()).then(|| schedule.next())
    }

    /// Items whose time has come join the queue, with the time they were
    /// due (a late wake-up does not make them younger).
    fn take_arrivals(&mut self, now: Instant) {
        while let Some(due) = self.next_arrival().filter(|at| *at <= now) {
            let Some(spec) = self.head.take() else { break };
            self.queue.push_back((spec, due));
            if let Some(schedule) = self.schedule.as_mut() {
                schedule.advance();
            }
            // The next one is known now: the last item's call need not
            // wait for an arrival that never comes.
            self.refill_head();
        }
    }

    /// When a call of queued items may go, limits aside: at once when it
    /// is full or no item is left to come, else when its oldest item has
    /// waited the window. `None` with nothing queued.
    fn call_ready_at(&self, now: Instant) -> Option<Instant> {
        let coalesce = self.coalesce.as_ref()?;
        let &(_, oldest) = self.queue.front()?;
        let none_to_come = self.head.is_none() && self.source_done;
        if self.queue.len() >= coalesce.max_items || none_to_come {
            return Some(now);
        }
        Some(oldest + coalesce.window.unwrap_or_default())
    }

    /// When the call at the front became ready: when it filled, or its
    /// oldest item's window closed (for the call's `wait`).
    fn call_ready_since(&self, now: Instant) -> Instant {
        let Some(coalesce) = self.coalesce.as_ref() else {
            return now;
        };
        match self.queue.get(coalesce.max_items.saturating_sub(1)) {
            Some(&(_, filled)) => filled,
            None => self.queue.front().map_or(now, |&(_, oldest)| {
                (oldest + coalesce.window.unwrap_or_default()).min(now)
            }),
        }
    }

    fn is_finished(&self) -> bool {
        let nothing_left = self.head.is_none()
            && self.source_done
            && self.retries.is_empty()
            && self.queue.is_empty();
        self.tasks.is_empty() && (nothing_left || self.state == RunState::Stopping)
    }

    fn has_capacity(&self) -> bool {
        // Respecting limits, the first request goes alone: its answer says
        // what the server allows, before a burst could run into it.
        let cap = if self.respect_limits && !self.answered {
            Some(1)
        } else {
            self.limits.max_at_once
        };
        cap.is_none_or(|cap| (self.tasks.len() as u64) < cap)
    }

    /// When the next request becomes available to start, limits aside.
    fn candidate_at(&self, now: Instant) -> Option<Instant> {
        let retry_due = self.retries.peek().map(|r| r.0.due);
        if self.schedule.is_some() {
            return match (self.call_ready_at(now), retry_due) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
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
            Command::SetLimits(limits) | Command::Tune(limits) => {
                // The user (or a controller) took the rate over.
                let by = match command {
                    Command::Tune(_) => ChangedBy::AutoTune,
                    _ => ChangedBy::User,
                };
                self.profile = None;
                self.limits = limits;
                self.pacer
                    .set_rate(self.paced(limits.per_second), limits.burst, now);
                self.live.set_server_paced(
                    self.advised
                        .is_some_and(|a| limits.per_second.is_none_or(|r| a < r)),
                );
                self.live.set_limits(limits);
                self.changed(limits, by, None);
                let _ = self.events.send(Event::LimitsApplied(limits));
            }
            Command::SetMaxItems(n) => {
                if let Some(c) = &self.coalesce {
                    let mut next = (**c).clone();
                    next.max_items = n.max(1);
                    self.coalesce = Some(Arc::new(next));
                }
                self.changed_batching();
            }
            Command::SetWindow(window) => {
                if let Some(c) = &self.coalesce {
                    let mut next = (**c).clone();
                    next.window = Some(window);
                    self.coalesce = Some(Arc::new(next));
                }
                self.changed_batching();
            }
            Command::SetArrivalRate(rate) => {
                if let Some(schedule) = self.schedule.as_mut()
                    && crate::model::arrivals::check_rate(rate).is_ok()
                {
                    schedule.set_rate(rate, now);
                }
                self.changed_batching();
            }
            Command::SetMaxConnections(cap) => {
                self.ctx
                    .transport
                    .set_max_connections(cap.filter(|c| *c > 0));
            }
            Command::Pause if self.state == RunState::Running => {
                self.state = RunState::Paused;
                self.live.set_state(self.state);
                let _ = self.events.send(Event::Paused);
            }
            Command::Resume if self.state == RunState::Paused => {
                self.state = RunState::Running;
                self.pacer.reset(now);
                // Arrivals stopped with the pause; they go on from now.
                if let Some(schedule) = self.schedule.as_mut() {
                    schedule.resume(now);
                }
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
        if self.schedule.is_some() {
            self.take_arrivals(Instant::now());
        }
        self.dispatch_starts();
        if self.schedule.is_some() {
            // The queue and a planned arrival rate, for the live view.
            self.changed_batching();
        }
    }

    /// Starts what is due: requests one by one, or (coalescing) calls of
    /// items: filled from the batch when every item is ready at the
    /// start, else from the queue of arrived items.
    fn dispatch_starts(&mut self) {
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
            let call_due = self.call_ready_at(now).is_some_and(|at| at <= now);
            let fresh = if self.schedule.is_some() {
                call_due
            } else {
                self.head.is_some()
            };
            if !retry_due && !fresh {
                return;
            }
            if !self.pacer.try_acquire(now) {
                return;
            }
            let (work, attempts, ready_since, history) = if retry_due {
                let Reverse(retry) = self.retries.pop().expect("peeked");
                self.live
                    .set_next_retry(self.retries.peek().map(|r| r.0.due));
                if retry.poll {
                    self.live.job_pending(false);
                    self.publish_oldest_job();
                } else if !retry.hop {
                    self.live.retry_left_queue();
                }
                // A poll or a hop keeps the attempt count; a retry adds one.
                let attempts = retry.attempts + u32::from(!retry.poll && !retry.hop);
                let ready = retry.due.max(self.head_since);
                (retry.work, attempts, ready, retry.history)
            } else if self.schedule.is_some() {
                let max_items = self.coalesce.as_ref().map_or(1, |c| c.max_items);
                let ready = self.call_ready_since(now);
                let take = self.queue.len().min(max_items);
                let (items, arrived): (Vec<_>, Vec<_>) = self.queue.drain(..take).unzip();
                self.batches += 1;
                let work = Work::Batch(Arc::new(BatchWork {
                    number: self.batches,
                    full: items.len() == max_items,
                    items,
                    arrived,
                    stage: Stage::Call,
                }));
                (work, 1, ready, Vec::new())
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
                            arrived: Vec::new(),
                            full: false,
                            stage: Stage::Call,
                        }))
                    }
                };
                (work, 1, self.head_since, Vec::new())
            };
            if self.schedule.is_none() {
                self.head_since = now;
            }
            let wait = now.saturating_duration_since(ready_since);
            self.spawn(work, attempts, wait, history);
            if self.schedule.is_none() {
                self.refill_head();
            }
        }
    }

    fn spawn(&mut self, work: Work, attempts: u32, wait: Duration, history: Vec<AttemptEntry>) {
        let ctx = self.ctx.clone();
        let handle = match (&work, &self.coalesce) {
            (Work::One(_) | Work::Hop(_), _) => {
                self.tasks
                    .spawn(run_attempt(ctx, work.clone(), attempts, wait))
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
                history,
            },
        );
        self.live.started(self.tasks.len() as u64);
    }

    fn on_joined(&mut self, joined: Result<(Id, TaskOutcome), JoinError>) {
        let id = match &joined {
            Ok((id, _)) => *id,
            Err(e) => e.id(),
        };
        let info = self.running.remove(&id);
        self.answered = true;
        let mut history = info.as_ref().map_or_else(Vec::new, |i| i.history.clone());
        let mut records = match joined {
            Ok((_, TaskOutcome::Done(records))) => records,
            Ok((
                _,
                TaskOutcome::Retry {
                    work,
                    attempts,
                    delay,
                    mut last,
                    poll,
                },
            )) => {
                let stopping = self.state == RunState::Stopping;
                if !poll && let Some(attempt) = last.first().cloned() {
                    // The server speaking: a Retry-After holds new starts.
                    self.observe_server(&attempt);
                    attach(&mut last, &history);
                    history.push(AttemptEntry::of(&attempt));
                    // A retried request's answer counts now (a batch
                    // call's was counted by its task); when the run stops
                    // instead, the attempt is the request's final result.
                    if matches!(work, Work::One(_)) && !stopping {
                        let _ = self.records.send(AggMsg::Answer {
                            record: Box::new(attempt),
                            retried: true,
                        });
                    }
                }
                if stopping && !last.is_empty() {
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
                        hop: false,
                        history: std::mem::take(&mut history),
                    }));
                    self.live
                        .set_next_retry(self.retries.peek().map(|r| r.0.due));
                    if poll {
                        self.live.job_pending(true);
                        self.publish_oldest_job();
                    } else {
                        self.live.retry_queued();
                    }
                    Vec::new()
                }
            }
            Ok((
                _,
                TaskOutcome::Redirect {
                    work,
                    attempts,
                    answer,
                },
            )) => self.on_redirect(work, attempts, answer, &mut history),
            Err(e) => info
                .map(|info| lost_records(&info, &e, self.ctx.redact))
                .unwrap_or_default(),
        };
        attach(&mut records, &history);
        self.live.finished(self.tasks.len() as u64);
        if let Some(last) = records.last() {
            self.observe_server(last);
        }
        for record in records {
            let _ = self.records.send(AggMsg::Record(Box::new(record)));
        }
    }

    /// A hop answered with a redirect: the answer counts now, and the next
    /// hop waits its turn like a retry due at once (the pacer and the cap
    /// see every request the server sees). A stopping run keeps the 3xx
    /// as the request's result.
    fn on_redirect(
        &mut self,
        work: Work,
        attempts: u32,
        answer: Box<RequestRecord>,
        history: &mut Vec<AttemptEntry>,
    ) -> Vec<RequestRecord> {
        self.observe_server(&answer);
        if self.state == RunState::Stopping {
            return vec![*answer];
        }
        history.push(AttemptEntry::of(&answer));
        let _ = self.records.send(AggMsg::Answer {
            record: answer,
            retried: false,
        });
        self.retry_seq += 1;
        let last = lost_items(
            &work,
            attempts,
            "the run was stopped between two redirects",
            self.ctx.redact,
        );
        self.retries.push(Reverse(PendingRetry {
            due: Instant::now(),
            seq: self.retry_seq,
            work,
            attempts,
            last,
            poll: false,
            hop: true,
            history: std::mem::take(history),
        }));
        self.live
            .set_next_retry(self.retries.peek().map(|r| r.0.due));
        Vec::new()
    }

    /// Sets the pacer to the planned rate for `now`, and tells the live
    /// counters a few times a second (the UI shows it as the target).
    fn follow_profile(&mut self, now: Instant) {
        let Some((profile, began)) = &self.profile else {
            return;
        };
        let elapsed = now.saturating_duration_since(*began);
        let rate = profile.rate_at(elapsed);
        let paced = self.paced(Some(rate)).unwrap_or(rate);
        self.pacer.retune(paced);
        let segment = profile.segment_at(elapsed);
        if self.plan_segment != Some(segment) {
            // A stage or a ramp begins: a phase of its own.
            let ramp_to = profile
                .segments()
                .get(segment)
                .filter(|s| s.from != s.to)
                .map(|s| s.to);
            self.plan_segment = Some(segment);
            self.limits.per_second = Some(rate);
            self.changed(self.limits, ChangedBy::Plan, ramp_to);
        }
        if now.saturating_duration_since(self.profile_published) >= PROFILE_STEP {
            self.profile_published = now;
            self.limits.per_second = Some(rate);
            self.live.set_limits(self.limits);
        }
    }

    /// Tells the aggregator the limits changed, and who changed them.
    /// The grouping as it is now, for the live view.
    fn changed_batching(&self) {
        let now = Instant::now();
        let batching = self.coalesce.as_ref().map(|c| super::live::Batching {
            max_items: c.max_items,
            window: self.schedule.as_ref().map(|_| c.window.unwrap_or_default()),
            arrival_rate: self.schedule.as_ref().map(|s| s.rate(now)),
            queued: self.queue.len(),
        });
        self.live.set_batching(batching);
    }

    fn changed(&self, limits: Limits, by: ChangedBy, ramp_to: Option<f64>) {
        let _ = self.records.send(AggMsg::Limits(LimitChange {
            at_s: self.began.elapsed().as_secs_f64(),
            limits,
            by,
            ramp_to,
        }));
    }

    /// The rate starts go at: the limit's (or the plan's), but never past
    /// what the server advertises when `respect_limits` is on.
    fn paced(&self, rate: Option<f64>) -> Option<f64> {
        match (rate, self.advised) {
            (Some(r), Some(a)) => Some(r.min(a)),
            (r, a) => r.or(a),
        }
    }

    /// With `respect_limits`, follows what the server says. A policy (q
    /// requests per w seconds) paces the starts a little under q/w, so a
    /// bucket with no burst is met rather than hit; a refusal then means the
    /// pace was a hair too quick for the server's clock: the pace steps
    /// down (and creeps back as answers come), and only the refused request
    /// waits out its Retry-After (as every retry does). With no rate to
    /// pace to, a 429's or 503's Retry-After, or "none remaining until the
    /// reset", holds every new start until then. (With a rate, "none
    /// remaining" is what a burst-1 bucket says after every request:
    /// pacing is the answer, not a stop at each one.)
    fn observe_server(&mut self, record: &RequestRecord) {
        if !self.respect_limits {
            return;
        }
        let Some(mut signals) = record.rate_limit else {
            return;
        };
        let refused = matches!(record.status, Some(429 | 503)) && signals.retry_after_s.is_some();
        if let Some(rate) = signals.per_second() {
            self.advised_share = if refused {
                (self.advised_share - ADVISED_STEP_DOWN).max(ADVISED_FLOOR)
            } else {
                (self.advised_share + ADVISED_CREEP).min(ADVISED_SHARE)
            };
            let advised = rate * self.advised_share;
            if self
                .advised
                .is_none_or(|a| (a - advised).abs() > advised * 0.001)
            {
                self.advised = Some(advised);
                let now = Instant::now();
                let planned = self
                    .profile
                    .as_ref()
                    .map(|(p, began)| p.rate_at(now.saturating_duration_since(*began)));
                let wanted = planned.or(self.limits.per_second);
                self.pacer
                    .set_rate(self.paced(wanted), self.limits.burst, now);
                self.live
                    .set_server_paced(wanted.is_none_or(|r| advised < r));
            }
            return;
        }
        if !matches!(record.status, Some(429 | 503)) {
            signals.retry_after_s = None;
        }
        // A reset or Retry-After past --max-wait holds no longer than it:
        // the run goes on, and a request the server refuses again fails.
        if let Some(hold) = signals.hold().map(|h| h.min(self.ctx.max_wait)) {
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
                Work::One(_) | Work::Hop(_) => None,
            })
            .min();
        self.live.set_oldest_job(oldest);
    }

    /// Records what a stop left behind and tells the aggregator it is over.
    fn finish(mut self) {
        let stopped = self.state == RunState::Stopping;
        while let Some(Reverse(retry)) = self.retries.pop() {
            let mut last = if retry.poll {
                self.live.job_pending(false);
                lost_items(
                    &retry.work,
                    retry.attempts,
                    "the run was stopped while its job was pending",
                    self.ctx.redact,
                )
            } else {
                if !retry.hop {
                    self.live.retry_left_queue();
                }
                retry.last
            };
            attach(&mut last, &retry.history);
            for record in last {
                // Its attempt was counted as an answer when it was retried.
                let _ = self.records.send(AggMsg::Kept(Box::new(record)));
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

/// Gives records (one request's, or a batch's items) the attempts before
/// theirs, unless they have them already.
fn attach(records: &mut [RequestRecord], history: &[AttemptEntry]) {
    if history.is_empty() {
        return;
    }
    for record in records.iter_mut().filter(|r| r.attempts_log.is_empty()) {
        record.attempts_log = history.to_vec();
    }
}
