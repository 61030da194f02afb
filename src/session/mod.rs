//! A run's life cycle around the engine, written once for every front
//! end: `ratebench run` and the workbench both go through it, so a run
//! started in one can be resumed in the other.
//!
//! ```text
//!  Plan ──prepare()──▶ Prepared ──start()──▶ Running ──(engine's summary)──▶ Finisher::finish() ──▶ Ended
//!        journal opened or        the engine's    { handle, finisher }         sidecar marked complete,
//!        resumed, rows chosen,    RunHandle                                    workbook written, runs-log
//!        sidecar written, runs                                                 entry, the offer to resume
//!        log told it started                                                   a run that stopped short
//! ```
//! `prepare` and `finish` touch the disk (a resume rewrites the journal):
//! a front end with a UI loop calls them off it. `start` only spawns the
//! engine's tasks.

mod interrupted;
mod journal;
pub mod resume;
pub mod runs_log;
mod settings;
pub mod sidecar;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use interrupted::{Interrupted, find as find_interrupted};
pub use journal::{Discard, Journal, default_results_dir, workbook_journal};
pub use runs_log::{Ending, RunEntry};
pub use settings::Overrides;

use crate::batch::Batch;
use crate::engine::{self, EngineError, RunConfig, RunHandle};
use crate::export::{ExportFormat, RecordSink};
use crate::model::{ChangedBy, Limits};
use crate::stats::RunSummary;

/// Which rows of the batch a run sends.
#[derive(Debug, Clone, PartialEq)]
pub enum Rows {
    All,
    /// Only the rows that did not succeed in this journal (a re-run of
    /// the failures, written to a journal of its own).
    FailedIn(PathBuf),
    /// Go on with the run whose journal is the plan's [`Journal::File`]
    /// (JSON Lines): rows with a final result there are kept and not sent;
    /// the rest are sent and appended. With `retry_failed`, failures go
    /// again too. The journal must be this batch's (its sidecar says
    /// so) unless `force`.
    Resume {
        retry_failed: bool,
        force: bool,
    },
}

/// Everything a run needs before it starts.
#[derive(Debug, Clone)]
pub struct Plan {
    pub batch: Batch,
    pub run: RunConfig,
    pub journal: Journal,
    pub rows: Rows,
    /// The runs log (`None`: not kept).
    pub runs_log: Option<PathBuf>,
    /// The batch was edited in the workbench and differs from its file:
    /// its runs are not offered for resuming against that file.
    pub edited: bool,
    /// The front end's own count of runs: the run's number is at least
    /// this (it is one past the runs log's last otherwise).
    pub number_hint: u64,
}

/// Why a run could not be prepared or finished. Preparing fails only on
/// what the user can fix (a journal that cannot be created or is not a
/// journal, nothing to re-run); nothing has been sent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct SessionError(pub String);

/// What a resume found in the journal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResumeInfo {
    /// Rows whose result was kept (not sent again).
    pub kept: u64,
    /// Of those, failures.
    pub failed: u64,
}

/// A run ready to start: its journal is open and its rows are chosen.
pub struct Prepared {
    batch: Batch,
    run: RunConfig,
    sink: Box<dyn RecordSink>,
    selection: Selection,
    total: u64,
    resumed: Option<ResumeInfo>,
    finisher: Finisher,
}

/// The rows of the batch a run sends.
enum Selection {
    All,
    Only(Arc<BTreeSet<u64>>),
    Except(Arc<BTreeSet<u64>>),
}

impl Selection {
    fn keeps(&self, index: u64) -> bool {
        match self {
            Selection::All => true,
            Selection::Only(rows) => rows.contains(&index),
            Selection::Except(rows) => !rows.contains(&index),
        }
    }
}

/// A run going: the engine's handle, and what to do when it finishes.
pub struct Running {
    pub handle: RunHandle,
    pub finisher: Finisher,
}

/// What is left to do once the engine has finished a run.
#[derive(Debug)]
pub struct Finisher {
    /// The journal's writer lock, held until the run is logged.
    _lock: Option<std::fs::File>,
    entry: RunEntry,
    runs_log: Option<PathBuf>,
    /// The journal as written, and the workbook to write from it.
    journal: Option<PathBuf>,
    workbook: Option<PathBuf>,
    /// The run sends every row of the batch it was given (not a re-run of
    /// failures), so a run that stops short can be resumed: by the front
    /// end that holds this batch, and, when the batch is its file's, by any
    /// front end that opens the file (the sidecar says so).
    resumable: bool,
    batch_total: u64,
}

/// How a run ended, for the front end to show.
#[derive(Debug, Clone, PartialEq)]
pub struct Ended {
    /// The runs log's entry for it.
    pub entry: RunEntry,
    /// The run stopped short: it can be resumed from here.
    pub interrupted: Option<Interrupted>,
    /// Things that went wrong after the run but lost no result (the runs
    /// log could not be written), one sentence each.
    pub notes: Vec<String>,
}

