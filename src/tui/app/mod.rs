//! The TUI's state and its update logic, Elm style: `update` takes a
//! message (a key, a stats snapshot, an engine event, the result of work
//! done off the loop) and returns effects for the loop to carry out
//! (start a run, send the engine a command, open a batch, quit). No
//! terminal, no network and no disk here, so it is tested directly.
//!
//! A key goes to the overlay on top, if any, then to the view, then to
//! the dashboard's global keys (`route.rs`); what each key does is looked
//! up in the key table ([`super::keys`]), which the help and the hints
//! are generated from too.

mod editor;
mod input;
mod limits;
mod route;
mod run;
mod tuning;
mod views;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{KeyEvent, KeyEventKind};
use ratatui_textarea::TextArea;

use super::autotune::AutoTune;
use super::history::History;
use super::results::ResultsView;
use crate::batch::{Batch, BatchError, Format};
use crate::engine::{Binding, Command, Event, REFUSED_SHARE};
use crate::export::{ExportFormat, Progress, ResultFilter, ResultIndex, ResultOrder};
use crate::model::{Limits, Profile, RequestRecord, RunState};
use crate::session::{Ended, Interrupted, Rows, RunEntry};
use crate::stats::{RunSummary, StatsSnapshot};

/// The highest cap auto-tune lifts max at once to when it binds.
const AUTOTUNE_MAX_CAP: u64 = 1024;

/// The two limits the user steers, and (a batch whose items arrive over
/// time) the arrival rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slider {
    MaxAtOnce,
    PerSecond,
    Arrivals,
}

impl Slider {
    pub fn label(self) -> &'static str {
        match self {
            Slider::MaxAtOnce => "max at once",
            Slider::PerSecond => "per second",
            Slider::Arrivals => "arrivals",
        }
    }

    /// The next slider for `Tab`; the arrival rate only when items arrive.
    fn next(self, arrivals: bool) -> Self {
        match self {
            Slider::MaxAtOnce => Slider::PerSecond,
            Slider::PerSecond if arrivals => Slider::Arrivals,
            Slider::PerSecond | Slider::Arrivals => Slider::MaxAtOnce,
        }
    }

    /// The smallest step: whole requests in flight, tenths of a start (or
    /// an arrival) a second.
    fn min(self) -> f64 {
        match self {
            Slider::MaxAtOnce => 1.0,
            Slider::PerSecond | Slider::Arrivals => 0.1,
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

/// What is shown over the view and gets keys first. One at a time.
#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    /// A one-line prompt.
    Prompt(Input),
    /// A run is going: quit anyway?
    ConfirmQuit,
    Help,
    /// The error groups, this one selected.
    Errors(usize),
    /// The selected result's details, over the results table.
    Detail,
    /// Every notice so far, newest first.
    Messages,
    /// Saving would replace this file: go ahead?
    ConfirmOverwrite(Box<Effect>),
}

/// The runs view: which run is selected, which are marked to compare.
#[derive(Debug, Default)]
pub struct RunsView {
    /// Position in the list, most recent first.
    pub selected: usize,
    /// Up to two runs (indices into the finished runs) to compare.
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
    /// The batch file is being read for it.
    pub reading: bool,
    /// A curl command pasted while the file was read, to add once it is.
    pub pasted: Option<String>,
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
    /// Where typing goes, in characters from the start.
    pub cursor: usize,
}

/// A run the loop has started: where its results go and how many it sends.
#[derive(Debug, Clone, PartialEq)]
pub struct Started {
    pub journal: Option<PathBuf>,
    pub total: u64,
    /// Its number in the runs log (and its journal's name).
    pub number: u64,
}

/// Everything the app reacts to.
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    /// Text pasted into the terminal (bracketed paste).
    Paste(String),
    /// The terminal changed size: redraw.
    Resize,
    Stats(Box<StatsSnapshot>),
    Engine(Event),
    /// The run asked for with [`Effect::Start`] is going (or why not).
    Started(Result<Started, String>),
    /// The session finished the run: its runs-log entry, and whether it
    /// can be resumed.
    Ended(Result<Box<Ended>, String>),
    /// The runs log, read at start.
    RunsLoaded(Vec<RunEntry>),
    /// The batch file's text, for the editor.
    EditorText(Result<String, String>),
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
    /// Saving would replace an existing file: this save, once confirmed.
    WouldReplace(Box<Effect>),
    /// Tab completed the path `typed`: to `completed`, among these.
    Completed {
        typed: String,
        completed: String,
        candidates: Vec<String>,
    },
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
    InterruptedFound(Option<Interrupted>),
}

