//! Runs from the app's side: starting one (all rows, the failures, or
//! the rest of an interrupted one), pausing, stopping, quitting, and what
//! the engine and the session say as it goes and ends.

use std::time::Duration;

use super::{App, Effect, Notice, StartRun, Started, View};
use crate::engine::Command;
use crate::model::RunState;
use crate::session::{Ended, Rows};
use crate::stats::{RunSummary, StatsSnapshot};

impl App {
    /// Starts a run of `rows`: the state says running at once; the
    /// session prepares it off the loop and says how many it sends
    /// (`Msg::Started`).
    pub(super) fn start(&mut self, rows: Rows) -> Vec<Effect> {
        if self.is_active() {
            self.notice = Some(Notice::Error("a run is going: s stops it".into()));
            return vec![];
        }
        let Some(batch) = &self.batch else {
            self.notice = Some(Notice::Error("no batch loaded: press o to open one".into()));
            return vec![];
        };
        let resume = match &rows {
            Rows::Resume { .. } => self.resume_offer.as_ref().map(|o| o.journal.clone()),
            _ => None,
        };
        // What it will send, as far as the app knows until the session says.
        let total = match (&rows, &self.resume_offer) {
            (Rows::Resume { .. }, Some(offer)) => offer.total - offer.done,
            (Rows::FailedIn(_), _) => self.summary.as_ref().map_or(0, |s| s.totals.failed),
            _ => batch.len(),
        };
        self.runs += 1;
        let run = StartRun {
            batch: batch.clone(),
            limits: self.limits,
            profile: self.profile.clone(),
            max_items: self.max_items.filter(|_| self.coalescing()),
            window: self.window.filter(|_| self.coalescing()),
            arrival_rate: self.arrival_rate.filter(|_| self.arrival_rate_set),
            max_connections: self.max_connections_set.then_some(self.max_connections),
            rows,
            resume,
            edited: self.batch_text.is_some(),
            number: self.runs,
        };
        self.state = RunState::Running;
        self.profile_taken_over = false;
        self.autotune = None;
        self.summary = None;
        self.history.clear();
        self.stats = StatsSnapshot::initial(Some(total), self.limits);
        self.notice = None;
        vec![Effect::Start(Box::new(run))]
    }

    /// `R`: the rest of the interrupted run on offer.
    pub(super) fn resume(&mut self) -> Vec<Effect> {
        if self.resume_offer.is_none() {
            self.notice = Some(Notice::Error(
                "no interrupted run of this batch to resume".into(),
            ));
            return vec![];
        }
        self.start(Rows::Resume {
            retry_failed: false,
            force: false,
        })
    }

    /// `f`: the failed requests of the last run, again.
    pub(super) fn rerun_failed(&mut self) -> Vec<Effect> {
        let problem = if self.is_active() {
            Some("a run is going: s stops it")
        } else if self.journal.is_none() {
            Some("no run yet: r runs the batch")
        } else if self.summary.as_ref().is_some_and(|s| s.totals.failed == 0) {
            Some("nothing failed in the last run")
        } else {
            None
        };
        if let Some(problem) = problem {
            self.notice = Some(Notice::Error(problem.into()));
            return vec![];
        }
        let journal = self.journal.clone().expect("checked");
        self.start(Rows::FailedIn(journal))
    }

    /// The run asked for is going, or could not start.
    pub(super) fn on_started(&mut self, started: Result<Started, String>) -> Vec<Effect> {
        match started {
            Ok(started) => {
                self.journal = started.journal;
                self.stats.total = Some(started.total);
                self.run_number = started.number;
            }
            Err(e) => {
                self.state = RunState::Idle;
                self.notice = Some(Notice::Error(e));
            }
        }
        vec![]
    }

    /// The engine finished the run.
    pub(super) fn on_finished(&mut self, summary: RunSummary) -> Vec<Effect> {
        self.state = RunState::Done;
        let t = &summary.totals;
        let done = format!(
            "done: {} requests, {} ok, {} failed, {:.1}/s{}",
            t.done,
            t.ok,
            t.failed,
            summary.achieved_per_s,
            if summary.stopped { " (stopped)" } else { "" }
        );
        self.notice = Some(match &summary.journal_fault {
            Some(f) if f.unwritten > 0 => Notice::Error(format!(
                "cannot write results ({}): the run was stopped and {} results are in no \
                 file; free space, then R sends the rows without a result",
                f.error, f.unwritten
            )),
            _ => Notice::Info(self.autotune_cut_short(&done)),
        });
        self.summary = Some(summary);
        // The run settles the offer; the session says if it makes a new one.
        self.resume_offer = None;
        if self.view == View::Results {
            return self.load_results();
        }
        vec![]
    }

    /// The session finished the run: log it, and offer to resume it if it
    /// stopped short.
    pub(super) fn on_ended(&mut self, ended: Result<Box<Ended>, String>) -> Vec<Effect> {
        let ended = match ended {
            Ok(ended) => *ended,
            Err(e) => {
                self.notice = Some(Notice::Error(e));
                return vec![];
            }
        };
        self.runs_log.push(ended.entry);
        if let Some(note) = ended.notes.into_iter().next() {
            self.notice = Some(Notice::Error(note));
        } else if let (Some(offer), Some(Notice::Info(done))) = (&ended.interrupted, &self.notice) {
            self.notice = Some(Notice::Info(format!(
                "{done} · {} of {} have results: R resumes it",
                offer.done, offer.total
            )));
        }
        self.resume_offer = ended.interrupted;
        vec![]
    }

    pub(super) fn toggle_pause(&mut self) -> Vec<Effect> {
        match self.state {
            RunState::Running => {
                self.state = RunState::Paused;
                vec![Effect::Send(Command::Pause)]
            }
            RunState::Paused => {
                self.state = RunState::Running;
                vec![Effect::Send(Command::Resume)]
            }
            _ => vec![],
        }
    }

    pub(super) fn stop(&mut self) -> Vec<Effect> {
        if matches!(self.state, RunState::Running | RunState::Paused) {
            self.state = RunState::Stopping;
            return vec![Effect::Send(Command::Stop { grace: None })];
        }
        vec![]
    }

    pub(super) fn quit_now(&mut self) -> Vec<Effect> {
        if self.is_active() {
            vec![
                Effect::Send(Command::Stop {
                    grace: Some(Duration::ZERO),
                }),
                Effect::Quit,
            ]
        } else {
            vec![Effect::Quit]
        }
    }
}
