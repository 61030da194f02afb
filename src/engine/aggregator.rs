//! The aggregator task: consumes finished records in completion order,
//! writes them to the journal, folds them into stats, and publishes
//! snapshots on a timer. It is the only writer of the journal.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior, interval};

use super::live::LiveCounters;
use super::snapshot::Snapshotter;
use super::{Command, Event};
use crate::export::RecordSink;
use crate::model::{LimitChange, RequestRecord, RunState};
use crate::stats::{RunSummary, Stats, StatsSnapshot};

/// Messages from the dispatcher.
#[derive(Debug)]
pub(crate) enum AggMsg {
    /// A request's final result (its last attempt is an answer too).
    Record(Box<RequestRecord>),
    /// A request's final result whose last attempt was counted already
    /// (as a retried answer, before the run stopped).
    Kept(Box<RequestRecord>),
    /// An answer that is no request's final result: a retried attempt,
    /// or a batch call or job poll; `retried`: it goes again.
    Answer {
        record: Box<RequestRecord>,
        retried: bool,
    },
    /// The limits changed (or the run began with them).
    Limits(LimitChange),
    /// The dispatcher is done; no more records follow.
    Done { stopped: bool },
}

pub(crate) struct Aggregator {
    total: Option<u64>,
    live: Arc<LiveCounters>,
    sink: Box<dyn RecordSink>,
    sink_failed: bool,
    stats: Stats,
    snapshotter: Snapshotter,
    snapshots: watch::Sender<StatsSnapshot>,
    events: mpsc::UnboundedSender<Event>,
    commands: mpsc::UnboundedSender<Command>,
    started_at: Instant,
    last_done_at: Option<Instant>,
    /// The items go in batch calls (`coalesce`).
    coalesced: bool,
}

impl Aggregator {
    pub(crate) fn new(
        total: Option<u64>,
        live: Arc<LiveCounters>,
        sink: Box<dyn RecordSink>,
        snapshots: watch::Sender<StatsSnapshot>,
        events: mpsc::UnboundedSender<Event>,
        commands: mpsc::UnboundedSender<Command>,
        coalesced: bool,
    ) -> Self {
        let started_at = Instant::now();
        Self {
            total,
            live,
            sink,
            sink_failed: false,
            stats: Stats::default(),
            snapshotter: Snapshotter::new(total, started_at),
            snapshots,
            events,
            commands,
            started_at,
            last_done_at: None,
            coalesced,
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
                        self.stats.add(&record);
                        self.record(&record, records.is_empty());
                    }
                    Some(AggMsg::Kept(record)) => {
                        self.stats.add_result(&record);
                        self.record(&record, records.is_empty());
                    }
                    Some(AggMsg::Answer { record, retried }) => {
                        self.stats.add_answer(&record, retried);
                        if record.rate_limit.is_some() {
                            self.snapshotter.server_at = Some(self.started_at.elapsed());
                        }
                    }
                    Some(AggMsg::Limits(change)) => self.stats.phases.change(change),
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
        let live = self.live.read();
        let summary = RunSummary {
            max_in_flight: live.max_in_flight,
            retries: live.retries,
            not_sent: self.total.map_or(0, |t| t.saturating_sub(self.stats.done)),
            stopped,
            held_by_server_s: live.held_total.as_secs_f64(),
            calls: live.started,
            coalesced: self.coalesced,
            phases: self
                .stats
                .phases
                .finish(self.started_at.elapsed().as_secs_f64()),
            ..RunSummary::new(self.stats.totals(), wall)
        };
        self.publish(Some(RunState::Done));
        let _ = self.events.send(Event::Finished(Box::new(summary.clone())));
        summary
    }

    /// Journals a final result (the stats have taken it); flushes when no
    /// more are queued.
    fn record(&mut self, record: &RequestRecord, flush: bool) {
        let now = Instant::now();
        self.last_done_at = Some(now);
        if record.rate_limit.is_some() {
            self.snapshotter.server_at = Some(now.duration_since(self.started_at));
        }
        if !self.sink_failed
            && let Err(e) = self.sink.write(record)
        {
            self.journal_failed(e);
        }
        if flush {
            self.flush();
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
        let live = self.live.read();
        let snapshot = self.snapshotter.snapshot(&mut self.stats, &live, state);
        self.snapshots.send_replace(snapshot);
    }
}
