//! The batch editor: edit, validate off the UI thread, apply; and text
//! pasted into the workbench (a curl command becomes a request).

use std::path::PathBuf;

use crossterm::event::KeyEvent;
use ratatui_textarea::TextArea;

use super::{App, Editor, Effect, Notice, Overlay, View};
use crate::tui::keys::{self, Action};

/// What the editor shows with no batch loaded.
const NO_BATCH: &str = "[\n  \"https://example.com/\"\n]";

impl App {
    /// Switches to the batch editor; its text is the batch's (read off
    /// the UI thread the first time: `Msg::EditorText`).
    pub(super) fn open_editor(&mut self) -> Vec<Effect> {
        self.view = View::Batch;
        if self.editor.loaded || self.editor.reading {
            return vec![];
        }
        match (&self.batch_text, &self.batch) {
            (Some(text), _) => {
                let text = text.clone();
                self.load_editor(&text)
            }
            (None, Some(batch)) => {
                self.editor.reading = true;
                vec![Effect::ReadEditorText(batch.path.clone())]
            }
            (None, None) => self.load_editor(NO_BATCH),
        }
    }

    /// The editor's text arrived: show it, then add what was pasted
    /// while it was read.
    pub(super) fn on_editor_text(&mut self, text: Result<String, String>) -> Vec<Effect> {
        self.editor.reading = false;
        let text = text.unwrap_or_else(|e| {
            self.notice = Some(Notice::Error(e));
            String::new()
        });
        let mut effects = self.load_editor(&text);
        if let Some(pasted) = self.editor.pasted.take() {
            effects.extend(self.add_curl(&pasted));
        }
        effects
    }

    fn load_editor(&mut self, text: &str) -> Vec<Effect> {
        self.editor = Editor {
            loaded: true,
            ..Editor::default()
        };
        self.set_editor_text(text);
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

    /// In the editor every key edits, except those of its key table.
    pub(super) fn on_editor_key(&mut self, key: &KeyEvent) -> Vec<Effect> {
        match keys::action(keys::EDITOR, key) {
            Some(Action::Back) => {
                self.view = View::Dashboard;
                vec![]
            }
            Some(Action::Apply) => self.apply_edits(),
            _ if self.editor.textarea.input(*key) => self.validate(),
            _ => vec![],
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

    /// Pasted text: into the open prompt, or the editor; a curl command
    /// becomes a request of the batch wherever it is pasted.
    pub(super) fn on_paste(&mut self, text: &str) -> Vec<Effect> {
        if let Some(Overlay::Prompt(input)) = &mut self.overlay {
            // As if typed: a value prompt still takes only what it accepts.
            text.lines()
                .next()
                .unwrap_or("")
                .trim()
                .chars()
                .for_each(|c| input.type_char(c));
            return vec![];
        }
        let is_curl = crate::import::Source::sniff(text) == Some(crate::import::Source::Curl);
        if self.view != View::Batch {
            if !is_curl {
                self.notice = Some(Notice::Error(
                    "paste a curl command to add it to the batch, or open the editor (b) to paste text"
                        .into(),
                ));
                return vec![];
            }
            let mut effects = self.open_editor();
            effects.extend(self.add_curl(text));
            return effects;
        }
        if is_curl {
            return self.add_curl(text);
        }
        self.editor.textarea.insert_str(text);
        self.validate()
    }

    /// Adds pasted curl commands to the edited batch, in its own form
    /// (once its text is there).
    fn add_curl(&mut self, pasted: &str) -> Vec<Effect> {
        if self.editor.reading {
            self.editor.pasted = Some(pasted.to_owned());
            return vec![];
        }
        let current = self.editor.textarea.lines().join("\n");
        let path = self.editor_path();
        let format = crate::batch::Format::from_path(&path)
            .unwrap_or_else(|| crate::batch::Format::sniff(&current));
        match crate::import::append_curl(&current, format, pasted) {
            Ok((text, n)) => {
                self.set_editor_text(&text);
                let textarea = &mut self.editor.textarea;
                textarea.move_cursor(ratatui_textarea::CursorMove::Bottom);
                textarea.move_cursor(ratatui_textarea::CursorMove::End);
                self.notice = Some(Notice::Info(format!(
                    "added {n} request{} from the pasted curl command; Ctrl-S applies",
                    if n == 1 { "" } else { "s" }
                )));
                self.validate()
            }
            Err(e) => {
                self.notice = Some(Notice::Error(format!("not added: {e}")));
                vec![]
            }
        }
    }

    /// Replaces the editor's text.
    fn set_editor_text(&mut self, text: &str) {
        let mut textarea = TextArea::from(text.lines().map(str::to_owned).collect::<Vec<_>>());
        textarea.set_line_number_style(
            ratatui::style::Style::new().add_modifier(ratatui::style::Modifier::DIM),
        );
        self.editor.textarea = textarea;
    }
}
