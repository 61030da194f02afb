//! Finding a batch's interrupted run, so a front end can offer to resume
//! it: a run with a journal whose sidecar says it did not go to the end
//! (killed, crashed, quit or stopped mid-run), of the same batch, with
//! rows left to send. Candidates are the journals in the workbench's
//! results folder and every journal the runs log names, so a headless
//! run written anywhere is found as well as the workbench's own.

use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::{resume, runs_log, sidecar};

/// An interrupted run of a batch: its journal and how far it got.
#[derive(Debug, Clone, PartialEq)]
pub struct Interrupted {
    pub journal: PathBuf,
    /// Rows with a final result in the journal.
    pub done: u64,
    pub total: u64,
}

/// The latest incomplete whole-batch run of `batch` (of `total` rows)
/// that still has rows to send, among the sidecars in `dir` and those of
/// the journals `runs_log` names.
pub fn find(
    batch: &Path,
    total: u64,
    dir: Option<&Path>,
    runs_log: Option<&Path>,
) -> io::Result<Option<Interrupted>> {
    let key = sidecar::batch_key(batch);
    let mut sidecars: Vec<PathBuf> = Vec::new();
    if let Some(entries) = dir.and_then(|d| std::fs::read_dir(d).ok()) {
        sidecars.extend(entries.flatten().map(|e| e.path()).filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".run.json"))
        }));
    }
    if let Some(log) = runs_log {
        sidecars.extend(
            runs_log::load(log)
                .into_iter()
                .filter(|run| run.batch_path.as_deref() == Some(key.as_path()))
                .filter_map(|run| run.results)
                .map(|journal| sidecar::path_of(&journal)),
        );
    }
    sidecars.sort();
    sidecars.dedup();
    let mut newest: Option<(SystemTime, PathBuf)> = None;
    for path in sidecars {
        let Ok((manifest, journal)) = sidecar::read(&path) else {
            continue;
        };
        if manifest.complete || manifest.subset || manifest.batch != key || manifest.total != total
        {
            continue;
        }
        let Ok(modified) = std::fs::metadata(&path).and_then(|m| m.modified()) else {
            continue;
        };
        if journal.is_file() && newest.as_ref().is_none_or(|(t, _)| modified > *t) {
            newest = Some((modified, journal));
        }
    }
    match newest {
        Some((_, journal)) => of_journal(&journal, total),
        None => Ok(None),
    }
}

/// How far the run writing `journal` got, when it has rows left to send.
pub fn of_journal(journal: &Path, total: u64) -> io::Result<Option<Interrupted>> {
    let done = resume::done_rows(journal, false)?.done.len() as u64;
    Ok((done < total).then(|| Interrupted {
        journal: journal.to_path_buf(),
        done,
        total,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::sidecar::{Manifest, batch_key, mark_complete, write};

    #[test]
    fn finds_the_latest_incomplete_run_of_the_same_batch_only() {
        let dir = tempfile::tempdir().unwrap();
        let batch = dir.path().join("b.json");
        let record = |i: u64| {
            let mut r = crate::model::RequestRecord::new(i, "GET", "http://h/");
            r.ok = true;
            serde_json::to_string(&r).unwrap() + "\n"
        };
        let run = |name: &str, rows: &[u64], manifest: Manifest| {
            let journal = dir.path().join(name);
            std::fs::write(
                &journal,
                rows.iter().map(|i| record(*i)).collect::<String>(),
            )
            .unwrap();
            write(&journal, &manifest).unwrap();
            journal
        };
        let whole = |complete| Manifest {
            batch: batch_key(&batch),
            total: 5,
            batch_hash: None,
            subset: false,
            complete,
            journal: None,
        };
        let find = |batch: &Path, total| find(batch, total, Some(dir.path()), None);
        run("b-1-run1.jsonl", &[0, 1, 2, 3, 4], whole(true));
        assert_eq!(find(&batch, 5).unwrap(), None);
        let cut = run("b-1-run2.jsonl", &[0, 1, 3], whole(false));
        assert_eq!(
            find(&batch, 5).unwrap(),
            Some(Interrupted {
                journal: cut.clone(),
                done: 3,
                total: 5
            })
        );
        // Another batch, or the batch changed size: not this one's.
        assert_eq!(find(&dir.path().join("other.json"), 5).unwrap(), None);
        assert_eq!(find(&batch, 6).unwrap(), None);
        mark_complete(&cut).unwrap();
        assert_eq!(find(&batch, 5).unwrap(), None);
    }
}
