//! Carrying out the app's effects, and bringing back what comes of them:
//! the run in progress (its commands, events and stats), and the results
//! of work done off the UI loop (preparing and finishing a run with the
//! session, reading and writing files). The loop only asks [`Effects`]
//! for the next message and hands it the app's effects.
//!
//! ```text
//!  App ──Effect──▶ Effects ──spawn_blocking──▶ session prepare / finish, file work
//!   ▲                 │  ◀── Prepared (start the engine here, on the loop) ──┘
//!   └──── Msg ◀───────┴── engine events and stats, background results
//! ```

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::app::{App, Effect, Msg, StartRun, Started};
use super::{TuiConfig, results};
use crate::batch::Batch;
use crate::engine::{Command, Event, RunConfig};
use crate::export::ExportFormat;
use crate::session::{self, Finisher, Journal, Plan, Prepared};
use crate::stats::{RunSummary, StatsSnapshot};

/// How long quitting waits for a stopped run to write its last results.
const QUIT_FLUSH: Duration = Duration::from_secs(3);

/// The run in progress: the engine's channels, and the session's end.
#[derive(Default)]
struct Run {
    commands: Option<mpsc::UnboundedSender<Command>>,
    events: Option<mpsc::UnboundedReceiver<Event>>,
    stats: Option<watch::Receiver<StatsSnapshot>>,
    done: Option<JoinHandle<RunSummary>>,
    finisher: Option<Finisher>,
}

/// What work done off the loop brings back to it (not for the app).
enum Internal {
    /// A run prepared by the session: the loop starts it.
    Prepared(Result<Prepared, String>),
}

/// Whether the loop goes on.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Flow {
    Continue,
    Quit,
}

pub(super) struct Effects {
    config: TuiConfig,
    run: Run,
    /// Results of background work, as messages for the app.
    background: mpsc::UnboundedSender<Msg>,
    finished: mpsc::UnboundedReceiver<Msg>,
    internal_tx: mpsc::UnboundedSender<Internal>,
    internal: mpsc::UnboundedReceiver<Internal>,
}

impl Effects {
    pub(super) fn new(config: TuiConfig) -> Self {
        let (background, finished) = mpsc::unbounded_channel();
        let (internal_tx, internal) = mpsc::unbounded_channel();
        Self {
            config,
            run: Run::default(),
            background,
            finished,
            internal_tx,
            internal,
        }
    }

    /// The next message for the app: background results first, then a
    /// prepared run starting, then the engine's events, then its stats.
    pub(super) async fn next(&mut self) -> Msg {
        loop {
            tokio::select! {
                biased;
                Some(msg) = self.finished.recv() => return msg,
                Some(Internal::Prepared(prepared)) = self.internal.recv() => {
                    return Msg::Started(self.start(prepared));
                }
                event = next_event(&mut self.run.events) => match event {
                    Some(Event::Finished(summary)) => return self.finished_run(summary),
                    Some(event) => return Msg::Engine(event),
                    None => self.run.events = None,
                },
                stats = next_stats(&mut self.run.stats) => match stats {
                    Some(stats) => return Msg::Stats(Box::new(stats)),
                    None => self.run.stats = None,
                },
            }
        }
    }

    /// Carries out the effects in order; says whether the loop ends.
    pub(super) async fn carry_out(&mut self, effects: Vec<Effect>, app: &mut App) -> Flow {
        for effect in effects {
            if self.one(effect, app).await == Flow::Quit {
                return Flow::Quit;
            }
        }
        Flow::Continue
    }

    async fn one(&mut self, effect: Effect, app: &mut App) -> Flow {
        match effect {
            Effect::Quit => {
                self.quit(app).await;
                return Flow::Quit;
            }
            Effect::Send(command) => {
                if let Some(commands) = &self.run.commands {
                    let _ = commands.send(command);
                }
            }
            Effect::Start(run) => {
                let plan = self.plan(*run);
                let internal = self.internal_tx.clone();
                tokio::task::spawn_blocking(move || {
                    let prepared = plan.prepare().map_err(|e| e.to_string());
                    let _ = internal.send(Internal::Prepared(prepared));
                });
            }
            other => self.off_loop(other),
        }
        Flow::Continue
    }

