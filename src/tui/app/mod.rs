//! The TUI's state and its update logic, Elm style: `update` takes a
//! message (a key, a stats snapshot, an engine event) and returns effects
//! for the loop to carry out (start a run, send the engine a command,
//! open a batch, quit). No terminal and no network here, so it is tested
//! directly.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::autotune::AutoTune;
mod editor;
mod input;
mod tuning;
mod views;

use super::history::History;
use super::results::ResultsView;
use super::steps;
use ratatui_textarea::TextArea;

use super::runs::RunEntry;
use crate::batch::{Batch, BatchError, Format};
use crate::engine::{Command, Event, Limits, RunState};
use crate::export::{ExportFormat, Progress, ResultFilter, ResultIndex, ResultOrder};
use crate::model::RequestRecord;
use crate::stats::{RunSummary, StatsSnapshot};

/// The highest cap auto-tune lifts max at once to when it binds.
const AUTOTUNE_MAX_CAP: u64 = 1024;

/// The two limits the user steers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slider {
    MaxAtOnce,
    PerSecond,
}

impl Slider {
    pub fn label(self) -> &'static str {
        match self {
            Slider::MaxAtOnce => "max at once",
            Slider::PerSecond => "per second",
        }
    }

    fn other(self) -> Self {
        match self {
            Slider::MaxAtOnce => Slider::PerSecond,
            Slider::PerSecond => Slider::MaxAtOnce,
        }
    }

    /// The smallest step: whole requests in flight, tenths of a start a second.
    fn min(self) -> f64 {
        match self {
            Slider::MaxAtOnce => 1.0,
            Slider::PerSecond => 0.1,
        }
    }
}

/// The views, as tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Dashboard,
    /// The batch text in an editor, validated as it is typed.
    Batch,
    /// A table of the last run's results, read from its journal.
    Results,
    /// Every run so far, and two of them side by side.
    Runs,
}

/// The runs view: which run is selected, which are marked to compare.
#[derive(Debug, Default)]
pub struct RunsView {
    /// Position in the list, most recent first.
    pub selected: usize,
    /// Up to two runs (indices into `App::runs_log`) to compare.
    pub marked: Vec<usize>,
}

/// The batch editor: the text, and what the last validation said.
#[derive(Debug, Default)]
pub struct Editor {
    pub textarea: TextArea<'static>,
    /// Bumped on every edit; a validation result counts only for the
    /// generation it was asked for.
    pub generation: u64,
    /// The last result: the parsed batch, or the error.
    pub validation: Option<Result<Batch, BatchError>>,
    /// Whether the text has been loaded from the batch yet.
    pub loaded: bool,
}

/// What a one-line prompt is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    /// An exact value for a slider.
    Value(Slider),
    /// The path of a batch file to open.
    OpenBatch,
    /// Where to export the last run's results (format from the extension).
    Export,
    /// Where to save the batch with the current limits.
    Save,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub prompt: Prompt,
    pub text: String,
}

/// Everything the app reacts to.
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Stats(Box<StatsSnapshot>),
    Engine(Event),
    /// The terminal changed size: redraw.
    Resize,
    /// A background look through the journal found these failed requests.
    FailedFound(Result<BTreeSet<u64>, String>),
    /// A background export finished: the file and how many results.
    Exported(Result<(PathBuf, u64), String>),
    /// The editor's text, parsed off the UI thread, for `generation`.
    Validated {
        generation: u64,
        result: Result<Batch, BatchError>,
    },
    /// A batch file opened with `o`, loaded off the UI thread.
    BatchLoaded(Result<Batch, String>),
    /// Background work failed; the message says what and why.
    Problem(String),
    /// The batch was saved with the current limits (or why not).
    Saved(Result<PathBuf, String>),
    /// The results index was built: it, and the page read with it from
    /// this position.
    ResultsIndexed(Result<(Arc<ResultIndex>, usize, Vec<RequestRecord>), String>),
    /// A page of results read for `index`, from position `offset`.
    ResultsPage {
        index: Arc<ResultIndex>,
        offset: usize,
        rows: Result<Vec<RequestRecord>, String>,
    },
    /// An export is under way: how far it has got.
    ExportProgress(Progress),
    /// The loaded batch's interrupted run, if it has one (looked up off
    /// the UI thread when a batch is loaded).
    InterruptedFound(Option<crate::tui::interrupted::Interrupted>),
    /// Text pasted into the terminal (bracketed paste).
    Paste(String),
}

