//! The terminal workbench: a ratatui app over the engine. It never touches
//! the network: it starts runs and sends commands through the engine's
//! channels, and draws from the latest stats snapshot.
//!
//! The loop is a `biased` select, in this order: input first (keys must
//! stay responsive whatever the load), then engine events, then stats,
//! then the frame tick, which draws at most 30 times a second and only
//! when something changed. Input comes in as a stream, so tests drive the
//! loop with scripted keys and a `TestBackend`.

pub mod app;
pub mod autotune;
pub mod history;
pub mod interrupted;
pub mod results;
pub mod runs;
pub mod steps;
pub mod ui;

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossterm::event::Event as TermEvent;
use futures_util::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::{mpsc, watch};
use tokio::time::{MissedTickBehavior, interval};

use app::Notice;
pub use app::{App, Effect, Msg};

use crate::batch::{Batch, LoadOptions};
use crate::engine::{self, Command, Event, RunConfig};
use crate::export::{ExportFormat, create_journal};
use crate::stats::StatsSnapshot;

/// The frame budget: at most 30 frames a second.
pub const FRAME: Duration = Duration::from_millis(33);

/// Set by the panic hook as soon as some thread or task panics: the loop
/// must not draw again (the terminal is being restored).
static PANICKING: AtomicBool = AtomicBool::new(false);
/// Set by the panic hook once the panic's message is printed: the loop
/// ends. Ending earlier would race the message to the screen.
static PANICKED: AtomicBool = AtomicBool::new(false);

/// How runs started from the TUI behave.
#[derive(Debug, Clone)]
pub struct TuiConfig {
    /// Everything but the limits, which come from the sliders.
    pub run: RunConfig,
    /// Base URL override for batches opened from the app.
    pub base_url: Option<String>,
    /// Where each run's results journal goes.
    pub journal_dir: PathBuf,
    /// The runs log, appended as runs finish (`None`: not kept).
    pub runs_file: Option<PathBuf>,
}

impl TuiConfig {
    /// How batches opened or edited in the app are loaded.
    fn load_options(&self) -> LoadOptions {
        LoadOptions {
            base_url: self.base_url.clone(),
            format: None,
        }
    }
}

/// Whether the terminal has been given back since the app took it.
static RESTORED: AtomicBool = AtomicBool::new(false);

/// Restores the terminal, once: leaving the alternate screen a second time
/// would move the cursor back up over what was printed since (a panic's
/// message).
fn restore_once() {
    if !RESTORED.swap(true, Ordering::SeqCst) {
        let _ = crossterm::execute!(io::stdout(), crossterm::event::DisableBracketedPaste);
        ratatui::restore();
    }
}

/// Restores the terminal when dropped: normal exit, error or unwinding.
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        restore_once();
    }
}

/// Runs the app on the real terminal until the user quits.
pub async fn run(app: App, config: TuiConfig) -> io::Result<App> {
    let mut terminal = ratatui::try_init()?;
    RESTORED.store(false, Ordering::SeqCst);
    let _restore = Restore;
    // A paste arrives whole (a curl command becomes a request), not as keys.
    crossterm::execute!(io::stdout(), crossterm::event::EnableBracketedPaste)?;
    install_panic_hook();
    let input = crossterm::event::EventStream::new().filter_map(|e| async move { e.ok() });
    run_loop(&mut terminal, app, Box::pin(input), config).await
}

/// Makes a panic anywhere (the UI, a tokio task, a thread) restore the
/// terminal before its message prints, and end the loop at its next tick:
/// a panicking task does not stop the UI by itself, and drawing on after
/// the restore would garble the screen.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICKING.store(true, Ordering::SeqCst);
        restore_once();
        previous(info);
        PANICKED.store(true, Ordering::SeqCst);
    }));
}

/// The channels of the run in progress.
#[derive(Default)]
struct Session {
    commands: Option<mpsc::UnboundedSender<Command>>,
    events: Option<mpsc::UnboundedReceiver<Event>>,
    stats: Option<watch::Receiver<StatsSnapshot>>,
    done: Option<tokio::task::JoinHandle<crate::stats::RunSummary>>,
}

/// How long quitting waits for a stopped run to write its last results.
const QUIT_FLUSH: Duration = Duration::from_secs(3);

