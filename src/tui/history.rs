//! Short histories of a few stats for the charts: one sample per snapshot,
//! the last `CAPACITY` kept.

use std::collections::VecDeque;

use crate::stats::StatsSnapshot;

/// Samples kept: at 10 snapshots a second, the last minute.
pub const CAPACITY: usize = 600;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    /// Seconds since the run started.
    pub t: f64,
    pub in_flight: u64,
    pub completion_rate: f64,
    /// Answers the server accepted, and refused, per second.
    pub accepted: f64,
    pub refused: f64,
    pub target_rate: Option<f64>,
    pub p50: f64,
    pub p99: f64,
    /// Answers with status 429 per second.
    pub rate_limited: f64,
}

#[derive(Debug, Clone, Default)]
pub struct History {
    samples: VecDeque<Sample>,
}

impl History {
    pub fn push(&mut self, s: &StatsSnapshot) {
        if self.samples.len() == CAPACITY {
            self.samples.pop_front();
        }
        self.samples.push_back(Sample {
            t: s.elapsed.as_secs_f64(),
            in_flight: s.in_flight,
            completion_rate: s.completion_rate,
            accepted: s.accepted_rate,
            refused: s.refused_rate,
            target_rate: s.limits.per_second,
            p50: s.totals.latency.p50,
            p99: s.totals.latency.p99,
            rate_limited: s.rate_limited_rate,
        });
    }

    pub fn clear(&mut self) {
        self.samples.clear();
    }

    pub fn samples(&self) -> impl DoubleEndedIterator<Item = &Sample> + ExactSizeIterator {
        self.samples.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }
}