/// What the loop must do for the app.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Start a run of the loaded batch with the current limits.
    Start,
    Send(Command),
    OpenBatch(PathBuf),
    /// Look for an interrupted run of this batch (off the UI thread).
    FindInterrupted {
        batch: PathBuf,
        total: u64,
    },
    /// The run writing this journal went to the end of its batch.
    MarkComplete(PathBuf),
    /// Find the failed requests in this journal (off the UI thread).
    FindFailed(PathBuf),
    /// Write the journal's results to `out` (off the UI thread).
    Export {
        journal: PathBuf,
        out: PathBuf,
        format: ExportFormat,
    },
    /// Write the batch, with `limits`, as a JSON object to `path` (off the
    /// UI thread); `text` is the batch's text, or `None` to read `from`.
    SaveBatch {
        text: Option<String>,
        from: PathBuf,
        format: Format,
        limits: Limits,
        path: PathBuf,
    },
    /// Append a finished run to the runs log (off the UI thread).
    RecordRun(Box<RunEntry>),
    /// Index the journal's results and read the page around position
    /// `around` (off the UI thread).
    LoadResults {
        journal: PathBuf,
        filter: ResultFilter,
        order: ResultOrder,
        around: usize,
    },
    /// Read the page of `index` from position `offset` (off the UI thread).
    LoadPage {
        index: Arc<ResultIndex>,
        offset: usize,
    },
    /// Parse the editor's text as the batch at `path` (off the UI thread).
    Validate {
        generation: u64,
        text: String,
        path: PathBuf,
    },
    Quit,
}

/// A line for the footer: information or a problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Info(String),
    Error(String),
}

#[derive(Debug)]
pub struct App {
    pub batch: Option<Batch>,
    /// The sliders' values; sent to the engine as they change.
    pub limits: Limits,
    pub selected: Slider,
    pub input: Option<Input>,
    pub stats: StatsSnapshot,
    pub state: RunState,
    pub history: History,
    pub summary: Option<RunSummary>,
    pub show_help: bool,
    pub confirm_quit: bool,
    pub notice: Option<Notice>,
    /// Where the current run's results are being written.
    pub journal: Option<PathBuf>,
    pub runs: u32,
    /// When set, runs send only these batch indices (re-running failures).
    pub only: Option<Arc<BTreeSet<u64>>>,
    pub view: View,
    pub editor: Editor,
    pub results: ResultsView,
    /// The errors overlay, open on this group.
    pub errors_view: Option<usize>,
    /// The per-second slider moves by itself (`a`), until a limit is touched.
    pub autotune: Option<AutoTune>,
    /// The last auto-tune's answer, for the slider's marker.
    pub tuned: Option<crate::probe::Recommendation>,
    /// The bottom-right panel shows the rate limits instead of the errors.
    pub show_limits: bool,
    /// Planned rates for runs (the batch's `profile`, or `--ramp`).
    pub profile: Option<crate::model::Profile>,
    /// The current run's plan was ended by a limit change.
    pub profile_taken_over: bool,
    /// Send a coalescing batch's items one by one (`k`), to compare.
    pub one_by_one: bool,
    /// Items per batch call, when the batch coalesces (`[` `]` change it).
    pub max_items: Option<usize>,
    /// How far the export under way has got.
    pub exporting: Option<Progress>,
    /// Finished runs, oldest first (loaded from the runs log at start).
    pub runs_log: Vec<RunEntry>,
    pub runs_view: RunsView,
    /// The batch's text when it did not come from a file (the demo's).
    pub batch_text: Option<String>,
    /// An interrupted run of the loaded batch, offered for resuming (`R`).
    pub resume_offer: Option<crate::tui::interrupted::Interrupted>,
    /// The next run resumes `resume_offer`'s journal.
    pub resuming: bool,
    /// Whether the screen needs drawing.
    pub dirty: bool,
}

