//! A run cut into phases of equal limits: each change of the limits (by
//! the user, the plan or auto-tune) closes a phase and opens the next, so
//! two runs can be compared like with like (the same limits) and a run's
//! log tells its limit timeline.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{LatencyHistogram, is_refusal};
use crate::model::{AttemptEntry, ChangedBy, LimitChange, Limits, RequestRecord};

/// One phase of a run, as kept in its summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    /// Seconds into the run.
    pub from_s: f64,
    pub to_s: f64,
    pub limits: Limits,
    pub by: ChangedBy,
    /// Under a ramp, where the rate was going.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ramp_to: Option<f64>,
    /// Results, answers, and of the answers those accepted and refused.
    pub done: u64,
    pub answers: u64,
    pub accepted: u64,
    pub refused: u64,
    /// Latency of the phase's results (ms).
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl Phase {
    pub fn seconds(&self) -> f64 {
        (self.to_s - self.from_s).max(0.0)
    }

    /// Results per second over the phase.
    pub fn done_per_s(&self) -> f64 {
        per_second(self.done, self.seconds())
    }

    /// Accepted answers per second over the phase.
    pub fn accepted_per_s(&self) -> f64 {
        per_second(self.accepted, self.seconds())
    }
}

fn per_second(n: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        n as f64 / seconds
    } else {
        0.0
    }
}

/// The phases of a run so far: the closed ones, and the one going on.
#[derive(Debug, Default)]
pub struct Phases {
    closed: Vec<Phase>,
    open: Option<Open>,
    /// The open phase's latency, cleared (not reallocated) at each change.
    latency: LatencyHistogram,
}

#[derive(Debug)]
struct Open {
    change: LimitChange,
    done: u64,
    answers: u64,
    accepted: u64,
    refused: u64,
}

/// Phases kept at most (a slider held down makes many); past it, the
/// last one runs on.
const MAX_PHASES: usize = 1_000;

impl Phases {
    /// The limits changed (or the run began) `change.at_s` into the run.
    pub fn change(&mut self, mut change: LimitChange) {
        if let Some(open) = &self.open {
            if open.change.limits == change.limits && open.change.ramp_to == change.ramp_to {
                return;
            }
            if self.closed.len() >= MAX_PHASES {
                return;
            }
        }
        if let Some(open) = self.open.take() {
            // A phase replaced before anything came back in it (a plan's
            // first step right after the start) says nothing: drop it.
            let empty = open.done == 0 && open.answers == 0;
            if empty && change.at_s - open.change.at_s < 0.05 {
                change.at_s = open.change.at_s;
            } else {
                self.closed.push(self.close(open, change.at_s));
            }
        }
        self.latency.clear();
        self.open = Some(Open {
            change,
            done: 0,
            answers: 0,
            accepted: 0,
            refused: 0,
        });
    }

    pub fn add_result(&mut self, r: &RequestRecord) {
        let Some(open) = &mut self.open else {
            return;
        };
        open.done += 1;
        if let (Some(_), Some(ms)) = (r.status, r.latency_ms) {
            self.latency.record(Duration::from_secs_f64(ms / 1000.0));
        }
    }

    pub fn add_answer(&mut self, a: &AttemptEntry) {
        let Some(open) = &mut self.open else {
            return;
        };
        open.answers += 1;
        open.accepted += u64::from(a.status.is_some_and(|s| s < 400));
        open.refused += u64::from(is_refusal(a));
    }

    fn close(&self, open: Open, to_s: f64) -> Phase {
        Phase {
            from_s: open.change.at_s,
            to_s: to_s.max(open.change.at_s),
            limits: open.change.limits,
            by: open.change.by,
            ramp_to: open.change.ramp_to,
            done: open.done,
            answers: open.answers,
            accepted: open.accepted,
            refused: open.refused,
            p50_ms: if self.latency.is_empty() {
                0.0
            } else {
                self.latency.quantile_ms(0.5)
            },
            p99_ms: if self.latency.is_empty() {
                0.0
            } else {
                self.latency.quantile_ms(0.99)
            },
        }
    }

    /// Every phase, the open one closed at `end_s`.
    pub fn finish(&mut self, end_s: f64) -> Vec<Phase> {
        let mut all = std::mem::take(&mut self.closed);
        if let Some(open) = self.open.take() {
            all.push(self.close(open, end_s));
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(at_s: f64, rate: f64, by: ChangedBy) -> LimitChange {
        LimitChange {
            at_s,
            limits: Limits::new(10, rate),
            by,
            ramp_to: None,
        }
    }

    fn answer(status: u16) -> AttemptEntry {
        AttemptEntry {
            status: Some(status),
            error_kind: None,
            latency_ms: 10.0,
            retry_after_s: None,
        }
    }

    #[test]
    fn each_change_closes_a_phase_with_its_counts() {
        let mut phases = Phases::default();
        phases.change(change(0.0, 20.0, ChangedBy::Start));
        phases.add_answer(&answer(200));
        phases.add_result(&RequestRecord {
            status: Some(200),
            latency_ms: Some(12.0),
            ..RequestRecord::new(0, "GET", "http://h/")
        });
        // The same limits again: no new phase.
        phases.change(change(1.0, 20.0, ChangedBy::User));
        phases.change(change(2.0, 50.0, ChangedBy::User));
        phases.add_answer(&answer(429));
        phases.add_answer(&answer(200));
        let all = phases.finish(4.0);
        assert_eq!(all.len(), 2);
        assert_eq!((all[0].from_s, all[0].to_s, all[0].done), (0.0, 2.0, 1));
        assert_eq!(all[0].done_per_s(), 0.5);
        assert!((all[0].p50_ms - 12.0).abs() < 0.1);
        assert_eq!(
            (all[1].by, all[1].answers, all[1].refused),
            (ChangedBy::User, 2, 1)
        );
        assert_eq!(all[1].accepted_per_s(), 0.5);
    }

    #[test]
    fn a_phase_replaced_at_once_is_dropped() {
        let mut phases = Phases::default();
        phases.change(change(0.0, 20.0, ChangedBy::Start));
        phases.change(change(0.001, 5.0, ChangedBy::Plan));
        phases.add_answer(&answer(200));
        phases.change(change(5.0, 15.0, ChangedBy::Plan));
        let all = phases.finish(6.0);
        assert_eq!(all.len(), 2);
        assert_eq!((all[0].from_s, all[0].limits.per_second), (0.0, Some(5.0)));
        assert_eq!(all[0].by, ChangedBy::Plan);
    }
}