/// A run to start: the batch as the app has it, with the sliders' limits.
#[derive(Debug, Clone)]
pub struct StartRun {
    pub batch: Batch,
    pub limits: Limits,
    pub profile: Option<Profile>,
    /// Items per batch call, when the run coalesces.
    pub max_items: Option<usize>,
    /// The window and (when the user moved it) the arrival rate, for a
    /// batch whose items arrive over time.
    pub window: Option<Duration>,
    pub arrival_rate: Option<f64>,
    /// The cap on connections the user set (`None`: the batch's, or the
    /// flags'); `Some(None)`: no cap.
    pub max_connections: Option<Option<u64>>,
    pub rows: Rows,
    /// Resume this journal (its run's rows go on).
    pub resume: Option<PathBuf>,
    /// The batch was edited here and differs from its file.
    pub edited: bool,
    /// The run's number in this session.
    pub number: u32,
}

impl PartialEq for StartRun {
    /// Runs compare by what they send (a batch has no equality).
    fn eq(&self, other: &Self) -> bool {
        (
            &self.batch.path,
            self.limits,
            &self.profile,
            self.max_items,
            self.window,
            self.arrival_rate.map(f64::to_bits),
            self.max_connections,
            &self.rows,
            &self.resume,
            self.edited,
            self.number,
        ) == (
            &other.batch.path,
            other.limits,
            &other.profile,
            other.max_items,
            other.window,
            other.arrival_rate.map(f64::to_bits),
            other.max_connections,
            &other.rows,
            &other.resume,
            other.edited,
            other.number,
        )
    }
}

/// What the loop must do for the app.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Prepare a run with the session (off the loop), then start it.
    Start(Box<StartRun>),
    Send(Command),
    OpenBatch(PathBuf),
    /// Read the runs log (off the UI thread).
    LoadRunsLog,
    /// Read the batch file's text for the editor (off the UI thread).
    ReadEditorText(PathBuf),
    /// Look for an interrupted run of this batch (off the UI thread).
    FindInterrupted {
        batch: PathBuf,
        total: u64,
    },
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
        /// The user said yes to replacing `path`; otherwise an existing
        /// file is asked about first ([`Msg::WouldReplace`]).
        replace: bool,
    },
    /// Complete the path typed so far (off the UI thread).
    CompletePath(String),
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

/// Notices the message log keeps.
const MAX_MESSAGES: usize = 200;

/// A line for the footer: information or a problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Info(String),
    Error(String),
}

/// What a front end knows when it opens the workbench.
#[derive(Debug, Clone, Default)]
pub struct Start {
    pub batch: Option<Batch>,
    /// The batch's text when it did not come from a file (the demo's).
    pub batch_text: Option<String>,
    /// The limits, the command line's already merged over the batch's.
    pub limits: Limits,
    /// Planned rates (`--ramp`, else the batch's profile).
    pub profile: Option<Profile>,
    /// Send a coalescing batch's items one by one (`--no-coalesce`).
    pub one_by_one: bool,
    /// How long auto-tune holds a rate before it settles on it (`None`:
    /// the probe's default, 10 s).
    pub tune_window: Option<std::time::Duration>,
    /// A first step for a newcomer, shown under the limits (the demo's).
    pub guide: Option<String>,
}

/// The app as a test or a script driving the loop sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub state: RunState,
    /// Runs started in this session.
    pub runs: u32,
    pub done: u64,
    pub total: Option<u64>,
    pub view: View,
    pub notice: Option<Notice>,
    /// Results indexed for the table.
    pub results: usize,
    /// The results table is being read.
    pub loading: bool,
    pub exporting: bool,
    /// An interrupted run is offered for resuming.
    pub resumable: bool,
    /// Finished runs in the runs log (a run's end is fully taken in once
    /// it is counted here).
    pub logged: usize,
    /// Frames drawn so far.
    pub frames: u64,
    /// The sliders' limits.
    pub limits: Limits,
    /// Auto-tune's best rate held so far, while it runs.
    pub tuning_best: Option<f64>,
    /// What the limits row says holds the run back.
    pub limited_by: String,
}

