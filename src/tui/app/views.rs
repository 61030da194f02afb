//! Keys of the table views and overlays: results, runs, errors.

use crossterm::event::KeyEvent;

use super::{App, Effect, Notice, Overlay, View};
use crate::export::{ResultFilter, ResultOrder};
use crate::model::RunState;
use crate::stats::FailureClass;
use crate::tui::keys::{self, Action};

impl App {
    /// Indexes the results anew (the filter or order changed, or the run
    /// went on), keeping the selection where it was.
    pub(super) fn load_results(&mut self) -> Vec<Effect> {
        let Some(journal) = self.journal.clone() else {
            self.notice = Some(Notice::Error("no results yet: r runs the batch".into()));
            return vec![];
        };
        self.results.loading = true;
        vec![Effect::LoadResults {
            journal,
            filter: self.results.filter,
            order: self.results.order,
            around: self.results.selected,
        }]
    }

    /// While a run goes on with the results table open, reads it again
    /// at most once a second (not while a read is under way).
    pub(super) fn refresh_results(&mut self) -> Vec<Effect> {
        let going = matches!(self.state, RunState::Running | RunState::Paused);
        if self.view != View::Results || !going || self.results.loading {
            return vec![];
        }
        let now = self.stats.elapsed;
        let due = self
            .results
            .refreshed_at
            .is_none_or(|at| now < at || now - at >= std::time::Duration::from_secs(1));
        if !due {
            return vec![];
        }
        self.results.refreshed_at = Some(now);
        self.load_results()
    }

    /// The effect that reads the page starting at `offset`, if one is wanted.
    pub(super) fn page_effect(&self, offset: Option<usize>) -> Vec<Effect> {
        match (offset, &self.results.index) {
            (Some(offset), Some(index)) => vec![Effect::LoadPage {
                index: index.clone(),
                offset,
            }],
            _ => vec![],
        }
    }

    /// Keys of the results table; `None` passes the key on to the global
    /// keys (run, pause, quit...).
    pub(super) fn on_results_key(&mut self, key: &KeyEvent) -> Option<Vec<Effect>> {
        let r = &mut self.results;
        let page = r.height.get().max(1) as isize;
        let wanted = match keys::action(keys::RESULTS, key)? {
            Action::Back => {
                self.view = View::Dashboard;
                None
            }
            Action::Select => {
                if r.selected_row().is_some() {
                    self.overlay = Some(Overlay::Detail);
                }
                None
            }
            Action::Down => r.step(1),
            Action::Up => r.step(-1),
            Action::PageDown => r.step(page),
            Action::PageUp => r.step(-page),
            Action::First => r.select(0),
            Action::Last => r.select(usize::MAX),
            action @ (Action::NextFilter | Action::PrevFilter) => {
                let all = ResultFilter::ALL;
                let at = all.iter().position(|f| *f == r.filter).unwrap_or(0);
                let step = if action == Action::NextFilter {
                    1
                } else {
                    all.len() - 1
                };
                r.filter = all[(at + step) % all.len()];
                r.reset();
                return Some(self.load_results());
            }
            Action::Order => {
                r.order = match r.order {
                    ResultOrder::Index => ResultOrder::SlowestFirst,
                    ResultOrder::SlowestFirst => ResultOrder::Index,
                };
                r.reset();
                return Some(self.load_results());
            }
            Action::Reload => return Some(self.load_results()),
            _ => return None,
        };
        Some(self.page_effect(wanted))
    }

    /// Keys of the errors overlay: move, show the group's results, close.
    pub(super) fn on_errors_key(&mut self, key: &KeyEvent, at: usize) -> Vec<Effect> {
        let last = self.stats.errors.len().saturating_sub(1);
        match keys::action(keys::ERRORS, key) {
            Some(Action::Down) => self.overlay = Some(Overlay::Errors((at + 1).min(last))),
            Some(Action::Up) => self.overlay = Some(Overlay::Errors(at.saturating_sub(1))),
            Some(Action::Select) => {
                let Some(group) = self.stats.errors.get(at.min(last)) else {
                    return vec![];
                };
                self.overlay = None;
                self.view = View::Results;
                self.results.filter = filter_for(group.class);
                self.results.reset();
                return self.load_results();
            }
            Some(Action::Close) => self.overlay = None,
            _ => self.dirty = false,
        }
        vec![]
    }

    /// Keys of the runs list; `None` passes the key on to the global keys.
    pub(super) fn on_runs_key(&mut self, key: &KeyEvent) -> Option<Vec<Effect>> {
        let count = self.runs_log.len();
        match keys::action(keys::RUNS, key)? {
            Action::Back => self.view = View::Dashboard,
            Action::Down => {
                let v = &mut self.runs_view;
                v.selected = (v.selected + 1).min(count.saturating_sub(1));
            }
            Action::Up => self.runs_view.selected = self.runs_view.selected.saturating_sub(1),
            // Nothing to mark: the key is the global one (Space pauses).
            Action::Mark if count == 0 => return None,
            Action::Mark => {
                // The list shows the most recent first.
                let run = count - 1 - self.runs_view.selected.min(count - 1);
                let v = &mut self.runs_view;
                if let Some(at) = v.marked.iter().position(|m| *m == run) {
                    v.marked.remove(at);
                } else if self.runs_log[run].summary.is_none() {
                    self.notice = Some(Notice::Error(
                        "that run has no figures to compare: it never finished".into(),
                    ));
                } else {
                    if v.marked.len() == 2 {
                        v.marked.remove(0);
                    }
                    v.marked.push(run);
                }
            }
            _ => {}
        }
        Some(vec![])
    }
}

/// The results filter that shows a group of failures.
fn filter_for(class: FailureClass) -> ResultFilter {
    match class {
        FailureClass::Status(429) => ResultFilter::RateLimited,
        FailureClass::Status(s) if (400..500).contains(&s) => ResultFilter::ClientError,
        FailureClass::Status(s) if s >= 500 => ResultFilter::ServerError,
        _ => ResultFilter::Failed,
    }
}