impl App {
    /// An app with `batch` loaded (its own limits give way to `limits`,
    /// which the command line has already merged).
    pub fn new(batch: Option<Batch>, limits: Limits) -> Self {
        let mut app = Self {
            batch: None,
            limits,
            selected: Slider::MaxAtOnce,
            input: None,
            stats: StatsSnapshot::initial(None, limits),
            state: RunState::Idle,
            history: History::default(),
            summary: None,
            show_help: false,
            confirm_quit: false,
            notice: None,
            journal: None,
            runs: 0,
            only: None,
            view: View::Dashboard,
            editor: Editor::default(),
            results: ResultsView::default(),
            errors_view: None,
            autotune: None,
            tuned: None,
            show_limits: false,
            profile: None,
            profile_taken_over: false,
            one_by_one: false,
            max_items: None,
            exporting: None,
            runs_log: Vec::new(),
            runs_view: RunsView::default(),
            batch_text: None,
            resume_offer: None,
            resuming: false,
            dirty: true,
        };
        if let Some(batch) = batch {
            // What importing it skipped or changed, as `o` would say.
            if let Some(first) = batch.warnings.first() {
                app.notice = Some(Notice::Info(format!("note: {first}")));
            }
            app.adopt(batch);
        }
        app
    }

    /// Takes `batch` and what follows from it (its plan, items per call,
    /// totals); the limits stay as they are. Every way a batch arrives
    /// goes through here.
    fn adopt(&mut self, batch: Batch) {
        let s = &batch.settings;
        if s.profile.is_some() {
            self.profile = s.profile.clone();
        }
        self.max_items = s.coalesce.as_ref().map(|c| c.max_items);
        self.stats = StatsSnapshot::initial(Some(batch.len()), self.limits);
        self.batch = Some(batch);
    }

    /// Whether runs send this batch's items in batch calls.
    pub fn coalescing(&self) -> bool {
        self.max_items.is_some() && !self.one_by_one
    }

