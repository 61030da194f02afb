//! Auto-tune in the app: turning it on and off, and feeding it stats.

use super::{AUTOTUNE_MAX_CAP, App, Effect, Notice, Slider};
use crate::engine::RunState;
use crate::model::ChangedBy;
use crate::tui::autotune::{AutoTune, Tuned};

impl App {
    /// `a`: auto-tune on (during a run) or off.
    pub(super) fn toggle_autotune(&mut self) -> Vec<Effect> {
        if self.autotune.take().is_some() {
            self.notice = Some(Notice::Info("auto-tune off: the limits are yours".into()));
            return vec![];
        }
        if self.state != RunState::Running {
            self.notice = Some(Notice::Error(
                "auto-tune works on a running batch: r runs it, then a".into(),
            ));
            return vec![];
        }
        let tune = AutoTune::new(self.limits, &self.stats, self.tune_window);
        let rate = tune.rate();
        self.autotune = Some(tune);
        self.tuned = None;
        if self.profile.is_some() {
            self.profile_taken_over = true;
        }
        self.notice = Some(Notice::Info(
            "auto-tune on: finding the highest rate that holds (a or any limit key stops it)"
                .into(),
        ));
        self.apply_value(Slider::PerSecond, Some(rate), ChangedBy::AutoTune)
    }

    /// Gives auto-tune the new stats; moves the slider when it says.
    pub(super) fn tune(&mut self) -> Vec<Effect> {
        let Some(tune) = self.autotune.as_mut() else {
            return vec![];
        };
        if self.state != RunState::Running {
            return vec![];
        }
        match tune.update(&self.stats) {
            Tuned::Wait => vec![],
            Tuned::Rate(rate) => {
                let mut effects =
                    self.apply_value(Slider::PerSecond, Some(rate), ChangedBy::AutoTune);
                // A cap that binds would hide the rate's effect: lift it
                // (the answer suggests a cap of its own when it settles).
                if self.stats.binding == crate::engine::Binding::MaxAtOnce
                    && let Some(cap) = self.limits.max_at_once.filter(|c| *c < AUTOTUNE_MAX_CAP)
                {
                    let lifted = (cap * 2).min(AUTOTUNE_MAX_CAP);
                    effects.extend(self.apply_value(
                        Slider::MaxAtOnce,
                        Some(lifted as f64),
                        ChangedBy::AutoTune,
                    ));
                }
                effects
            }
            Tuned::Done(r) => {
                self.autotune = None;
                self.notice = Some(Notice::Info(format!(
                    "auto-tune settled: {}/s held {:.0} s ({} of {} answers refused or timed out, {:.1} %; p99 {:.0} ms); max at once {} suggested · w saves",
                    r.per_second,
                    r.held_s,
                    r.throttled,
                    r.answers,
                    r.throttled_pct,
                    r.p99_ms,
                    r.max_at_once
                )));
                let mut effects =
                    self.apply_value(Slider::PerSecond, Some(r.per_second), ChangedBy::AutoTune);
                effects.extend(self.apply_value(
                    Slider::MaxAtOnce,
                    Some(r.max_at_once as f64),
                    ChangedBy::AutoTune,
                ));
                self.tuned = Some(r);
                effects
            }
        }
    }

    /// The run ended while auto-tune was still looking: the sliders go to
    /// the best rate that held (or back to where they were, if none did),
    /// never to the last trial; says so after `done`.
    pub(super) fn autotune_cut_short(&mut self, done: &str) -> String {
        let Some(tune) = self.autotune.take() else {
            return done.to_owned();
        };
        match tune.best_held() {
            Some((rate, held)) => {
                let rate = (rate * 10.0).floor() / 10.0;
                self.limits.per_second = Some(rate);
                format!(
                    "{done} · the batch ended before auto-tune settled: best held {rate}/s for {held:.0} s (the slider is there now)"
                )
            }
            None => {
                self.limits = tune.before;
                format!(
                    "{done} · the batch ended before auto-tune settled, and no rate held: the limits are back as they were"
                )
            }
        }
    }
}
