//! The terminal workbench: a ratatui app over the engine. It never touches
//! the network, and never the disk on its loop: runs go through the
//! library's session and commands through the engine's channels, file
//! work is done on tokio's blocking pool, and it draws from the latest
//! stats snapshot.
//!
//! ```text
//!  keys ──▶ App::update ──effects──▶ Effects ──▶ engine, session, files
//!             ▲    │                    │
//!             │    └── draw (≤ 30 fps)  │
//!             └────────── Msg ◀─────────┘
//! ```
//! The loop is a `biased` select, in this order: input first (keys must
//! stay responsive whatever the load), then what the effects bring back
//! (background results, engine events, stats), then the frame tick,
//! which draws at most 30 times a second and only when something
//! changed. Input comes in as a stream, so tests drive the loop with
//! scripted keys and a `TestBackend`.

pub mod app;
pub mod autotune;
mod effects;
pub mod history;
pub mod keys;
pub mod results;
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
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior, interval};

pub use app::{App, Effect, Msg, Start, Status};
use effects::{Effects, Flow};

use crate::batch::LoadOptions;
use crate::engine::{Command, RunConfig};

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
    /// The defaults of every run; each batch's own settings (retries,
    /// timeout, ...) override them, and `overrides` override those. The
    /// limits come from the sliders.
    pub run: RunConfig,
    /// What the command line fixed for every batch of the session.
    pub overrides: crate::session::Overrides,
    /// Base URL override for batches opened from the app.
    pub base_url: Option<String>,
    /// The most requests a batch opened from the app may expand to.
    pub max_requests: Option<u64>,
    /// Where each run's results journal goes.
    pub journal_dir: PathBuf,
    /// The runs log, appended as runs start and finish (`None`: not kept).
    pub runs_file: Option<PathBuf>,
    /// Told the app's status after every turn of the loop (for tests and
    /// scripts that drive it: they wait for a state rather than a time).
    pub observer: Option<watch::Sender<Status>>,
}

impl TuiConfig {
    /// How batches opened or edited in the app are loaded.
    fn load_options(&self) -> LoadOptions {
        LoadOptions {
            base_url: self.base_url.clone(),
            format: None,
            max_requests: self.max_requests,
            progress: None,
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

/// The app's loop over any backend and any input stream: select the next
/// message, update the app, carry out its effects, draw.
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
    let observer = config.observer.clone();
    let mut effects = Effects::new(config);
    let mut frame = interval(FRAME);
    frame.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut input_open = true;
    // When the screen was last drawn: a key redraws at once unless that
    // would pass the frame budget (the tick then draws it).
    let mut drawn = Instant::now();
    let mut todo = app.initial_effects();
    let mut signals = crate::stop_signals::Signals::new();
    loop {
        if effects.carry_out(todo, &mut app).await == Flow::Quit {
            draw(terminal, &mut app, &theme, true)?;
            return Ok(app);
        }
        if let Some(observer) = &observer {
            observer.send_if_modified(|s| replace_if_changed(s, app.status()));
        }
        let mut typed = false;
        todo = tokio::select! {
            biased;
            event = input.next(), if input_open => {
                typed = matches!(event, Some(TermEvent::Key(_) | TermEvent::Paste(_)));
                input_open = event.is_some();
                event.and_then(message).map_or_else(Vec::new, |msg| app.update(msg))
            }
            msg = effects.next() => app.update(msg),
            // Ctrl-C from outside (the terminal's own is a key), SIGTERM,
            // SIGHUP: stop, record, give the terminal back.
            Some(_) = signals.next() => vec![Effect::Send(Command::Stop { grace: Some(Duration::ZERO) }), Effect::Quit],
            _ = frame.tick() => {
                if PANICKED.load(Ordering::SeqCst) {
                    return Err(io::Error::other("a background task panicked; see the message above"));
                }
                if draw(terminal, &mut app, &theme, false)? {
                    drawn = Instant::now();
                }
                vec![]
            }
        };
        if typed && drawn.elapsed() >= FRAME && draw(terminal, &mut app, &theme, false)? {
            drawn = Instant::now();
        }
    }
}

/// The app's message for a terminal event, if it has one.
fn message(event: TermEvent) -> Option<Msg> {
    match event {
        TermEvent::Key(key) => Some(Msg::Key(key)),
        TermEvent::Paste(text) => Some(Msg::Paste(text)),
        TermEvent::Resize(..) => Some(Msg::Resize),
        _ => None,
    }
}

/// Draws the app if it changed (or `always`), unless a panic is being
/// reported; says whether it drew.
fn draw<B>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    theme: &ui::Theme,
    always: bool,
) -> io::Result<bool>
where
    B: Backend,
    B::Error: Send + Sync + 'static,
{
    if PANICKING.load(Ordering::SeqCst) || !(app.take_dirty() || always) {
        return Ok(false);
    }
    let frame = terminal
        .draw(|f| ui::draw(f, app, theme))
        .map_err(io::Error::other)?;
    let height = frame.area.height;
    app.drew(height);
    Ok(true)
}

fn replace_if_changed(old: &mut Status, new: Status) -> bool {
    let changed = *old != new;
    *old = new;
    changed
}

#[cfg(test)]
mod tests;