#[derive(Debug)]
pub struct App {
    pub(super) batch: Option<Batch>,
    /// The sliders' values; sent to the engine as they change.
    pub(super) limits: Limits,
    pub(super) selected: Slider,
    pub(super) overlay: Option<Overlay>,
    pub(super) stats: StatsSnapshot,
    pub(super) state: RunState,
    pub(super) history: History,
    pub(super) summary: Option<RunSummary>,
    pub(super) notice: Option<Notice>,
    /// Every notice so far, with its time of day, oldest first (`m`).
    pub(super) messages: std::collections::VecDeque<(String, Notice)>,
    /// Where the current run's results are being written.
    pub(super) journal: Option<PathBuf>,
    /// Runs started in this session.
    pub(super) runs: u32,
    /// The current (or last) run's number in the runs log.
    pub(super) run_number: u64,
    pub(super) view: View,
    pub(super) editor: Editor,
    pub(super) results: ResultsView,
    /// The per-second slider moves by itself (`a`), until a limit is touched.
    pub(super) autotune: Option<AutoTune>,
    /// The last auto-tune's answer, for the slider's marker.
    pub(super) tuned: Option<crate::probe::Recommendation>,
    /// How long auto-tune holds a rate before it settles on it.
    pub(super) tune_window: std::time::Duration,
    /// The bottom-right panel shows the rate limits instead of the errors.
    pub(super) show_limits: bool,
    /// Planned rates for runs (the batch's `profile`, or `--ramp`).
    pub(super) profile: Option<Profile>,
    /// The current run's plan was ended by a limit change.
    pub(super) profile_taken_over: bool,
    /// Send a coalescing batch's items one by one (`k`), to compare.
    pub(super) one_by_one: bool,
    /// Items per batch call, when the batch coalesces (`[` `]` change it).
    pub(super) max_items: Option<usize>,
    /// A batch whose items arrive over time: its window and arrival rate
    /// (the plan's at the start when it has one), and whether the user
    /// set the rate (it then replaces the batch's).
    pub(super) window: Option<Duration>,
    pub(super) arrival_rate: Option<f64>,
    pub(super) arrival_rate_set: bool,
    /// The cap on open connections per origin (`( )` change it), and
    /// whether the user set it (it then replaces the batch's and flags').
    pub(super) max_connections: Option<u64>,
    pub(super) max_connections_set: bool,
    /// How far the export under way has got.
    pub(super) exporting: Option<Progress>,
    /// Runs of the runs log, oldest first (read at start).
    pub(super) runs_log: Vec<RunEntry>,
    pub(super) runs_view: RunsView,
    /// The batch's text when it did not come from a file (the demo's).
    pub(super) batch_text: Option<String>,
    /// An interrupted run of the loaded batch, offered for resuming (`R`).
    pub(super) resume_offer: Option<Interrupted>,
    /// A first step for a newcomer, under the limits (the demo's: the
    /// mock's address and what to try).
    pub(super) guide: Option<String>,
    /// Whether the screen needs drawing.
    pub(super) dirty: bool,
    /// The screen's height when last drawn (what is on screen depends
    /// on it: a key must not act on what is not shown).
    pub(super) height: u16,
    /// Frames drawn so far.
    pub(super) frames: u64,
}