async fn next_event(events: &mut Option<mpsc::UnboundedReceiver<Event>>) -> Option<Event> {
    match events {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn next_stats(stats: &mut Option<watch::Receiver<StatsSnapshot>>) -> Option<StatsSnapshot> {
    match stats {
        Some(rx) => match rx.changed().await {
            Ok(()) => Some(rx.borrow_and_update().clone()),
            Err(_) => None,
        },
        None => std::future::pending().await,
    }
}

/// The app's loop over any backend and any input stream.
pub async fn run_loop<B, S>(
    terminal: &mut Terminal<B>,
    mut app: App,
    mut input: S,
    config: TuiConfig,
) -> io::Result<App>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
    S: Stream<Item = TermEvent> + Unpin,
{
    let theme = ui::Theme::from_env();
    // A panic before this loop has been reported already.
    PANICKING.store(false, Ordering::SeqCst);
    PANICKED.store(false, Ordering::SeqCst);
    let mut session = Session::default();
    let mut frame = interval(FRAME);
    frame.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut input_open = true;
    // Results of work done off the UI thread (journal reads, exports).
    let (background, mut finished) = mpsc::unbounded_channel::<Msg>();
    // When the screen was last drawn: a key redraws at once unless that
    // would pass the frame budget (the tick then draws it).
    let mut drawn = tokio::time::Instant::now();
    let mut startup = app.initial_effects();
    loop {
        let mut typed = false;
        let effects = tokio::select! {
            biased;
            event = input.next(), if input_open => match event {
                Some(TermEvent::Key(key)) => {
                    typed = true;
                    app.update(Msg::Key(key))
                }
                Some(TermEvent::Resize(..)) => app.update(Msg::Resize),
                Some(TermEvent::Paste(text)) => {
                    typed = true;
                    app.update(Msg::Paste(text))
                }
                Some(_) => vec![],
                None => {
                    input_open = false;
                    vec![]
                }
            },
            Some(msg) = finished.recv() => app.update(msg),
            _ = tokio::signal::ctrl_c() => vec![Effect::Send(Command::Stop { grace: Some(Duration::ZERO) }), Effect::Quit],
            event = next_event(&mut session.events) => match event {
                Some(Event::Finished(summary)) => {
                    // The final snapshot is published before Finished.
                    if let Some(stats) = &session.stats {
                        let last = stats.borrow().clone();
                        app.update(Msg::Stats(Box::new(last)));
                    }
                    session = Session::default();
                    app.update(Msg::Engine(Event::Finished(summary)))
                }
                Some(event) => app.update(Msg::Engine(event)),
                None => {
                    session.events = None;
                    vec![]
                }
            },
            stats = next_stats(&mut session.stats) => match stats {
                Some(stats) => app.update(Msg::Stats(Box::new(stats))),
                None => {
                    session.stats = None;
                    vec![]
                }
            },
            _ = frame.tick() => {
                if PANICKED.load(Ordering::SeqCst) {
                    return Err(io::Error::other("a background task panicked; see the message above"));
                }
                if app.dirty && !PANICKING.load(Ordering::SeqCst) {
                    terminal.draw(|f| ui::draw(f, &app, &theme)).map_err(io::Error::other)?;
                    app.dirty = false;
                    drawn = tokio::time::Instant::now();
                }
                vec![]
            }
        };
        // The first turn also does the app's start-up work (the interval's
        // first tick is immediate, so this is at once).
        let effects = if startup.is_empty() {
            effects
        } else {
            let mut all = std::mem::take(&mut startup);
            all.extend(effects);
            all
        };
        for effect in effects {
            match effect {
                Effect::Quit => {
                    // A run being quit was told to stop: let it record what
                    // is in flight and flush the journal before we go.
                    if let Some(done) = session.done.take()
                        && let Ok(Ok(summary)) = tokio::time::timeout(QUIT_FLUSH, done).await
                    {
                        app.summary = Some(summary);
                    }
                    terminal
                        .draw(|f| ui::draw(f, &app, &theme))
                        .map_err(io::Error::other)?;
                    return Ok(app);
                }
                Effect::Send(command) => {
                    if let Some(commands) = &session.commands {
                        let _ = commands.send(command);
                    }
                }
                Effect::Start => match start_run(&app, &config) {
                    Ok((next, journal)) => {
                        session = next;
                        app.journal = Some(journal);
                    }
                    Err(e) => {
                        app.state = crate::engine::RunState::Idle;
                        app.notice = Some(Notice::Error(e));
                    }
                },
                Effect::FindInterrupted { batch, total } => {
                    let dir = config.journal_dir.clone();
                    off_ui_thread(&background, move || {
                        // An unreadable journal is not worth a warning here.
                        let found = interrupted::find(&dir, &batch, total).ok().flatten();
                        Msg::InterruptedFound(found)
                    })
                }
                Effect::MarkComplete(journal) => off_ui_thread(&background, move || {
                    interrupted::mark_complete(&journal).err().map(|e| {
                        Msg::Problem(format!("cannot mark {} complete: {e}", journal.display()))
                    })
                }),
                Effect::FindFailed(journal) => off_ui_thread(&background, move || {
                    let found = crate::export::failed_indices(&journal)
                        .map_err(|e| format!("cannot read {}: {e}", journal.display()));
                    Msg::FailedFound(found)
                }),
                Effect::Export {
                    journal,
                    out,
                    format,
                } => {
                    let progress = background.clone();
                    off_ui_thread(&background, move || {
                        let report = |at| {
                            let _ = progress.send(Msg::ExportProgress(at));
                        };
                        let done =
                            crate::export::convert_with_progress(&journal, &out, format, report)
                                .map(|count| (out.clone(), count))
                                .map_err(|e| {
                                    format!(
                                        "cannot export to {}: {e} (the results are still in {})",
                                        out.display(),
                                        journal.display()
                                    )
                                });
                        Msg::Exported(done)
                    })
                }
                Effect::SaveBatch {
                    text,
                    from,
                    format,
                    limits,
                    path,
                } => off_ui_thread(&background, move || {
                    Msg::Saved(save_batch(text, &from, format, limits, &path))
                }),
                Effect::RecordRun(entry) => {
                    if let Some(path) = config.runs_file.clone() {
                        off_ui_thread(&background, move || {
                            let recorded = runs::append(&path, &entry);
                            recorded.err().map(|e| {
                                Msg::Problem(format!(
                                    "cannot record the run in {}: {e}",
                                    path.display()
                                ))
                            })
                        });
                    }
                }
                Effect::LoadResults {
                    journal,
                    filter,
                    order,
                    around,
                } => off_ui_thread(&background, move || {
                    let indexed = crate::export::ResultIndex::build(&journal, filter, order)
                        .and_then(|index| {
                            let offset = results::page_start(around, index.len());
                            let rows = index.page(offset, results::PAGE)?;
                            Ok((std::sync::Arc::new(index), offset, rows))
                        })
                        .map_err(|e| format!("cannot read {}: {e}", journal.display()));
                    Msg::ResultsIndexed(indexed)
                }),
                Effect::LoadPage { index, offset } => off_ui_thread(&background, move || {
                    let rows = index
                        .page(offset, results::PAGE)
                        .map_err(|e| format!("cannot read the results: {e}"));
                    Msg::ResultsPage {
                        index,
                        offset,
                        rows,
                    }
                }),
                Effect::Validate {
                    generation,
                    text,
                    path,
                } => {
                    let options = config.load_options();
                    off_ui_thread(&background, move || Msg::Validated {
                        generation,
                        result: Batch::parse_str(&text, &path, &options),
                    });
                }
                // Loading validates the whole expansion: never on the UI loop.
                Effect::OpenBatch(path) => {
                    let options = config.load_options();
                    off_ui_thread(&background, move || {
                        Msg::BatchLoaded(
                            Batch::load_with(&path, &options).map_err(|e| e.to_string()),
                        )
                    });
                }
            }
        }
        if typed && app.dirty && drawn.elapsed() >= FRAME && !PANICKING.load(Ordering::SeqCst) {
            terminal
                .draw(|f| ui::draw(f, &app, &theme))
                .map_err(io::Error::other)?;
            app.dirty = false;
            drawn = tokio::time::Instant::now();
        }
    }
}

/// Runs blocking work (file I/O, parsing) on tokio's blocking pool and
/// sends its result, if any, back to the loop as a message.
fn off_ui_thread<R: Into<Option<Msg>>>(
    background: &mpsc::UnboundedSender<Msg>,
    work: impl FnOnce() -> R + Send + 'static,
) {
    let background = background.clone();
    tokio::task::spawn_blocking(move || {
        if let Some(msg) = work().into() {
            let _ = background.send(msg);
        }
    });
}

/// Writes the batch with `limits` and checks that the file loads back.
fn save_batch(
    text: Option<String>,
    from: &std::path::Path,
    format: crate::batch::Format,
    limits: crate::engine::Limits,
    path: &std::path::Path,
) -> Result<PathBuf, String> {
    let text = match text {
        Some(text) => text,
        None => std::fs::read_to_string(from)
            .map_err(|e| format!("cannot read {}: {e}", from.display()))?,
    };
    let saved = crate::loader::save::with_limits(&text, format, from, limits)
        .map_err(|e| format!("cannot save: {e}"))?;
    std::fs::write(path, saved).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Batch::load(path).map_err(|e| format!("saved, but it does not load back: {e}"))?;
    Ok(path.to_path_buf())
}

/// Starts the engine on the app's batch with the sliders' limits; results
/// are journaled to a fresh file.
fn start_run(app: &App, config: &TuiConfig) -> Result<(Session, PathBuf), String> {
    let batch = app.batch.as_ref().ok_or("no batch loaded")?;
    std::fs::create_dir_all(&config.journal_dir)
        .map_err(|e| format!("cannot create {}: {e}", config.journal_dir.display()))?;
    let stem = batch
        .path
        .file_stem()
        .map_or_else(|| "batch".into(), |s| s.to_string_lossy().into_owned());
    // A resumed run appends to the interrupted run's journal, skipping
    // the rows it has; any other run gets a fresh one.
    let (journal, sink, done) = match app.resume_offer.as_ref().filter(|_| app.resuming) {
        Some(offer) => {
            let (resumed, sink) = crate::export::resume::resume_journal(&offer.journal, false)
                .map_err(|e| format!("cannot resume {}: {e}", offer.journal.display()))?;
            (offer.journal.clone(), sink, resumed.done)
        }
        None => {
            let journal = config.journal_dir.join(format!(
                "{stem}-{}-run{}.jsonl",
                std::process::id(),
                app.runs
            ));
            let sink = create_journal(&journal, ExportFormat::Jsonl)
                .map_err(|e| format!("cannot create {}: {e}", journal.display()))?;
            (journal, sink, Default::default())
        }
    };
    let manifest = interrupted::Manifest {
        batch: interrupted::batch_key(&batch.path),
        total: batch.len(),
        subset: app.only.is_some() || app.batch_text.is_some(),
        complete: false,
    };
    interrupted::write(&journal, &manifest)
        .map_err(|e| format!("cannot write beside {}: {e}", journal.display()))?;
    // The loaded batch's coalescing (unless `k` turned it off), with the
    // items per call as set in the app.
    let coalesce = batch
        .settings
        .coalesce
        .clone()
        .filter(|_| app.coalescing())
        .map(|mut c| {
            c.max_items = app.max_items.unwrap_or(c.max_items);
            std::sync::Arc::new(c)
        });
    let run = RunConfig {
        limits: app.limits,
        profile: app.profile.clone(),
        coalesce,
        ..config.run.clone()
    };
    // A re-run of failures sends only their indices, in batch order.
    let handle = match &app.only {
        None if !done.is_empty() => {
            let total = batch.len() - done.len() as u64;
            let rest = batch.requests().filter(move |r| {
                !done.contains(&r.as_ref().map_or_else(|bad| bad.index, |spec| spec.index))
            });
            engine::start(rest, Some(total), run, sink)
        }
        None => engine::start(batch.requests(), Some(batch.len()), run, sink),
        Some(only) => {
            let keep = only.clone();
            let subset = batch.requests().filter(move |r| {
                keep.contains(&r.as_ref().map_or_else(|bad| bad.index, |spec| spec.index))
            });
            engine::start(subset, Some(only.len() as u64), run, sink)
        }
    }
    .map_err(|e| e.to_string())?;
    let parts = handle.into_parts();
    let session = Session {
        commands: Some(parts.commands),
        events: Some(parts.events),
        stats: Some(parts.stats),
        done: Some(parts.done),
    };
    Ok((session, journal))
}
