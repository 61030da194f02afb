//! Figures of a coalescing run: how many batch calls the items went in,
//! how full they were, and how long their jobs took to finish after the
//! call (the polling time), so the items per call can be tuned.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Serialize;

use super::{LatencyHistogram, Percentiles};
use crate::model::RequestRecord;

/// Batch numbers remembered to count calls; past this many the count
/// stops growing exactly (the figures stay right for any run a person
/// watches).
const MAX_TRACKED: usize = 100_000;

#[derive(Debug, Default)]
pub struct Batches {
    seen: BTreeSet<u64>,
    items: u64,
    size_sum: u64,
    polling: LatencyHistogram,
    /// With arrivals: items' time queued, calls' latency, and how the
    /// calls went (full, or on the window).
    queued: LatencyHistogram,
    call: LatencyHistogram,
    queued_items: u64,
    full: u64,
    on_window: u64,
}

/// What the dashboard shows of a coalescing run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct BatchStats {
    /// Batch calls whose items have results.
    pub calls: u64,
    /// Items per call, on average.
    pub items_per_call: f64,
    /// Call answered → job's results, in ms (0 without jobs).
    pub polling: Percentiles,
    /// With arrivals: the items' time queued (arrival → call sent) and
    /// the calls' latency, in ms; the share of calls that went full (the
    /// rest went on the window, or at the batch's end).
    pub arrivals: Option<ArrivalStats>,
}

/// A coalescing run's figures when its items arrive over time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ArrivalStats {
    pub queued: Percentiles,
    pub call: Percentiles,
    pub full_share: f64,
}

impl Batches {
    pub fn add(&mut self, r: &RequestRecord) {
        let Some(b) = &r.batch else {
            return;
        };
        self.items += 1;
        self.size_sum += b.size as u64;
        let ms = |v: f64| Duration::from_secs_f64(v.max(0.0) / 1000.0);
        if let Some(queued) = b.queued_ms {
            self.queued.record(ms(queued));
            self.queued_items += 1;
        }
        // Once per call: its first item to arrive.
        if self.seen.len() < MAX_TRACKED && self.seen.insert(b.number) {
            if b.job.is_some() {
                self.polling.record(ms(b.poll_ms));
            }
            if b.queued_ms.is_some() {
                self.call.record(ms(b.call_ms));
                match b.full {
                    Some(true) => self.full += 1,
                    Some(false) => self.on_window += 1,
                    None => {}
                }
            }
        }
    }

    /// `None` when no item came through a batch call.
    pub fn stats(&self) -> Option<BatchStats> {
        (self.items > 0).then(|| BatchStats {
            calls: self.seen.len() as u64,
            items_per_call: self.size_sum as f64 / self.items as f64,
            polling: self.polling.percentiles(),
            arrivals: (self.queued_items > 0).then(|| ArrivalStats {
                queued: self.queued.percentiles(),
                call: self.call.percentiles(),
                full_share: self.full as f64 / (self.full + self.on_window).max(1) as f64,
            }),
        })
    }
}