impl App {
    /// The workbench as a front end opens it.
    pub fn new(start: Start) -> Self {
        let mut app = Self {
            batch: None,
            limits: start.limits,
            selected: Slider::MaxAtOnce,
            overlay: None,
            stats: StatsSnapshot::initial(None, start.limits),
            state: RunState::Idle,
            history: History::default(),
            summary: None,
            height: 0,
            guide: start.guide.clone(),
            notice: None,
            messages: std::collections::VecDeque::new(),
            journal: None,
            runs: 0,
            run_number: 0,
            view: View::Dashboard,
            editor: Editor::default(),
            results: ResultsView::default(),
            autotune: None,
            tuned: None,
            tune_window: start
                .tune_window
                .unwrap_or(crate::probe::ProbeConfig::default().window),
            show_limits: false,
            profile: None,
            profile_taken_over: false,
            one_by_one: start.one_by_one,
            max_items: None,
            window: None,
            arrival_rate: None,
            arrival_rate_set: false,
            max_connections: None,
            max_connections_set: false,
            exporting: None,
            runs_log: Vec::new(),
            runs_view: RunsView::default(),
            batch_text: start.batch_text,
            resume_offer: None,
            dirty: true,
            frames: 0,
        };
        if let Some(batch) = start.batch {
            // What importing it skipped or changed, as `o` would say.
            if let Some(first) = batch.warnings.first() {
                app.notice = Some(Notice::Info(format!("note: {first}")));
            }
            app.adopt(batch);
        }
        // The command line's plan wins over the batch's.
        if start.profile.is_some() {
            app.profile = start.profile;
        }
        app
    }

    /// The last run's summary.
    pub fn summary(&self) -> Option<&RunSummary> {
        self.summary.as_ref()
    }

    /// Where the last run's results were written.
    pub fn journal(&self) -> Option<&Path> {
        self.journal.as_deref()
    }

    /// The sliders' limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The results table as last read.
    pub fn results(&self) -> &ResultsView {
        &self.results
    }

    /// The app at a glance.
    pub fn status(&self) -> Status {
        Status {
            state: self.state,
            runs: self.runs,
            done: self.stats.totals.done,
            total: self.stats.total,
            view: self.view,
            notice: self.notice.clone(),
            results: self.results.len(),
            loading: self.results.loading || self.results.pending.is_some(),
            exporting: self.exporting.is_some(),
            resumable: self.resume_offer.is_some(),
            logged: self.finished_runs().count(),
            frames: self.frames,
            limits: self.limits,
            tuning_best: self.autotune.as_ref().and_then(|t| t.best()),
            limited_by: self.limited_by(),
        }
    }

    /// Which limit holds the run back, in words, with the server's figure
    /// when it is the server.
    pub fn limited_by(&self) -> String {
        let s = &self.stats;
        match (self.state, s.binding) {
            (RunState::Running, Binding::Rate) => "limited by rate".into(),
            (RunState::Running, Binding::MaxAtOnce) => "limited by max at once".into(),
            (RunState::Running, Binding::Server) if s.refused_share > REFUSED_SHARE => format!(
                "limited by the server: {:.0} % refused",
                s.refused_share * 100.0
            ),
            (RunState::Running, Binding::Server) => match s.slowing {
                Some(factor) => format!("limited by the server: latency {factor:.1}× its low"),
                None => "limited by the server: following its limits".into(),
            },
            (RunState::Running, Binding::None) if s.in_flight > 0 => "neither limit reached".into(),
            (RunState::Paused, _) => "paused".into(),
            _ => String::new(),
        }
    }

    /// Whether the screen needs drawing; drawing it clears the flag.
    pub(super) fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// Counts a frame drawn.
    pub(super) fn drew(&mut self, height: u16) {
        self.frames += 1;
        self.height = height;
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
        if !self.max_connections_set {
            self.max_connections = s.max_connections.and_then(crate::model::Limit::get);
        }
        let arrivals = s.arrivals.as_ref().filter(|_| s.coalesce.is_some());
        self.arrival_rate = arrivals.map(|a| a.rate_at(Duration::ZERO));
        self.arrival_rate_set = false;
        self.window = arrivals.map(|_| {
            s.coalesce
                .as_ref()
                .and_then(|c| c.window)
                .unwrap_or_default()
        });
        if self.arrival_rate.is_none() && self.selected == Slider::Arrivals {
            self.selected = Slider::MaxAtOnce;
        }
        self.stats = StatsSnapshot::initial(Some(batch.len()), self.limits);
        self.batch = Some(batch);
    }

    /// Whether runs send this batch's items in batch calls.
    pub(super) fn coalescing(&self) -> bool {
        self.max_items.is_some() && !self.one_by_one
    }