    /// `k`: the next run coalesces, or sends the items one by one.
    fn toggle_coalescing(&mut self) {
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

    /// `[` `]`: halve or double the items per batch call, at once.
    fn step_max_items(&mut self, up: bool) -> Vec<Effect> {
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

    /// Whether a run is going (it can be paused, stopped, or steered).
    pub fn is_active(&self) -> bool {
        matches!(
            self.state,
            RunState::Running | RunState::Paused | RunState::Stopping
        )
    }

    pub fn value(&self, slider: Slider) -> Option<f64> {
        match slider {
            Slider::MaxAtOnce => self.limits.max_at_once.map(|n| n as f64),
            Slider::PerSecond => self.limits.per_second,
        }
    }

    /// A limit the user set: it ends auto-tune and any planned profile.
    fn set_value(&mut self, slider: Slider, value: Option<f64>) -> Vec<Effect> {
        if self.autotune.take().is_some() {
            self.notice = Some(Notice::Info("auto-tune off: the limits are yours".into()));
        }
        if self.is_active() && self.profile.is_some() {
            self.profile_taken_over = true;
        }
        self.apply_value(slider, value)
    }

    fn apply_value(&mut self, slider: Slider, value: Option<f64>) -> Vec<Effect> {
        let mut limits = self.limits;
        match slider {
            Slider::MaxAtOnce => limits.max_at_once = value.map(|v| v.round().max(1.0) as u64),
            Slider::PerSecond => limits.per_second = value.filter(|v| *v > 0.0),
        }
        if limits == self.limits {
            return vec![];
        }
        self.limits = limits;
        if self.is_active() {
            vec![Effect::Send(Command::SetLimits(limits))]
        } else {
            vec![]
        }
    }

    /// Takes a newly loaded batch; its file's limits become the sliders'.
    pub fn set_batch(&mut self, batch: Batch) {
        let s = &batch.settings;
        if let Some(n) = s.max_at_once {
            self.limits.max_at_once = n.get();
        }
        if let Some(r) = s.per_second {
            self.limits.per_second = r.get();
        }
        self.notice = Some(Notice::Info(format!(
            "loaded {} ({} requests)",
            batch.path.display(),
            batch.len()
        )));
        self.adopt(batch);
        self.editor.loaded = false;
        self.state = RunState::Idle;
        self.summary = None;
        self.history.clear();
        self.resume_offer = None;
        self.dirty = true;
    }

    /// Work to do as the loop starts: look for an interrupted run of the
    /// batch opened with the app.
    pub fn initial_effects(&self) -> Vec<Effect> {
        self.find_interrupted()
    }

    fn find_interrupted(&self) -> Vec<Effect> {
        match &self.batch {
            Some(batch) if self.batch_text.is_none() => vec![Effect::FindInterrupted {
                batch: batch.path.clone(),
                total: batch.len(),
            }],
            _ => vec![],
        }
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        self.dirty = true;
        match msg {
            Msg::Key(key) if key.kind == KeyEventKind::Press => self.on_key(key),
            Msg::Key(_) => {
                self.dirty = false;
                vec![]
            }
            Msg::Stats(stats) => {
                self.history.push(&stats);
                if self.state != RunState::Done {
                    self.state = stats.state;
                }
                self.stats = *stats;
                self.tune()
            }
            Msg::Engine(event) => self.on_engine(event),
            Msg::Resize => vec![],
            Msg::FailedFound(Err(e)) => {
                self.notice = Some(Notice::Error(e));
                vec![]
            }
            Msg::Exported(Err(e)) => {
                self.exporting = None;
                self.notice = Some(Notice::Error(e));
                vec![]
            }
            Msg::FailedFound(Ok(failed)) => {
                if failed.is_empty() {
                    self.notice = Some(Notice::Info("nothing failed: no re-run needed".into()));
                    return vec![];
                }
                self.only = Some(Arc::new(failed));
                self.start()
            }
            Msg::BatchLoaded(Ok(batch)) => {
                let warnings = batch.warnings.clone();
                self.set_batch(batch);
                if let (Some(first), Some(Notice::Info(loaded))) = (warnings.first(), &self.notice)
                {
                    let more = match warnings.len() {
                        1 => String::new(),
                        n => format!(" (and {} more)", n - 1),
                    };
                    self.notice = Some(Notice::Info(format!("{loaded}; note: {first}{more}")));
                }
                self.find_interrupted()
            }
            Msg::InterruptedFound(found) => {
                if let Some(found) = &found
                    && !self.is_active()
                {
                    self.notice = Some(Notice::Info(format!(
                        "an interrupted run of this batch has {} of {} results: R resumes it",
                        found.done, found.total
                    )));
                }
                self.resume_offer = found;
                vec![]
            }
            Msg::Paste(text) => self.on_paste(&text),
            Msg::BatchLoaded(Err(e)) | Msg::Problem(e) => {
                self.notice = Some(Notice::Error(e));
                vec![]
            }
            Msg::Saved(Ok(path)) => {
                self.notice = Some(Notice::Info(format!(
                    "saved the batch with these limits to {}",
                    path.display()
                )));
                vec![]
            }
            Msg::Saved(Err(e)) => {
                self.notice = Some(Notice::Error(e));
                vec![]
            }
            Msg::ResultsIndexed(Ok((index, offset, rows))) => {
                self.results.indexed(index, offset, rows);
                vec![]
            }
            Msg::ResultsIndexed(Err(e)) => {
                self.results.loading = false;
                self.notice = Some(Notice::Error(e));
                vec![]
            }
            Msg::ResultsPage {
                index,
                offset,
                rows,
            } => match rows {
                Ok(rows) => {
                    let next = self.results.paged(&index, offset, rows);
                    self.page_effect(next)
                }
                Err(e) => {
                    self.results.pending = None;
                    self.notice = Some(Notice::Error(e));
                    vec![]
                }
            },
            Msg::ExportProgress(progress) => {
                self.exporting = Some(progress);
                vec![]
            }
            Msg::Validated { generation, result } => {
                if generation == self.editor.generation {
                    self.editor.validation = Some(result);
                }
                vec![]
            }
            Msg::Exported(Ok((path, count))) => {
                self.exporting = None;
                self.notice = Some(Notice::Info(format!(
                    "exported {count} results to {}",
                    path.display()
                )));
                vec![]
            }
        }
    }

    fn on_engine(&mut self, event: Event) -> Vec<Effect> {
        match event {
            Event::Finished(summary) => {
                self.state = RunState::Done;
                self.autotune = None;
                self.notice = Some(Notice::Info(format!(
                    "done: {} requests, {} ok, {} failed, {:.1}/s{}",
                    summary.totals.done,
                    summary.totals.ok,
                    summary.totals.failed,
                    summary.achieved_per_s,
                    if summary.stopped { " (stopped)" } else { "" }
                )));
                let entry = RunEntry {
                    finished_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now())
                        .to_string(),
                    batch: self
                        .batch
                        .as_ref()
                        .and_then(|b| b.path.file_name())
                        .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
                    limits: self.limits,
                    failed_only: self.only.is_some(),
                    coalesced: self.coalescing(),
                    summary: (*summary).clone(),
                    results: self.journal.clone(),
                };
                self.runs_log.push(entry.clone());
                let complete = !summary.stopped && summary.not_sent == 0;
                self.summary = Some(*summary);
                let mut effects = vec![Effect::RecordRun(Box::new(entry))];
                if let Some(journal) = self.journal.clone().filter(|_| complete) {
                    effects.push(Effect::MarkComplete(journal));
                }
                // A resumed run (or a fresh one) settles the offer.
                self.resume_offer = None;
                self.resuming = false;
                if self.view == View::Results {
                    effects.extend(self.load_results());
                }
                return effects;
            }
            Event::JournalFailed(e) => {
                self.notice = Some(Notice::Error(format!(
                    "cannot write results: {e}; stopping"
                )))
            }
            Event::Paused => self.state = RunState::Paused,
            Event::Resumed => self.state = RunState::Running,
            Event::Stopping => self.state = RunState::Stopping,
            Event::Started { .. } | Event::LimitsApplied(_) => {}
        }
        vec![]
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return self.quit_now();
        }
        if self.input.is_some() {
            return self.on_input_key(key);
        }
        if self.view == View::Batch && !self.confirm_quit {
            return self.on_editor_key(key);
        }
        if self.view == View::Runs
            && !self.confirm_quit
            && !self.show_help
            && let Some(effects) = self.on_runs_key(key)
        {
            return effects;
        }
        if self.view == View::Results
            && !self.confirm_quit
            && !self.show_help
            && let Some(effects) = self.on_results_key(key)
        {
            return effects;
        }
        if self.confirm_quit {
            return match key.code {
                KeyCode::Char('y') | KeyCode::Char('q') => self.quit_now(),
                _ => {
                    self.confirm_quit = false;
                    vec![]
                }
            };
        }
        if self.show_help {
            self.show_help = false;
            return vec![];
        }
        if let Some(at) = self.errors_view {
            return self.on_errors_key(key, at);
        }
        match key.code {
            KeyCode::Char('?') => self.show_help = true,
            KeyCode::Char('q') | KeyCode::Esc => {
                if self.is_active() {
                    self.confirm_quit = true;
                } else {
                    return vec![Effect::Quit];
                }
            }
            KeyCode::Tab | KeyCode::BackTab | KeyCode::Up | KeyCode::Down => {
                self.selected = self.selected.other()
            }
            KeyCode::Right | KeyCode::Char('+') | KeyCode::Char('l') => {
                let next = steps::up(self.value(self.selected), self.selected.min());
                return self.set_value(self.selected, next);
            }
            KeyCode::Left | KeyCode::Char('-') | KeyCode::Char('h') => {
                let next = steps::down(self.value(self.selected), self.selected.min());
                return self.set_value(self.selected, next);
            }
            KeyCode::Char('u') => return self.set_value(self.selected, None),
            KeyCode::Char(c) if c.is_ascii_digit() || c == '.' => {
                self.input = Some(Input {
                    prompt: Prompt::Value(self.selected),
                    text: c.to_string(),
                });
            }
            KeyCode::Enter => {
                self.input = Some(Input {
                    prompt: Prompt::Value(self.selected),
                    text: String::new(),
                })
            }
            KeyCode::Char('r') => {
                self.only = None;
                self.resuming = false;
                return self.start();
            }
            KeyCode::Char('R') => {
                if self.resume_offer.is_none() {
                    self.notice = Some(Notice::Error(
                        "no interrupted run of this batch to resume".into(),
                    ));
                    return vec![];
                }
                self.only = None;
                self.resuming = true;
                return self.start();
            }
            KeyCode::Char('f') => return self.rerun_failed(),
            KeyCode::Char('b') => return self.open_editor(),
            KeyCode::Char('w') => match &self.batch {
                None => self.notice = Some(Notice::Error("no batch to save: o opens one".into())),
                Some(batch) => {
                    // A JSON file is updated in place; any other form (or a
                    // batch with no file) gets a JSON file of its own.
                    let path = if batch.format == Format::Json
                        && batch.path.is_file()
                        && self.batch_text.is_none()
                    {
                        batch.path.clone()
                    } else {
                        let stem = batch.path.file_stem().unwrap_or_default().to_string_lossy();
                        batch.path.with_file_name(format!("{stem}-limits.json"))
                    };
                    self.input = Some(Input {
                        prompt: Prompt::Save,
                        text: path.display().to_string(),
                    });
                }
            },
            KeyCode::Char('a') => return self.toggle_autotune(),
            KeyCode::Char('k') => self.toggle_coalescing(),
            KeyCode::Char('[') => return self.step_max_items(false),
            KeyCode::Char(']') => return self.step_max_items(true),
            KeyCode::Char('t') => self.show_limits = !self.show_limits,
            KeyCode::Char('x') => {
                if self.stats.errors.is_empty() {
                    self.notice = Some(Notice::Info("no failures so far".into()));
                } else {
                    self.errors_view = Some(0);
                }
            }
            KeyCode::Char('c') => {
                self.view = View::Runs;
                self.runs_view.selected = 0;
            }
            KeyCode::Char('v') => {
                self.view = View::Results;
                return self.load_results();
            }
            KeyCode::Char('e') => match &self.journal {
                None => {
                    self.notice = Some(Notice::Error(
                        "no results to export yet: run the batch first".into(),
                    ))
                }
                Some(journal) => {
                    let stem = journal
                        .file_stem()
                        .map_or_else(|| "results".into(), |s| s.to_string_lossy().into_owned());
                    self.input = Some(Input {
                        prompt: Prompt::Export,
                        text: format!("{stem}.csv"),
                    });
                }
            },
            KeyCode::Char('p') | KeyCode::Char(' ') => return self.toggle_pause(),
            KeyCode::Char('s') => {
                if matches!(self.state, RunState::Running | RunState::Paused) {
                    self.state = RunState::Stopping;
                    return vec![Effect::Send(Command::Stop { grace: None })];
                }
            }
            KeyCode::Char('o') => {
                if self.is_active() {
                    self.notice = Some(Notice::Error(
                        "a run is going: stop it (s) before opening another batch".into(),
                    ));
                } else {
                    self.input = Some(Input {
                        prompt: Prompt::OpenBatch,
                        text: String::new(),
                    });
                }
            }
            _ => self.dirty = false,
        }
        vec![]
    }

