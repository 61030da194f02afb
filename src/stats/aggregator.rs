//! The aggregator task: consumes finished records in completion order,
//! writes them to the journal, folds them into stats, and publishes
//! snapshots on a timer. It is the only writer of the journal.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior, interval};

use super::{LatencyHistogram, LiveCounters, Percentiles, RateMeter, Stats, StatsSnapshot};

/// The slice of time recent latency is kept in.
const QUARTER: Duration = Duration::from_millis(250);
use crate::engine::{Command, Event, RunState};
use crate::export::{RecordSink, RequestRecord, RunSummary};

/// Messages from the dispatcher.
#[derive(Debug)]
pub(crate) enum AggMsg {
    Record(Box<RequestRecord>),
    /// The dispatcher is done; no more records follow.
    Done {
        stopped: bool,
    },
}

pub(crate) struct Aggregator {
    total: Option<u64>,
    live: Arc<LiveCounters>,
    sink: Box<dyn RecordSink>,
    sink_failed: bool,
    stats: Stats,
    rates: RateMeter,
    snapshots: watch::Sender<StatsSnapshot>,
    events: mpsc::UnboundedSender<Event>,
    commands: mpsc::UnboundedSender<Command>,
    started_at: Instant,
    last_done_at: Option<Instant>,
    /// Latency over the last second as four quarter-second slices: when
    /// the current slice began, and the three before it.
    window_start: Instant,
    past_quarters: std::collections::VecDeque<LatencyHistogram>,
    /// The four quarters summed, reused at each rotation.
    second: LatencyHistogram,
    recent_latency: Percentiles,
    server_at: Option<Duration>,
}

impl Aggregator {
    pub(crate) fn new(
        total: Option<u64>,
        live: Arc<LiveCounters>,
        sink: Box<dyn RecordSink>,
        snapshots: watch::Sender<StatsSnapshot>,
        events: mpsc::UnboundedSender<Event>,
        commands: mpsc::UnboundedSender<Command>,
    ) -> Self {
        Self {
            total,
            live,
            sink,
            sink_failed: false,
            stats: Stats::default(),
            rates: RateMeter::default(),
            snapshots,
            events,
            commands,
            started_at: Instant::now(),
            last_done_at: None,
            window_start: Instant::now(),
            past_quarters: std::collections::VecDeque::new(),
            second: LatencyHistogram::default(),
            recent_latency: Percentiles::default(),
            server_at: None,
        }
    }

    pub(crate) async fn run(
        mut self,
        mut records: mpsc::UnboundedReceiver<AggMsg>,
        every: Duration,
    ) -> RunSummary {
        let mut tick = interval(every);
        tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut stopped = false;
        loop {
            tokio::select! {
                msg = records.recv() => match msg {
                    Some(AggMsg::Record(record)) => {
                        self.add(&record);
                        if records.is_empty() {
                            self.flush();
                        }
                    }
                    Some(AggMsg::Done { stopped: s }) => {
                        stopped = s;
                        break;
                    }
                    None => break,
                },
                _ = tick.tick() => self.publish(None),
            }
        }
        if let Err(e) = self.sink.finish() {
            self.journal_failed(e);
        }
        let wall = self
            .last_done_at
            .map_or(Duration::ZERO, |t| t.duration_since(self.started_at));
        let summary = self
            .stats
            .summary(wall, &self.live.read(), self.total, stopped);
        self.publish(Some(RunState::Done));
        let _ = self.events.send(Event::Finished(Box::new(summary.clone())));
        summary
    }

    fn add(&mut self, record: &RequestRecord) {
        self.stats.add(record);
        let now = Instant::now();
        self.last_done_at = Some(now);
        if record.rate_limit.is_some() {
            self.server_at = Some(now.duration_since(self.started_at));
        }
        if !self.sink_failed
            && let Err(e) = self.sink.write(record)
        {
            self.journal_failed(e);
        }
    }

    fn flush(&mut self) {
        if !self.sink_failed
            && let Err(e) = self.sink.flush()
        {
            self.journal_failed(e);
        }
    }

    /// A journal that cannot be written means results would be lost: stop.
    fn journal_failed(&mut self, e: std::io::Error) {
        if !self.sink_failed {
            self.sink_failed = true;
            let _ = self.events.send(Event::JournalFailed(e.to_string()));
            let _ = self.commands.send(Command::Stop { grace: None });
        }
    }

    fn publish(&mut self, state: Option<RunState>) {
        let now = Instant::now();
        let live = self.live.read();
        let rate_limited = self.stats.by_status.get(&429).copied().unwrap_or(0);
        let [start_rate, completion_rate, rate_limited_rate] = self
            .rates
            .sample(now, [live.started, self.stats.done, rate_limited]);
        if now.duration_since(self.window_start) >= QUARTER {
            // The last second, ending at most a quarter of a second ago,
            // summed into one histogram kept for the purpose.
            self.second.clear();
            self.second.add(&self.stats.window_latency);
            for quarter in &self.past_quarters {
                self.second.add(quarter);
            }
            self.recent_latency = self.second.percentiles();
            // The oldest quarter, emptied, becomes the current one: the
            // four histograms are allocated once per run.
            let fresh = match self.past_quarters.len() {
                3 => {
                    let mut oldest = self.past_quarters.pop_front().expect("three");
                    oldest.clear();
                    oldest
                }
                _ => LatencyHistogram::default(),
            };
            let done = std::mem::replace(&mut self.stats.window_latency, fresh);
            self.past_quarters.push_back(done);
            self.window_start = now;
        }
        let s = &self.stats;
        let snapshot = StatsSnapshot {
            state: state.unwrap_or(live.control.state),
            limits: live.control.limits,
            binding: super::binding(
                live.control.state,
                live.control.limits,
                start_rate,
                live.in_flight,
                live.held_now,
            ),
            total: self.total,
            done: s.done,
            ok: s.ok,
            failed: s.failed,
            started: live.started,
            in_flight: live.in_flight,
            max_in_flight: live.max_in_flight,
            retries: live.retries,
            retrying: live.retrying,
            jobs_pending: live.jobs_pending,
            oldest_job: live.oldest_job,
            batches: s.batches.stats(),
            elapsed: now.duration_since(self.started_at),
            start_rate,
            completion_rate,
            latency: s.latency.percentiles(),
            recent_latency: self.recent_latency,
            rate_limited_rate,
            server: s.server,
            server_at: self.server_at,
            held_by_server: live.held_total,
            wait: s.wait.percentiles(),
            by_status: s.by_status.clone(),
            by_error: s.by_error.clone(),
            errors: s.errors.top(),
            endpoints: s.endpoints.top(super::SNAPSHOT_ENDPOINTS),
        };
        self.snapshots.send_replace(snapshot);
    }
}
