//! Auto-tune in the workbench: the probe's controller moving the per-second
//! slider by itself, a second at a time, from the stats the app already
//! gets. The user takes the controls back by touching a limit.

use std::time::Duration;

use crate::probe::{Controller, Observation, ProbeConfig, Recommendation, Step};
use crate::stats::StatsSnapshot;

/// How long between two looks at the stats.
const TICK: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct AutoTune {
    controller: Controller,
    /// The snapshot of the last look.
    last: StatsSnapshot,
    /// The limits when it began: where the sliders go back to if the
    /// batch ends before any rate held.
    pub before: crate::model::Limits,
}

/// What a look at the stats means for the sliders.
#[derive(Debug, Clone, PartialEq)]
pub enum Tuned {
    /// Not a second since the last look.
    Wait,
    Rate(f64),
    Done(Recommendation),
}

impl AutoTune {
    /// Starts from the limits' rate (the slider's, or the probe's default
    /// when unlimited), as of `now`; a rate must hold for `window` to be
    /// the answer.
    pub fn new(before: crate::model::Limits, now: &StatsSnapshot, window: Duration) -> Self {
        let defaults = ProbeConfig::default();
        let config = ProbeConfig {
            start: before.per_second.unwrap_or(defaults.start),
            window,
            // A workbench run ends when its batch does; no time limit.
            max_time: Duration::from_secs(24 * 3600),
            ..defaults
        };
        Self {
            controller: Controller::new(config),
            last: now.clone(),
            before,
        }
    }

    /// The highest rate that held, and for how many seconds.
    pub fn best_held(&self) -> Option<(f64, f64)> {
        self.controller.best_held()
    }

    pub fn rate(&self) -> f64 {
        self.controller.rate()
    }

    /// The highest rate that has held so far: the slider's marker.
    pub fn best(&self) -> Option<f64> {
        self.controller.best()
    }

    pub fn phase(&self) -> crate::probe::Phase {
        self.controller.phase()
    }

    /// Looks at a new snapshot; once a second, moves the rate.
    pub fn update(&mut self, now: &StatsSnapshot) -> Tuned {
        if now.elapsed.saturating_sub(self.last.elapsed) < TICK {
            return Tuned::Wait;
        }
        let observation = Observation::between(&self.last, now);
        self.last = now.clone();
        match self.controller.observe(&observation) {
            Step::Rate(rate) => Tuned::Rate(rate),
            Step::Done(r) => Tuned::Done(r),
        }
    }
}