    fn start(&mut self) -> Vec<Effect> {
        if self.is_active() {
            self.notice = Some(Notice::Error("a run is going: s stops it".into()));
            return vec![];
        }
        let Some(batch) = &self.batch else {
            self.notice = Some(Notice::Error("no batch loaded: press o to open one".into()));
            return vec![];
        };
        let total = match (&self.only, &self.resume_offer) {
            (Some(only), _) => only.len() as u64,
            (None, Some(offer)) if self.resuming => offer.total - offer.done,
            _ => batch.len(),
        };
        self.runs += 1;
        self.state = RunState::Running;
        self.profile_taken_over = false;
        self.autotune = None;
        self.summary = None;
        self.history.clear();
        self.stats = StatsSnapshot::initial(Some(total), self.limits);
        self.notice = None;
        vec![Effect::Start]
    }

    /// Asks for the failed requests of the last run; the run starts when
    /// they are found (`Msg::FailedFound`).
    fn rerun_failed(&mut self) -> Vec<Effect> {
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
        vec![Effect::FindFailed(self.journal.clone().expect("checked"))]
    }

    fn toggle_pause(&mut self) -> Vec<Effect> {
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

    fn quit_now(&mut self) -> Vec<Effect> {
        if self.is_active() {
            vec![
                Effect::Send(Command::Stop {
                    grace: Some(std::time::Duration::ZERO),
                }),
                Effect::Quit,
            ]
        } else {
            vec![Effect::Quit]
        }
    }
}