impl Plan {
    /// Opens the journal, chooses the rows, writes the sidecar and tells
    /// the runs log the run started. Touches the disk.
    pub fn prepare(self) -> Result<Prepared, SessionError> {
        let Plan {
            batch,
            mut run,
            journal,
            rows,
            runs_log,
            edited,
            number_hint,
        } = self;
        let number = runs_log::next_number(runs_log.as_deref(), number_hint);
        let fingerprint = batch.fingerprint();
        let opened = journal.target(&batch.path, number).map_err(SessionError)?;
        if let Some(opened) = &opened {
            refuse_inputs(opened, &batch)?;
        }
        // One writer per journal, from before it is truncated or resumed.
        let lock = match &opened {
            Some(opened) => sidecar::lock(&opened.path).map_err(SessionError)?,
            None => None,
        };
        // A HAR shows what was sent and every response header.
        run.capture |= matches!(
            journal,
            Journal::File {
                format: ExportFormat::Har,
                ..
            }
        );
        let mut resumed = None;
        let (sink, selection): (Box<dyn RecordSink>, Selection) = match (&rows, &opened) {
            (Rows::Resume { .. }, None) => {
                return Err(SessionError(
                    "resuming needs the journal of the run (--out FILE.jsonl)".into(),
                ));
            }
            (
                Rows::Resume {
                    retry_failed,
                    force,
                },
                Some(opened),
            ) => {
                if opened.format != ExportFormat::Jsonl || opened.workbook.is_some() {
                    return Err(SessionError(
                        "--resume needs a JSON Lines journal (--out FILE.jsonl)".into(),
                    ));
                }
                if !force {
                    sidecar::belongs(&opened.path, &batch, &fingerprint).map_err(SessionError)?;
                }
                let (done, sink) =
                    resume::resume_journal(&opened.path, *retry_failed).map_err(|e| {
                        SessionError(format!("cannot resume from {}: {e}", opened.path.display()))
                    })?;
                resumed = Some(ResumeInfo {
                    kept: done.done.len() as u64,
                    failed: done.failed,
                });
                (sink, Selection::Except(Arc::new(done.done)))
            }
            (Rows::FailedIn(earlier), _) => {
                let failed = crate::export::failed_indices(earlier)
                    .map_err(|e| SessionError(format!("cannot read {}: {e}", earlier.display())))?;
                if failed.is_empty() {
                    return Err(SessionError("nothing failed: no re-run needed".into()));
                }
                (open(&opened)?, Selection::Only(Arc::new(failed)))
            }
            (Rows::All, _) => (open(&opened)?, Selection::All),
        };
        let total = match &selection {
            Selection::All => batch.len(),
            Selection::Only(rows) => rows.len() as u64,
            Selection::Except(rows) => batch.len().saturating_sub(rows.len() as u64),
        };
        let whole = !edited && !matches!(rows, Rows::FailedIn(_));
        let journal_path = opened.as_ref().map(|o| o.path.clone());
        // A device or a pipe (`--out /dev/stdout`) has no sidecar: it
        // cannot be resumed from.
        let regular = journal_path
            .as_ref()
            .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file()));
        if let Some(path) = regular {
            let manifest = sidecar::Manifest {
                batch: sidecar::batch_key(&batch.path),
                total: batch.len(),
                batch_hash: Some(fingerprint.clone()),
                subset: !whole,
                complete: false,
                journal: Some(path.clone()),
            };
            sidecar::write(path, &manifest).map_err(|e| {
                SessionError(format!("cannot write beside {}: {e}", path.display()))
            })?;
        }
        let entry = RunEntry {
            number,
            started_at: Some(now()),
            finished_at: None,
            batch: batch
                .path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            batch_path: Some(sidecar::batch_key(&batch.path)),
            batch_requests: batch.len(),
            batch_hash: Some(fingerprint.clone()),
            ended: None,
            autotuned: false,
            limits: run.limits,
            failed_only: matches!(rows, Rows::FailedIn(_)),
            coalesced: run.coalesce.is_some(),
            batching: runs_log::RunBatching::of(&run),
            summary: None,
            results: journal_path.clone(),
        };
        // The start line indexes the journal, so a run cut off before its
        // end is found by any front end. Without it nothing is lost but
        // that offer: not a reason to refuse the run.
        if let (Some(log), Some(_)) = (&runs_log, &journal_path) {
            let _ = runs_log::append(log, &entry);
        }
        Ok(Prepared {
            finisher: Finisher {
                _lock: lock,
                entry,
                runs_log,
                journal: journal_path,
                workbook: opened.and_then(|o| o.workbook),
                resumable: !matches!(rows, Rows::FailedIn(_)),
                batch_total: batch.len(),
            },
            batch,
            run,
            sink,
            selection,
            total,
            resumed,
        })
    }
}

