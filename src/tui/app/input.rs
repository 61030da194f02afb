//! The one-line prompts: a slider value, a file to open, save or export to.

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent};

use super::{App, Effect, Input, Notice, Overlay, Prompt, Slider};
use crate::export::ExportFormat;
use crate::model::Limit;
use crate::tui::keys::{self, Action};

impl App {
    pub(super) fn on_input_key(&mut self, key: &KeyEvent) -> Vec<Effect> {
        let Some(Overlay::Prompt(input)) = self.overlay.as_mut() else {
            return vec![];
        };
        match keys::action(keys::PROMPT, key) {
            Some(Action::Cancel) => self.overlay = None,
            Some(Action::DeleteChar) => {
                input.text.pop();
            }
            Some(Action::TypeChar) => {
                if let KeyCode::Char(c) = key.code {
                    input.type_char(c);
                }
            }
            Some(Action::Apply) => {
                let Some(Overlay::Prompt(Input { prompt, text })) = self.overlay.take() else {
                    return vec![];
                };
                return self.answer(prompt, text);
            }
            _ => {}
        }
        vec![]
    }

    /// What a prompt's answer does.
    fn answer(&mut self, prompt: Prompt, text: String) -> Vec<Effect> {
        match prompt {
            Prompt::OpenBatch | Prompt::Export | Prompt::Save if text.trim().is_empty() => vec![],
            Prompt::Save => match &self.batch {
                None => vec![],
                Some(batch) => {
                    let source = if self.editor.loaded {
                        Some(self.editor.textarea.lines().join("\n"))
                    } else {
                        self.batch_text.clone()
                    };
                    let path = PathBuf::from(text.trim());
                    let save = Effect::SaveBatch {
                        text: source,
                        from: batch.path.clone(),
                        format: batch.format,
                        limits: self.limits,
                        path: path.clone(),
                    };
                    // Never replace a file without asking (the disk is read
                    // here, on the loop: one stat of a path just typed).
                    if path.exists() {
                        self.overlay = Some(Overlay::ConfirmOverwrite(Box::new(save)));
                        return vec![];
                    }
                    vec![save]
                }
            },
            Prompt::OpenBatch => vec![Effect::OpenBatch(PathBuf::from(text.trim()))],
            Prompt::Export => {
                let Some(journal) = self.journal.clone() else {
                    return vec![];
                };
                let mut out = PathBuf::from(text.trim());
                // A bare name goes beside the run's results.
                if out.is_relative()
                    && let Some(dir) = journal.parent()
                {
                    out = dir.join(out);
                }
                let Some(format) = ExportFormat::from_extension(&out) else {
                    self.notice = Some(Notice::Error(format!(
                        "cannot export to {}: the extension names no format; use .csv, .json, \
                         .jsonl, .har or .xlsx",
                        out.display()
                    )));
                    return vec![];
                };
                self.notice = Some(Notice::Info(format!("exporting to {}…", out.display())));
                vec![Effect::Export {
                    journal,
                    out,
                    format,
                }]
            }
            Prompt::Value(slider) => match parse_value(slider, &text) {
                Ok(value) => self.set_value(slider, value),
                Err(e) => {
                    self.notice = Some(Notice::Error(e));
                    vec![]
                }
            },
        }
    }
}

/// A typed slider value: a number, or `0`/`u` for unlimited (as a
/// [`Limit`] reads it); empty means unlimited too.
fn parse_value(slider: Slider, text: &str) -> Result<Option<f64>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let limit = match slider {
        Slider::MaxAtOnce => text
            .parse::<Limit<u64>>()
            .map(|l| l.get().map(|n| n as f64)),
        Slider::PerSecond => text.parse::<Limit<f64>>().map(Limit::get),
    };
    limit.map_err(|e| format!("{}: {e}", slider.label()))
}

impl Input {
    /// Types `c`, if the prompt takes it (a value takes digits, `.` and `u`).
    pub(super) fn type_char(&mut self, c: char) {
        let allowed = match self.prompt {
            Prompt::Value(_) => c.is_ascii_digit() || c == '.' || c == 'u',
            Prompt::OpenBatch | Prompt::Export | Prompt::Save => true,
        };
        if allowed {
            self.text.push(c);
        }
    }
}
