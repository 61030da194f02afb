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
            Some(Action::DeleteChar) => input.delete_back(),
            Some(Action::ClearLine) => input.set_text(String::new()),
            Some(Action::DeleteWord) => input.delete_word(),
            Some(Action::First) => input.cursor = 0,
            Some(Action::Last) => input.cursor = input.text.chars().count(),
            Some(Action::StepDown) => input.cursor = input.cursor.saturating_sub(1),
            Some(Action::StepUp) => {
                input.cursor = (input.cursor + 1).min(input.text.chars().count());
            }
            Some(Action::Complete) if !matches!(input.prompt, Prompt::Value(_)) => {
                return vec![Effect::CompletePath(input.text.clone())];
            }
            Some(Action::TypeChar) => {
                if let KeyCode::Char(c) = key.code {
                    input.type_char(c);
                }
            }
            Some(Action::Apply) => {
                let Some(Overlay::Prompt(Input { prompt, text, .. })) = self.overlay.take() else {
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
                    // An existing file is asked about first (the effect
                    // looks, off the loop, and comes back to ask).
                    vec![Effect::SaveBatch {
                        text: source,
                        from: batch.path.clone(),
                        format: batch.format,
                        limits: self.limits,
                        path: PathBuf::from(text.trim()),
                        replace: false,
                    }]
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
        Slider::Arrivals => text
            .parse::<f64>()
            .map(Some)
            .map_err(|_| "expected items per second".to_owned()),
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
            let at = self.byte_at(self.cursor);
            self.text.insert(at, c);
            self.cursor += 1;
        }
    }

    /// The byte offset of character `n`.
    fn byte_at(&self, n: usize) -> usize {
        self.text
            .char_indices()
            .nth(n)
            .map_or(self.text.len(), |(i, _)| i)
    }

    pub(super) fn set_text(&mut self, text: String) {
        self.cursor = text.chars().count();
        self.text = text;
    }

    /// Backspace: the character before the cursor.
    fn delete_back(&mut self) {
        if self.cursor > 0 {
            let at = self.byte_at(self.cursor - 1);
            self.text.remove(at);
            self.cursor -= 1;
        }
    }

    /// Ctrl-W: the word before the cursor (back to a space or a `/`), as
    /// shells do.
    fn delete_word(&mut self) {
        let chars: Vec<char> = self.text.chars().collect();
        let mut start = self.cursor;
        while start > 0 && matches!(chars[start - 1], ' ' | '/') {
            start -= 1;
        }
        while start > 0 && !matches!(chars[start - 1], ' ' | '/') {
            start -= 1;
        }
        let (from, to) = (self.byte_at(start), self.byte_at(self.cursor));
        self.text.replace_range(from..to, "");
        self.cursor = start;
    }
}
