//! Counters the dispatcher writes and the aggregator reads for snapshots.
//! Plain atomics: the dispatcher never waits on a reader.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use tokio::time::Instant;

use crate::model::{Limits, RunState};

#[derive(Debug)]
pub struct LiveCounters {
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
    /// Attempts started (first tries and retries).
    started: AtomicU64,
    /// Attempts beyond the first.
    retries: AtomicU64,
    /// Requests waiting out a retry backoff.
    retrying: AtomicU64,
    /// Batch jobs waiting for their next poll (`coalesce`), and since
    /// when the oldest has been pending (µs after `origin`, 0: none).
    jobs_pending: AtomicU64,
    oldest_job_us: AtomicU64,
    /// Starts held because the server asked: until when (µs after
    /// `origin`), and for how long in all (µs).
    held_until_us: AtomicU64,
    held_total_us: AtomicU64,
    /// When the soonest waiting retry or poll is due (µs after `origin`,
    /// 0: none).
    next_retry_us: AtomicU64,
    /// Starts are paced to the rate the server advertises, below the
    /// user's (`respect_limits`).
    server_paced: std::sync::atomic::AtomicBool,
    origin: Instant,
    control: Mutex<Control>,
    /// The transport's connections (it counts them as they open and close).
    connections: std::sync::Arc<super::connect::Connections>,
}

/// The rarely changing part, read together.
#[derive(Debug, Clone, Copy)]
pub struct Control {
    pub state: RunState,
    pub limits: Limits,
    /// A coalescing run's grouping, as it is now.
    pub batching: Option<Batching>,
}

/// How a coalescing run groups its items right now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Batching {
    pub max_items: usize,
    /// With arrivals: the window and the arrival rate (items/s).
    pub window: Option<Duration>,
    pub arrival_rate: Option<f64>,
    /// Items arrived and waiting for a call.
    pub queued: usize,
}

/// A consistent-enough reading of the counters.
#[derive(Debug, Clone, Copy)]
pub struct LiveReading {
    pub in_flight: u64,
    pub max_in_flight: u64,
    pub started: u64,
    pub retries: u64,
    pub retrying: u64,
    pub jobs_pending: u64,
    /// How long the oldest pending job has waited for its results.
    pub oldest_job: Option<Duration>,
    /// Starts are held by the server's signals right now, or paced to the
    /// rate it advertises.
    pub held_now: bool,
    pub held_total: Duration,
    /// How long the server's hold has left (a Retry-After, a reset).
    pub hold_left: Option<Duration>,
    /// How long until the soonest waiting retry or poll.
    pub next_retry_in: Option<Duration>,
    pub control: Control,
    pub connections: crate::stats::ConnectionCount,
}

impl LiveCounters {
    pub fn new(limits: Limits, connections: std::sync::Arc<super::connect::Connections>) -> Self {
        Self {
            connections,
            in_flight: AtomicU64::new(0),
            max_in_flight: AtomicU64::new(0),
            started: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            retrying: AtomicU64::new(0),
            jobs_pending: AtomicU64::new(0),
            oldest_job_us: AtomicU64::new(0),
            held_until_us: AtomicU64::new(0),
            held_total_us: AtomicU64::new(0),
            next_retry_us: AtomicU64::new(0),
            server_paced: std::sync::atomic::AtomicBool::new(false),
            origin: Instant::now(),
            control: Mutex::new(Control {
                batching: None,
                // A run is going from the moment it is made: a snapshot taken
                // before the dispatcher's first turn must not say idle.
                state: RunState::Running,
                limits,
            }),
        }
    }

    pub(crate) fn started(&self, in_flight: u64) {
        self.started.fetch_add(1, Relaxed);
        self.in_flight.store(in_flight, Relaxed);
        self.max_in_flight.fetch_max(in_flight, Relaxed);
    }

    pub(crate) fn finished(&self, in_flight: u64) {
        self.in_flight.store(in_flight, Relaxed);
    }

    pub(crate) fn retry_queued(&self) {
        self.retries.fetch_add(1, Relaxed);
        self.retrying.fetch_add(1, Relaxed);
    }

    pub(crate) fn retry_left_queue(&self) {
        self.retrying.fetch_sub(1, Relaxed);
    }

