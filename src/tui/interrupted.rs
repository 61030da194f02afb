//! Finding a batch's interrupted run, so the workbench can offer to resume
//! it.
//!
//! Each run's journal gets a small sidecar (`NAME.run.json`) saying which
//! batch it ran, how many rows, and whether it ended; a run the workbench
//! never saw end (a kill, a crash, a quit or a stop mid-run) stays
//! incomplete. Journals stay plain JSON Lines for every other tool.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The sidecar of one run's journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The batch file, absolute where it could be made so.
    pub batch: PathBuf,
    /// Rows in the batch.
    pub total: u64,
    /// Whether the run sent only some rows (a re-run of failures).
    pub subset: bool,
    /// Whether the run went to the end of the batch.
    pub complete: bool,
}

/// An interrupted run of a batch: its journal and how far it got.
#[derive(Debug, Clone, PartialEq)]
pub struct Interrupted {
    pub journal: PathBuf,
    /// Rows with a final result in the journal.
    pub done: u64,
    pub total: u64,
}

fn manifest_path(journal: &Path) -> PathBuf {
    journal.with_extension("run.json")
}

/// The batch path as the sidecar records it (absolute, to match later).
pub fn batch_key(batch: &Path) -> PathBuf {
    std::path::absolute(batch).unwrap_or_else(|_| batch.to_path_buf())
}

/// Writes (or rewrites) the sidecar of `journal`.
pub fn write(journal: &Path, manifest: &Manifest) -> io::Result<()> {
    let text = serde_json::to_string_pretty(manifest)?;
    std::fs::write(manifest_path(journal), text)
}

/// Marks the run of `journal` as having gone to the end.
pub fn mark_complete(journal: &Path) -> io::Result<()> {
    let path = manifest_path(journal);
    let mut manifest: Manifest = serde_json::from_slice(&std::fs::read(&path)?)?;
    manifest.complete = true;
    write(journal, &manifest)
}

/// The latest incomplete whole-batch run of `batch` in `dir` that still
/// has rows to send, if any.
pub fn find(dir: &Path, batch: &Path, total: u64) -> io::Result<Option<Interrupted>> {
    let key = batch_key(batch);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(None);
    };
    let mut newest: Option<(std::time::SystemTime, PathBuf)> = None;
    for entry in entries.flatten() {
        let path = entry.path();
        let is_manifest = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(".run.json"));
        if !is_manifest {
            continue;
        }
        let Ok(manifest) = serde_json::from_slice::<Manifest>(&std::fs::read(&path)?) else {
            continue;
        };
        if manifest.complete || manifest.subset || manifest.batch != key || manifest.total != total
        {
            continue;
        }
        let journal = path.with_extension("").with_extension("jsonl");
        let modified = entry.metadata()?.modified()?;
        if journal.exists() && newest.as_ref().is_none_or(|(t, _)| modified > *t) {
            newest = Some((modified, journal));
        }
    }
    let Some((_, journal)) = newest else {
        return Ok(None);
    };
    let done = crate::export::resume::done_rows(&journal, false)?
        .done
        .len() as u64;
    Ok((done < total).then_some(Interrupted {
        journal,
        done,
        total,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

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
            subset: false,
            complete,
        };
        run("b-1-run1.jsonl", &[0, 1, 2, 3, 4], whole(true));
        assert_eq!(find(dir.path(), &batch, 5).unwrap(), None);
        let cut = run("b-1-run2.jsonl", &[0, 1, 3], whole(false));
        assert_eq!(
            find(dir.path(), &batch, 5).unwrap(),
            Some(Interrupted {
                journal: cut.clone(),
                done: 3,
                total: 5
            })
        );
        // Another batch, or the batch changed size: not this one's.
        assert_eq!(
            find(dir.path(), &dir.path().join("other.json"), 5).unwrap(),
            None
        );
        assert_eq!(find(dir.path(), &batch, 6).unwrap(), None);
        mark_complete(&cut).unwrap();
        assert_eq!(find(dir.path(), &batch, 5).unwrap(), None);
    }
}
