//! Where a key goes: to the overlay on top, if any, then to the view,
//! then to the dashboard's global keys, each taking it or passing it on;
//! and what each global key does. Which key means what is the key table's
//! ([`crate::tui::keys`]).

use crossterm::event::{KeyCode, KeyEvent};

use super::{App, Effect, Input, Notice, Overlay, Prompt, View};
use crate::batch::Format;
use crate::session::Rows;
use crate::tui::keys::{self, Action};
use crate::tui::steps;

impl App {
    pub(super) fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if keys::action(keys::GLOBAL, &key) == Some(Action::QuitNow) {
            return self.quit_now();
        }
        if let Some(effects) = self.overlay_key(&key) {
            return effects;
        }
        if let Some(effects) = self.view_key(&key) {
            return effects;
        }
        match keys::action(keys::GLOBAL, &key) {
            // The limits are on the dashboard only: a key must not move
            // what is not on screen.
            Some(
                Action::SelectSlider
                | Action::StepUp
                | Action::StepDown
                | Action::Unlimited
                | Action::TypeValue
                | Action::EnterValue,
            ) if self.view != View::Dashboard => {
                self.notice = Some(Notice::Info(
                    "the limits are on the dashboard: Esc goes back to them".into(),
                ));
                vec![]
            }
            Some(action) => self.act(action, &key),
            None => {
                self.dirty = false;
                vec![]
            }
        }
    }

    /// The overlay's answer to a key, or `None` to pass it to the view.
    fn overlay_key(&mut self, key: &KeyEvent) -> Option<Vec<Effect>> {
        match self.overlay.as_ref()? {
            Overlay::Prompt(_) => Some(self.on_input_key(key)),
            Overlay::ConfirmQuit => Some(match keys::action(keys::CONFIRM_QUIT, key) {
                Some(Action::Confirm) => self.quit_now(),
                _ => {
                    self.overlay = None;
                    vec![]
                }
            }),
            Overlay::Help | Overlay::Messages => {
                self.overlay = None;
                Some(vec![])
            }
            Overlay::ConfirmOverwrite(save) => {
                let mut save = (**save).clone();
                if let Effect::SaveBatch { replace, .. } = &mut save {
                    *replace = true;
                }
                self.overlay = None;
                Some(match keys::action(keys::CONFIRM_OVERWRITE, key) {
                    Some(Action::Confirm) => vec![save],
                    _ => {
                        self.notice = Some(Notice::Info("not saved: the file is as it was".into()));
                        vec![]
                    }
                })
            }
            Overlay::Errors(at) => {
                let at = *at;
                Some(self.on_errors_key(key, at))
            }
            Overlay::Detail => match keys::action(keys::DETAIL, key) {
                Some(Action::Close) => {
                    self.overlay = None;
                    Some(vec![])
                }
                _ => None,
            },
        }
    }

    /// The view's answer to a key, or `None` to pass it to the global keys.
    fn view_key(&mut self, key: &KeyEvent) -> Option<Vec<Effect>> {
        match self.view {
            View::Dashboard => None,
            View::Batch => Some(self.on_editor_key(key)),
            View::Results => self.on_results_key(key),
            View::Runs => self.on_runs_key(key),
        }
    }

    /// What a global key does.
    fn act(&mut self, action: Action, key: &KeyEvent) -> Vec<Effect> {
        match action {
            Action::Help => self.overlay = Some(Overlay::Help),
            Action::Messages => self.overlay = Some(Overlay::Messages),
            Action::Quit if self.is_active() => self.overlay = Some(Overlay::ConfirmQuit),
            Action::Quit => return vec![Effect::Quit],
            Action::QuitNow => return self.quit_now(),
            Action::SelectSlider => {
                self.selected = self.selected.next(self.arrival_rate.is_some());
            }
            Action::StepUp => {
                let next = steps::up(self.value(self.selected), self.selected.min());
                return self.set_value(self.selected, next);
            }
            Action::StepDown => {
                let next = steps::down(self.value(self.selected), self.selected.min());
                return self.set_value(self.selected, next);
            }
            Action::Unlimited => return self.set_value(self.selected, None),
            Action::TypeValue | Action::EnterValue => {
                let text = match key.code {
                    KeyCode::Char(c) => c.to_string(),
                    _ => String::new(),
                };
                self.prompt(Prompt::Value(self.selected), text);
            }
            Action::Run => return self.start(Rows::All),
            Action::Resume => return self.resume(),
            Action::RerunFailed => return self.rerun_failed(),
            Action::EditBatch => return self.open_editor(),
            Action::Save => self.ask_where_to_save(),
            Action::AutoTune => return self.toggle_autotune(),
            Action::Coalescing => self.toggle_coalescing(),
            Action::FewerItems => return self.step_max_items(false),
            Action::MoreItems => return self.step_max_items(true),
            Action::FewerConnections => return self.step_max_connections(false),
            Action::MoreConnections => return self.step_max_connections(true),
            Action::NarrowWindow => return self.step_window(false),
            Action::WidenWindow => return self.step_window(true),
            Action::LimitsPanel if self.height >= crate::tui::ui::ENDPOINTS_MIN_HEIGHT => {
                // Tall enough: the panel is beside the endpoints already.
                self.notice = Some(Notice::Info(
                    "the rate limits panel is on screen (bottom right); t swaps it for the errors \
                     on a shorter terminal"
                        .into(),
                ));
            }
            Action::LimitsPanel => self.show_limits = !self.show_limits,
            Action::Errors if self.stats.errors.is_empty() => {
                self.notice = Some(Notice::Info("no failures so far".into()));
            }
            Action::Errors => self.overlay = Some(Overlay::Errors(0)),
            Action::Runs => {
                self.view = View::Runs;
                self.runs_view.selected = 0;
            }
            Action::Results => {
                self.view = View::Results;
                return self.load_results();
            }
            Action::Export => self.ask_where_to_export(),
            Action::Pause => return self.toggle_pause(),
            Action::Stop => return self.stop(),
            Action::Open if self.is_active() => {
                self.notice = Some(Notice::Error(
                    "a run is going: stop it (s) before opening another batch".into(),
                ));
            }
            Action::Open => self.prompt(Prompt::OpenBatch, String::new()),
            _ => self.dirty = false,
        }
        vec![]
    }

    pub(super) fn prompt(&mut self, prompt: Prompt, text: String) {
        let cursor = text.chars().count();
        self.overlay = Some(Overlay::Prompt(Input {
            prompt,
            text,
            cursor,
        }));
    }

    /// `w`: a JSON file is updated in place; any other form (or a batch
    /// with no file) gets a JSON file of its own.
    fn ask_where_to_save(&mut self) {
        let Some(batch) = &self.batch else {
            self.notice = Some(Notice::Error("no batch to save: o opens one".into()));
            return;
        };
        let path = if batch.format == Format::Json && self.batch_text.is_none() {
            batch.path.clone()
        } else {
            let stem = batch.path.file_stem().unwrap_or_default().to_string_lossy();
            batch.path.with_file_name(format!("{stem}-limits.json"))
        };
        self.prompt(Prompt::Save, path.display().to_string());
    }

    /// `e`: where to export the last run's results.
    fn ask_where_to_export(&mut self) {
        let Some(journal) = &self.journal else {
            self.notice = Some(Notice::Error(
                "no results to export yet: run the batch first".into(),
            ));
            return;
        };
        let stem = journal
            .file_stem()
            .map_or_else(|| "results".into(), |s| s.to_string_lossy().into_owned());
        self.prompt(Prompt::Export, format!("{stem}.csv"));
    }
}