    /// The session's plan for a run the app asked for.
    fn plan(&self, run: StartRun) -> Plan {
        let coalesce =
            run.batch
                .settings
                .coalesce
                .clone()
                .zip(run.max_items)
                .map(|(mut c, max_items)| {
                    c.max_items = max_items;
                    c.window = run.window.or(c.window);
                    std::sync::Arc::new(c)
                });
        // The arrival rate the user set replaces the batch's (a plan too).
        let arrivals = run.batch.settings.arrivals.clone().map(|mut a| {
            if let Some(rate) = run.arrival_rate {
                a.rate = crate::model::ArrivalRate::Fixed(rate);
            }
            a
        });
        let journal = match run.resume {
            Some(path) => Journal::File {
                path,
                format: ExportFormat::Jsonl,
            },
            None => Journal::In(self.config.journal_dir.clone()),
        };
        // Flags over the file over the defaults; then what the app steers.
        let base = self
            .config
            .overrides
            .apply(&run.batch.settings, self.config.run.clone());
        Plan {
            run: RunConfig {
                max_connections: run.max_connections.unwrap_or(base.max_connections),
                limits: run.limits,
                profile: run.profile,
                arrivals: arrivals.filter(|_| coalesce.is_some()),
                coalesce,
                ..base
            },
            batch: run.batch,
            journal,
            rows: run.rows,
            runs_log: self.config.runs_file.clone(),
            edited: run.edited,
            number_hint: u64::from(run.number),
        }
    }

    /// Starts a prepared run's engine (here, on the loop's runtime).
    fn start(&mut self, prepared: Result<Prepared, String>) -> Result<Started, String> {
        let prepared = prepared?;
        let (total, number) = (prepared.total(), prepared.number());
        let running = prepared.start().map_err(|e| e.to_string())?;
        let journal = running.finisher.journal().map(|p| p.to_path_buf());
        let parts = running.handle.into_parts();
        self.run = Run {
            commands: Some(parts.commands),
            events: Some(parts.events),
            stats: Some(parts.stats),
            done: Some(parts.done),
            finisher: Some(running.finisher),
        };
        Ok(Started {
            journal,
            total,
            number,
        })
    }

    /// The engine finished: the app hears the final stats at once (they
    /// are published before `Finished`), then the summary; the session
    /// finishes the run off the loop and the app hears that too.
    fn finished_run(&mut self, summary: Box<RunSummary>) -> Msg {
        let last = self.run.stats.as_ref().map(|s| s.borrow().clone());
        let finisher = self.run.finisher.take();
        self.run = Run::default();
        let limits = last.as_ref().map_or(self.config.run.limits, |s| s.limits);
        let ended = summary.clone();
        // Queued in this order: the stats, the summary, then the session's end.
        let first = match last {
            Some(last) => {
                let _ = self.background.send(Msg::Engine(Event::Finished(summary)));
                Msg::Stats(Box::new(last))
            }
            None => Msg::Engine(Event::Finished(summary)),
        };
        if let Some(finisher) = finisher {
            self.in_background(move || {
                Msg::Ended(
                    finisher
                        .finish(&ended, limits)
                        .map(Box::new)
                        .map_err(|e| e.to_string()),
                )
            });
        }
        first
    }

    /// Quitting: a run being quit was told to stop; let it record what is
    /// in flight, flush the journal and finish its session before we go.
    async fn quit(&mut self, app: &mut App) {
        let Some(done) = self.run.done.take() else {
            return;
        };
        let Ok(Ok(summary)) = tokio::time::timeout(QUIT_FLUSH, done).await else {
            return;
        };
        if let Some(finisher) = self.run.finisher.take() {
            let limits = app.limits();
            let ended = {
                let summary = summary.clone();
                tokio::task::spawn_blocking(move || finisher.finish(&summary, limits))
            };
            let _ = tokio::time::timeout(QUIT_FLUSH, ended).await;
        }
        app.update(Msg::Engine(Event::Finished(Box::new(summary))));
    }