    /// Whether a run is going (it can be paused, stopped, or steered).
    pub(super) fn is_active(&self) -> bool {
        matches!(
            self.state,
            RunState::Running | RunState::Paused | RunState::Stopping
        )
    }

    pub(super) fn value(&self, slider: Slider) -> Option<f64> {
        match slider {
            Slider::MaxAtOnce => self.limits.max_at_once.map(|n| n as f64),
            Slider::PerSecond => self.limits.per_second,
            Slider::Arrivals => self.arrival_rate,
        }
    }

    /// The runs of the runs log that finished, oldest first.
    pub(super) fn finished_runs(&self) -> impl DoubleEndedIterator<Item = &RunEntry> {
        self.runs_log.iter().filter(|r| r.is_finished())
    }

    /// Takes a newly loaded batch; its file's limits become the sliders'.
    pub(super) fn set_batch(&mut self, batch: Batch) {
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

    /// Work to do as the loop starts: read the runs log, and look for an
    /// interrupted run of the batch opened with the app.
    pub fn initial_effects(&self) -> Vec<Effect> {
        let mut effects = vec![Effect::LoadRunsLog];
        effects.extend(self.find_interrupted());
        effects
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
        let before = self.notice.clone();
        let effects = self.update_inner(msg);
        // Every notice goes into the log, so none is lost to the next or
        // to a line too short for it.
        if self.notice != before
            && let Some(notice) = &self.notice
        {
            if self.messages.len() == MAX_MESSAGES {
                self.messages.pop_front();
            }
            self.messages.push_back((self.clock(), notice.clone()));
        }
        effects
    }

    /// The time of day, for the message log.
    fn clock(&self) -> String {
        let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        now.get(11..19).unwrap_or(&now).to_owned()
    }

    fn update_inner(&mut self, msg: Msg) -> Vec<Effect> {
        self.dirty = true;
        match msg {
            Msg::Key(key) if key.kind == KeyEventKind::Press => self.on_key(key),
            Msg::Key(_) => {
                self.dirty = false;
                vec![]
            }
            Msg::Paste(text) => self.on_paste(&text),
            Msg::Resize => vec![],
            Msg::Stats(stats) => {
                self.history.push(&stats);
                if self.state != RunState::Done {
                    self.state = stats.state;
                }
                self.stats = *stats;
                let mut effects = self.tune();
                effects.extend(self.refresh_results());
                effects
            }
            Msg::Engine(event) => self.on_engine(event),
            Msg::Started(started) => self.on_started(started),
            Msg::EditorText(text) => self.on_editor_text(text),
            Msg::Ended(ended) => self.on_ended(ended),
            Msg::RunsLoaded(runs) => {
                // Runs that finished meanwhile stay after the older ones.
                let recent = std::mem::take(&mut self.runs_log);
                self.runs_log = runs;
                self.runs_log.extend(recent);
                vec![]
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
            Msg::BatchLoaded(Err(e)) | Msg::Problem(e) => {
                self.notice = Some(Notice::Error(e));
                vec![]
            }
            Msg::WouldReplace(save) => {
                self.overlay = Some(Overlay::ConfirmOverwrite(save));
                vec![]
            }
            Msg::Completed {
                typed,
                completed,
                candidates,
            } => {
                if let Some(Overlay::Prompt(input)) = self.overlay.as_mut()
                    && input.text == typed
                {
                    input.set_text(completed);
                    if candidates.len() > 1 {
                        self.notice = Some(Notice::Info(candidates.join("  ")));
                    }
                }
                vec![]
            }
            Msg::Saved(saved) => {
                self.notice = Some(match saved {
                    Ok(path) => Notice::Info(format!(
                        "saved the batch with these limits to {}",
                        path.display()
                    )),
                    Err(e) => Notice::Error(e),
                });
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
            Msg::Exported(exported) => {
                self.exporting = None;
                self.notice = Some(match exported {
                    Ok((path, count)) => {
                        Notice::Info(format!("exported {count} results to {}", path.display()))
                    }
                    Err(e) => Notice::Error(e),
                });
                vec![]
            }
        }
    }

    fn on_engine(&mut self, event: Event) -> Vec<Effect> {
        match event {
            Event::Finished(summary) => return self.on_finished(*summary),
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
}