    /// A batch job will be polled again (`true`), or is being polled or
    /// given up (`false`).
    pub(crate) fn job_pending(&self, pending: bool) {
        if pending {
            self.jobs_pending.fetch_add(1, Relaxed);
        } else {
            self.jobs_pending.fetch_sub(1, Relaxed);
        }
    }

    /// Starts are held until `until` (never shortened): counts the time
    /// this adds to the hold.
    pub(crate) fn hold_until(&self, until: Instant) {
        let micros = |t: Instant| t.saturating_duration_since(self.origin).as_micros() as u64;
        let until = micros(until);
        let now = micros(Instant::now());
        let before = self.held_until_us.fetch_max(until, Relaxed);
        let added = until.saturating_sub(before.max(now));
        self.held_total_us.fetch_add(added, Relaxed);
    }

    /// When the soonest waiting retry is due (`None`: none waits).
    pub(crate) fn set_next_retry(&self, due: Option<Instant>) {
        let us = due.map_or(0, |t| {
            (t.saturating_duration_since(self.origin).as_micros() as u64).max(1)
        });
        self.next_retry_us.store(us, Relaxed);
    }

    /// Starts are paced to the server's advertised rate (or not).
    pub(crate) fn set_server_paced(&self, paced: bool) {
        self.server_paced.store(paced, Relaxed);
    }

    /// Since when the oldest pending job has waited (`None`: no job).
    pub(crate) fn set_oldest_job(&self, since: Option<Instant>) {
        let us = since.map_or(0, |t| {
            (t.saturating_duration_since(self.origin).as_micros() as u64).max(1)
        });
        self.oldest_job_us.store(us, Relaxed);
    }

    fn with_control(&self, f: impl FnOnce(&mut Control)) {
        f(&mut self.control.lock().unwrap_or_else(|p| p.into_inner()));
    }

    pub(crate) fn set_state(&self, state: RunState) {
        self.with_control(|c| c.state = state);
    }

    pub(crate) fn set_batching(&self, batching: Option<Batching>) {
        self.with_control(|c| c.batching = batching);
    }

    pub(crate) fn set_limits(&self, limits: Limits) {
        self.with_control(|c| c.limits = limits);
    }

    pub fn read(&self) -> LiveReading {
        LiveReading {
            in_flight: self.in_flight.load(Relaxed),
            max_in_flight: self.max_in_flight.load(Relaxed),
            started: self.started.load(Relaxed),
            retries: self.retries.load(Relaxed),
            retrying: self.retrying.load(Relaxed),
            jobs_pending: self.jobs_pending.load(Relaxed),
            oldest_job: match self.oldest_job_us.load(Relaxed) {
                0 => None,
                us => Some(
                    self.origin
                        .elapsed()
                        .saturating_sub(Duration::from_micros(us)),
                ),
            },
            held_now: self.held_until_us.load(Relaxed) > self.origin.elapsed().as_micros() as u64
                || self.server_paced.load(Relaxed),
            // Time still ahead of a hold has not been spent yet.
            held_total: {
                let total = self.held_total_us.load(Relaxed);
                let ahead = self
                    .held_until_us
                    .load(Relaxed)
                    .saturating_sub(self.origin.elapsed().as_micros() as u64);
                Duration::from_micros(total.saturating_sub(ahead))
            },
            hold_left: {
                let now = self.origin.elapsed().as_micros() as u64;
                let until = self.held_until_us.load(Relaxed);
                (until > now).then(|| Duration::from_micros(until - now))
            },
            next_retry_in: match self.next_retry_us.load(Relaxed) {
                0 => None,
                us => Some(Duration::from_micros(
                    us.saturating_sub(self.origin.elapsed().as_micros() as u64),
                )),
            },
            control: *self.control.lock().unwrap_or_else(|p| p.into_inner()),
            connections: crate::stats::ConnectionCount {
                open: self.connections.open(),
                opened: self.connections.opened(),
                cap: self.connections.cap(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_reads_running_before_the_dispatchers_first_turn() {
        let live = LiveCounters::new(Limits::default(), Default::default());
        assert_eq!(live.read().control.state, RunState::Running);
    }
}