/// A results file (or its sidecar) that is one of the batch's own files
/// would destroy it: refused before anything is opened.
fn refuse_inputs(opened: &journal::Opened, batch: &Batch) -> Result<(), SessionError> {
    let same = |a: &Path, b: &Path| match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => std::path::absolute(a).ok() == std::path::absolute(b).ok(),
    };
    let outputs = [
        Some(opened.path.clone()),
        Some(sidecar::path_of(&opened.path)),
        opened.workbook.clone(),
    ];
    for out in outputs.iter().flatten() {
        if let Some(input) = batch.inputs().iter().find(|i| same(out, i)) {
            return Err(SessionError(format!(
                "{} is an input of this batch ({}): results are never written over it",
                out.display(),
                input.display()
            )));
        }
    }
    Ok(())
}

fn open(opened: &Option<journal::Opened>) -> Result<Box<dyn RecordSink>, SessionError> {
    match opened {
        None => Ok(Box::new(Discard)),
        Some(opened) => journal::create(opened).map_err(SessionError),
    }
}

fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

impl Prepared {
    /// Requests this run will send.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Where its results are written, if anywhere.
    pub fn journal(&self) -> Option<&Path> {
        self.finisher.journal.as_deref()
    }

    /// The run's number (in the runs log and the journal's name).
    pub fn number(&self) -> u64 {
        self.finisher.entry.number
    }

    /// What a resume kept, when the run resumes one.
    pub fn resumed(&self) -> Option<ResumeInfo> {
        self.resumed
    }

    /// The run's settings, as it starts.
    pub fn config(&self) -> &RunConfig {
        &self.run
    }

    /// Starts the engine on the chosen rows (on the current runtime). If
    /// it cannot start, the runs log says so.
    pub fn start(self) -> Result<Running, EngineError> {
        let selection = self.selection;
        let requests = self.batch.requests().filter(move |r| {
            selection.keeps(r.as_ref().map_or_else(|bad| bad.index, |spec| spec.index))
        });
        match engine::start(requests, Some(self.total), self.run, self.sink) {
            Ok(handle) => Ok(Running {
                handle,
                finisher: self.finisher,
            }),
            Err(e) => {
                self.finisher.failed_to_start();
                Err(e)
            }
        }
    }
}

impl Finisher {
    /// The journal the run writes, if any.
    pub fn journal(&self) -> Option<&Path> {
        self.journal.as_deref()
    }

    /// The run's number.
    pub fn number(&self) -> u64 {
        self.entry.number
    }

    /// The run was prepared but its engine did not start: the runs log
    /// says so (nothing was sent). Touches the disk.
    pub fn failed_to_start(self) {
        let entry = RunEntry {
            finished_at: Some(now()),
            ended: Some(Ending::FailedToStart),
            ..self.entry
        };
        if let Some(log) = &self.runs_log {
            let _ = runs_log::append(log, &entry);
        }
    }

    /// Completes a run the engine has finished with `summary` (its limits
    /// at the end were `limits`): writes the workbook, marks the sidecar
    /// of a run that went to the end, logs the run, and says whether it
    /// can be resumed. Touches the disk. An error means a result file
    /// could not be written (the journal still holds every result).
    pub fn finish(self, summary: &RunSummary, limits: Limits) -> Result<Ended, SessionError> {
        let mut notes = Vec::new();
        if let (Some(xlsx), Some(journal)) = (&self.workbook, &self.journal) {
            crate::export::workbook_from_journal(journal, xlsx, summary).map_err(|e| {
                SessionError(format!(
                    "cannot write {}: {e} (every result is in {}; `ratebench export` converts it)",
                    xlsx.display(),
                    journal.display()
                ))
            })?;
            let _ = std::fs::remove_file(journal);
            let _ = std::fs::remove_file(sidecar::path_of(journal));
        }
        let complete = !summary.stopped
            && summary.not_sent == 0
            && summary
                .journal_fault
                .as_ref()
                .is_none_or(|f| f.unwritten == 0);
        let mut interrupted = None;
        if let Some(journal) = self
            .journal
            .as_ref()
            .filter(|j| self.workbook.is_none() && std::fs::metadata(j).is_ok_and(|m| m.is_file()))
        {
            if complete {
                if let Err(e) = sidecar::mark_complete(journal) {
                    notes.push(format!("cannot mark {} complete: {e}", journal.display()));
                }
            } else if self.resumable {
                interrupted = interrupted::of_journal(journal, self.batch_total)
                    .ok()
                    .flatten();
            }
        }
        let entry = RunEntry {
            finished_at: Some(now()),
            limits,
            ended: Some(if summary.stopped {
                Ending::Stopped
            } else {
                Ending::Completed
            }),
            autotuned: summary.phases.iter().any(|p| p.by == ChangedBy::AutoTune),
            summary: Some(summary.clone()),
            results: self.workbook.clone().or(self.journal.clone()),
            ..self.entry
        };
        if let Some(log) = &self.runs_log
            && let Err(e) = runs_log::append(log, &entry)
        {
            notes.push(format!("cannot record the run in {}: {e}", log.display()));
        }
        Ok(Ended {
            entry,
            interrupted,
            notes,
        })
    }
}
