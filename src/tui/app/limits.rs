//! The sliders and the coalescing controls: a change reaches the engine
//! at once while a run is going.

use super::{App, Effect, Notice, Slider};
use crate::engine::Command;
use crate::model::ChangedBy;

impl App {
    /// A limit the user set: it ends auto-tune and any planned profile.
    pub(super) fn set_value(&mut self, slider: Slider, value: Option<f64>) -> Vec<Effect> {
        if self.autotune.take().is_some() {
            self.notice = Some(Notice::Info("auto-tune off: the limits are yours".into()));
        }
        if self.is_active() && self.profile.is_some() {
            self.profile_taken_over = true;
        }
        self.apply_value(slider, value, ChangedBy::User)
    }

    /// Sets a limit (`by` the user, or auto-tune); a run hears it at once.
    pub(super) fn apply_value(
        &mut self,
        slider: Slider,
        value: Option<f64>,
        by: ChangedBy,
    ) -> Vec<Effect> {
        let mut limits = self.limits;
        match slider {
            Slider::MaxAtOnce => limits.max_at_once = value.map(|v| v.round().max(1.0) as u64),
            Slider::PerSecond => limits.per_second = value.filter(|v| *v > 0.0),
            Slider::Arrivals => return self.set_arrival_rate(value),
        }
        if limits == self.limits {
            return vec![];
        }
        self.limits = limits;
        if !self.is_active() {
            return vec![];
        }
        vec![Effect::Send(match by {
            ChangedBy::AutoTune => Command::Tune(limits),
            _ => Command::SetLimits(limits),
        })]
    }

    /// `k`: the next run coalesces, or sends the items one by one.
    pub(super) fn toggle_coalescing(&mut self) {
        if self.max_items.is_none() {
            self.notice = Some(Notice::Error(
                "this batch has no coalesce section: its items go one by one".into(),
            ));
            return;
        }
        self.one_by_one = !self.one_by_one;
        self.notice = Some(Notice::Info(if self.one_by_one {
            "the next run sends the items one by one (k: back to batch calls)".into()
        } else {
            "the next run sends the items in batch calls".into()
        }));
    }

    /// The arrival rate: a number of items a second (never unlimited: a
    /// batch's items would all be there at once).
    fn set_arrival_rate(&mut self, value: Option<f64>) -> Vec<Effect> {
        let Some(rate) = value.filter(|v| crate::model::arrivals::check_rate(*v).is_ok()) else {
            self.notice = Some(Notice::Error(
                "arrivals: expected items per second above 0 (at most 1000000)".into(),
            ));
            return vec![];
        };
        if self.arrival_rate == Some(rate) {
            return vec![];
        }
        self.arrival_rate = Some(rate);
        self.arrival_rate_set = true;
        if self.is_active() && self.coalescing() {
            vec![Effect::Send(Command::SetArrivalRate(rate))]
        } else {
            vec![]
        }
    }

    /// `{` `}`: halve or double the window (1 ms to 60 s; from none, 10 ms).
    pub(super) fn step_window(&mut self, up: bool) -> Vec<Effect> {
        let Some(window) = self.window else {
            self.notice = Some(Notice::Error(
                "the window applies to batch calls whose items arrive over time (`arrivals`)"
                    .into(),
            ));
            return vec![];
        };
        let ms = window.as_secs_f64() * 1000.0;
        let next: f64 = match (up, ms) {
            (true, ms) if ms < 1.0 => 10.0,
            (true, ms) => ms * 2.0,
            (false, ms) => ms / 2.0,
        }
        .clamp(1.0, 60_000.0);
        let next = std::time::Duration::from_secs_f64(next.round() / 1000.0);
        self.window = Some(next);
        if self.is_active() && self.coalescing() {
            vec![Effect::Send(Command::SetWindow(next))]
        } else {
            vec![]
        }
    }

    /// `(` `)`: halve or double the cap on open connections per origin,
    /// at once. Lowering from no cap starts at half the connections open
    /// (or of max at once); raising to max at once or past it lifts the
    /// cap (with HTTP/1.1 more could never be used).
    pub(super) fn step_max_connections(&mut self, up: bool) -> Vec<Effect> {
        let current = if self.is_active() {
            self.stats.connections.cap
        } else {
            self.max_connections
        };
        let ceiling = self.limits.max_at_once.unwrap_or(10_000);
        let next = match (current, up) {
            (None, true) => None,
            (None, false) => {
                let open = self.stats.connections.open;
                let from = if open > 1 { open } else { ceiling };
                Some((from / 2).max(1))
            }
            (Some(n), true) => Some(n.saturating_mul(2)).filter(|n| *n < ceiling),
            (Some(n), false) => Some((n / 2).max(1)),
        };
        self.max_connections = next;
        self.max_connections_set = true;
        self.notice = Some(Notice::Info(match next {
            Some(n) => format!("at most {n} connections per origin"),
            None => "connections: no cap (as many as requests in flight)".into(),
        }));
        if self.is_active() {
            vec![Effect::Send(Command::SetMaxConnections(next))]
        } else {
            vec![]
        }
    }

    /// `[` `]`: halve or double the items per batch call, at once.
    pub(super) fn step_max_items(&mut self, up: bool) -> Vec<Effect> {
        let Some(n) = self.max_items else {
            return vec![];
        };
        let next = if up {
            n.saturating_mul(2)
        } else {
            (n / 2).max(1)
        }
        .min(10_000);
        self.max_items = Some(next);
        if self.is_active() && self.coalescing() {
            vec![Effect::Send(Command::SetMaxItems(next))]
        } else {
            vec![]
        }
    }
}
