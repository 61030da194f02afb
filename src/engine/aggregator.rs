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
use crate::stats::{JournalFault, RunSummary, Stats, StatsSnapshot};

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

/// The longest results wait in the journal's buffer while results keep
/// coming (a crash loses at most this much; the tick flushes when idle).
const FLUSH_EVERY: Duration = Duration::from_millis(20);

pub(crate) struct Aggregator {
    total: Option<u64>,
    live: Arc<LiveCounters>,
    sink: Box<dyn RecordSink>,
    /// The journal's first write error: from then on results are kept
    /// here (the run is stopping, so they are few) and tried again at the
    /// end.
    sink_error: Option<String>,
    pending: Vec<RequestRecord>,
    /// Results handed to the journal, and of those the ones a flush has
    /// confirmed.
    written: u64,
    flushed: u64,
    last_flush: Instant,
    stats: Stats,
    snapshotter: Snapshotter,
    snapshots: watch::Sender<StatsSnapshot>,
    events: mpsc::UnboundedSender<Event>,
    commands: mpsc::UnboundedSender<Command>,
    started_at: Instant,
    last_done_at: Option<Instant>,
    /// The items go in batch calls (`coalesce`).
    coalesced: bool,
    /// How the transport departs from the defaults, for the summary.
    pub(crate) transport: Option<String>,
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
            sink_error: None,
            pending: Vec::new(),
            written: 0,
            flushed: 0,
            last_flush: Instant::now(),
            stats: Stats::default(),
            snapshotter: Snapshotter::new(total, started_at),
            snapshots,
            events,
            commands,
            started_at,
            last_done_at: None,
            coalesced,
            transport: None,
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
                        let flush = self.flush_due(records.is_empty());
                        self.record(&record, flush);
                    }
                    Some(AggMsg::Kept(record)) => {
                        self.stats.add_result(&record);
                        let flush = self.flush_due(records.is_empty());
                        self.record(&record, flush);
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
                _ = tick.tick() => {
                    self.flush_idle();
                    self.publish(None);
                }
            }
        }
        let journal_fault = self.finish_journal();
        let wall = self
            .last_done_at
            .map_or(Duration::ZERO, |t| t.duration_since(self.started_at));
        let live = self.live.read();
        let summary = RunSummary {
            max_in_flight: live.max_in_flight,
            connections_opened: live.connections.opened,
            retries: live.retries,
            not_sent: self.total.map_or(0, |t| t.saturating_sub(self.stats.done)),
            stopped,
            held_by_server_s: live.held_total.as_secs_f64(),
            calls: live.started,
            coalesced: self.coalesced,
            transport: self.transport.take(),
            phases: self
                .stats
                .phases
                .finish(self.started_at.elapsed().as_secs_f64()),
            journal_fault,
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
        if self.sink_error.is_some() {
            self.pending.push(record.clone());
            return;
        }
        match self.sink.write(record) {
            Ok(()) => self.written += 1,
            Err(e) => {
                self.pending.push(record.clone());
                self.journal_failed(e);
                return;
            }
        }
        if flush {
            match self.sink.flush() {
                Ok(()) => self.flushed = self.written,
                Err(e) => self.journal_failed(e),
            }
        }
    }

    /// A journal that cannot be written means results would be lost: stop
    /// sending, and keep what comes back meanwhile for the end.
    fn journal_failed(&mut self, e: std::io::Error) {
        if self.sink_error.is_none() {
            self.sink_error = Some(e.to_string());
            let _ = self.events.send(Event::JournalFailed(e.to_string()));
            let _ = self.commands.send(Command::Stop { grace: None });
        }
    }

    /// Closes the journal. After a write error, tries once more to write
    /// what it holds and what was kept (space may have been freed; the
    /// buffered writer carries on from where it stopped), and says what is
    /// in no file.
    fn finish_journal(&mut self) -> Option<JournalFault> {
        let Some(error) = self.sink_error.clone() else {
            return match self.sink.finish() {
                Ok(()) => None,
                Err(e) => {
                    self.journal_failed(e);
                    Some(JournalFault {
                        error: self.sink_error.clone().unwrap_or_default(),
                        written: self.flushed,
                        unwritten: self.written - self.flushed,
                    })
                }
            };
        };
        let pending = std::mem::take(&mut self.pending);
        let retried = self.sink.flush().and_then(|()| {
            pending
                .iter()
                .try_for_each(|r| self.sink.write(r))
                .and_then(|()| self.sink.finish())
        });
        Some(match retried {
            Ok(()) => JournalFault {
                error,
                written: self.written + pending.len() as u64,
                unwritten: 0,
            },
            Err(_) => JournalFault {
                error,
                written: self.flushed,
                unwritten: self.written - self.flushed + pending.len() as u64,
            },
        })
    }

    /// Whether to flush the journal after this record: when nothing else
    /// is waiting and the last flush is [`FLUSH_EVERY`] old. A flush per
    /// result was a write(2) per request at full speed (its profile's
    /// biggest item after the HTTP path); the tick flushes what is left.
    fn flush_due(&mut self, idle: bool) -> bool {
        let now = Instant::now();
        if idle && now.duration_since(self.last_flush) >= FLUSH_EVERY {
            self.last_flush = now;
            true
        } else {
            false
        }
    }

    /// Flushes results written since the last flush (on the tick).
    fn flush_idle(&mut self) {
        if self.written > self.flushed && self.sink_error.is_none() {
            self.last_flush = Instant::now();
            match self.sink.flush() {
                Ok(()) => self.flushed = self.written,
                Err(e) => self.journal_failed(e),
            }
        }
    }

    fn publish(&mut self, state: Option<RunState>) {
        let live = self.live.read();
        let snapshot = self.snapshotter.snapshot(&mut self.stats, &live, state);
        self.snapshots.send_replace(snapshot);
    }
}