    /// Effects that are file work: done on tokio's blocking pool, their
    /// results back as messages.
    fn off_loop(&self, effect: Effect) {
        match effect {
            Effect::LoadRunsLog => {
                let file = self.config.runs_file.clone();
                self.in_background(move || {
                    Msg::RunsLoaded(
                        file.map(|f| session::runs_log::load(&f))
                            .unwrap_or_default(),
                    )
                })
            }
            Effect::ReadEditorText(path) => self.in_background(move || {
                Msg::EditorText(
                    std::fs::read_to_string(&path)
                        .map_err(|e| format!("cannot read {}: {e}", path.display())),
                )
            }),
            Effect::FindInterrupted { batch, total } => {
                let dir = self.config.journal_dir.clone();
                let log = self.config.runs_file.clone();
                self.in_background(move || {
                    // An unreadable journal is not worth a warning here.
                    let found =
                        session::find_interrupted(&batch, total, Some(&dir), log.as_deref());
                    Msg::InterruptedFound(found.ok().flatten())
                })
            }
            Effect::Export {
                journal,
                out,
                format,
            } => {
                let progress = self.background.clone();
                self.in_background(move || {
                    let report = |at| {
                        let _ = progress.send(Msg::ExportProgress(at));
                    };
                    let done = crate::export::convert_with_progress(&journal, &out, format, report)
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
                replace,
            } => self.in_background(move || {
                if !replace && path.exists() {
                    return Msg::WouldReplace(Box::new(Effect::SaveBatch {
                        text,
                        from,
                        format,
                        limits,
                        path,
                        replace,
                    }));
                }
                Msg::Saved(save_batch(text, &from, format, limits, &path))
            }),
            Effect::CompletePath(typed) => self.in_background(move || complete_path(typed)),
            Effect::LoadResults {
                journal,
                filter,
                order,
                around,
            } => self.in_background(move || {
                let indexed = crate::export::ResultIndex::build(&journal, filter, order)
                    .and_then(|index| {
                        let offset = results::page_start(around, index.len());
                        let rows = index.page(offset, results::PAGE)?;
                        Ok((std::sync::Arc::new(index), offset, rows))
                    })
                    .map_err(|e| format!("cannot read {}: {e}", journal.display()));
                Msg::ResultsIndexed(indexed)
            }),
            Effect::LoadPage { index, offset } => self.in_background(move || {
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
                let options = self.config.load_options();
                self.in_background(move || Msg::Validated {
                    generation,
                    result: Batch::parse_str(&text, &path, &options),
                })
            }
            // Loading validates the whole expansion: never on the UI loop.
            Effect::OpenBatch(path) => {
                let options = self.config.load_options();
                self.in_background(move || {
                    Msg::BatchLoaded(Batch::load_with(&path, &options).map_err(|e| e.to_string()))
                })
            }
            Effect::Quit | Effect::Send(_) | Effect::Start(_) => {
                unreachable!("carried out on the loop")
            }
        }
    }

    /// Runs blocking work (file I/O, parsing) on tokio's blocking pool and
    /// sends its message back to the loop.
    fn in_background(&self, work: impl FnOnce() -> Msg + Send + 'static) {
        let background = self.background.clone();
        tokio::task::spawn_blocking(move || {
            let _ = background.send(work());
        });
    }
}

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

/// Writes the batch with `limits` and checks that the file loads back.
/// Tab in a path prompt: the entries of the typed folder that start with
/// the typed name; one is completed (a folder gets its `/`), several
/// complete to what they share and are listed.
fn complete_path(typed: String) -> Msg {
    let (dir, name) = match typed.rfind('/') {
        Some(i) => (&typed[..=i], &typed[i + 1..]),
        None => ("", typed.as_str()),
    };
    let folder = if dir.is_empty() { "." } else { dir };
    let mut candidates: Vec<String> = std::fs::read_dir(folder)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    let folder = e.file_type().is_ok_and(|t| t.is_dir());
                    (n.starts_with(name) && (!n.starts_with('.') || name.starts_with('.')))
                        .then(|| if folder { format!("{n}/") } else { n })
                })
                .collect()
        })
        .unwrap_or_default();
    candidates.sort();
    let shared = candidates.iter().skip(1).fold(
        candidates.first().cloned().unwrap_or_default(),
        |common, c| {
            common
                .chars()
                .zip(c.chars())
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| a)
                .collect()
        },
    );
    let completed = if shared.len() > name.len() {
        format!("{dir}{shared}")
    } else {
        typed.clone()
    };
    Msg::Completed {
        typed,
        completed,
        candidates,
    }
}

fn save_batch(
    text: Option<String>,
    from: &std::path::Path,
    format: crate::batch::Format,
    limits: crate::model::Limits,
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

#[cfg(test)]
mod completion_tests {
    use super::*;

    #[test]
    fn tab_completes_a_unique_name_and_the_shared_part_of_several() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["inventory.json", "inventory-2.json", "urls.txt"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        std::fs::create_dir(dir.path().join("runs")).unwrap();
        let base = format!("{}/", dir.path().display());
        let completed = |typed: &str| match complete_path(format!("{base}{typed}")) {
            Msg::Completed {
                completed,
                candidates,
                ..
            } => (
                completed.trim_start_matches(&base).to_owned(),
                candidates.len(),
            ),
            other => panic!("{other:?}"),
        };
        assert_eq!(completed("u"), ("urls.txt".into(), 1));
        assert_eq!(
            completed("r"),
            ("runs/".into(), 1),
            "a folder gets its slash"
        );
        assert_eq!(completed("inv"), ("inventory".into(), 2), "the shared part");
        assert_eq!(completed("zzz"), ("zzz".into(), 0), "nothing: as typed");
    }
}
