//! The batch editor's keys: edit, validate off the UI thread, apply.

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::TextArea;

use super::{App, Editor, Effect, Notice, View};

impl App {
    /// Switches to the batch editor, loading the batch's text the first
    /// time, and asks for a validation.
    pub(super) fn open_editor(&mut self) -> Vec<Effect> {
        self.view = View::Batch;
        if self.editor.loaded {
            return vec![];
        }
        let text = match (&self.batch_text, &self.batch) {
            (Some(text), _) => text.clone(),
            (None, Some(batch)) => std::fs::read_to_string(&batch.path).unwrap_or_default(),
            (None, None) => "[\n  \"https://example.com/\"\n]".to_owned(),
        };
        let mut textarea = TextArea::from(text.lines().map(str::to_owned).collect::<Vec<_>>());
        textarea.set_line_number_style(
            ratatui::style::Style::new().add_modifier(ratatui::style::Modifier::DIM),
        );
        self.editor = Editor {
            textarea,
            loaded: true,
            ..Editor::default()
        };
        self.validate()
    }

    pub(super) fn editor_path(&self) -> PathBuf {
        self.batch
            .as_ref()
            .map_or_else(|| PathBuf::from("batch.json"), |b| b.path.clone())
    }

    pub(super) fn validate(&mut self) -> Vec<Effect> {
        self.editor.generation += 1;
        let text = self.editor.textarea.lines().join("\n");
        vec![Effect::Validate {
            generation: self.editor.generation,
            text,
            path: self.editor_path(),
        }]
    }

    /// In the editor every key edits, except Esc (back) and Ctrl-S (apply).
    pub(super) fn on_editor_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => {
                self.view = View::Dashboard;
                vec![]
            }
            KeyCode::Char('s') if ctrl => self.apply_edits(),
            _ => {
                if self.editor.textarea.input(key) {
                    self.validate()
                } else {
                    vec![]
                }
            }
        }
    }

    /// Loads the edited batch, if it is valid and no run is going.
    pub(super) fn apply_edits(&mut self) -> Vec<Effect> {
        if self.is_active() {
            self.notice = Some(Notice::Error(
                "a run is going: stop it (s) before applying edits".into(),
            ));
            return vec![];
        }
        match &self.editor.validation {
            Some(Ok(batch)) => {
                let batch = batch.clone();
                let text = self.editor.textarea.lines().join("\n");
                self.set_batch(batch);
                self.batch_text = Some(text);
                self.editor.loaded = true;
                self.notice = Some(Notice::Info(format!(
                    "applied the edited batch: {} requests (not saved to disk)",
                    self.stats.total.unwrap_or(0)
                )));
            }
            Some(Err(e)) => self.notice = Some(Notice::Error(format!("not applied: {e}"))),
            None => self.notice = Some(Notice::Error("still checking the batch; try again".into())),
        }
        vec![]
    }
}
