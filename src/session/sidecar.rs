//! The sidecar of a run's journal (`NAME.run.json` beside `NAME.jsonl`):
//! which batch the run sent, how many rows, whether it sent only some of
//! them, and whether it went to the end. Every run with a journal gets
//! one, headless or in the workbench, so a run cut off in one front end
//! can be found and resumed in the other. Journals stay plain JSON Lines
//! for every other tool.

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
    /// The hash of every request of the batch (`Batch::fingerprint`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_hash: Option<String>,
    /// Whether the run sent only some rows (a re-run of failures), or a
    /// batch edited in the workbench that differs from its file.
    pub subset: bool,
    /// Whether the run went to the end of the batch.
    pub complete: bool,
    /// The journal this sidecar describes (absent in sidecars written
    /// before it was recorded: then `NAME.jsonl`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal: Option<PathBuf>,
}

/// Where the sidecar of `journal` is.
pub fn path_of(journal: &Path) -> PathBuf {
    journal.with_extension("run.json")
}

/// The batch path as the sidecar records it (absolute, to match later).
pub fn batch_key(batch: &Path) -> PathBuf {
    std::path::absolute(batch).unwrap_or_else(|_| batch.to_path_buf())
}

/// Writes (or rewrites) the sidecar of `journal`.
pub fn write(journal: &Path, manifest: &Manifest) -> io::Result<()> {
    let text = serde_json::to_string_pretty(manifest)?;
    std::io::Write::write_all(
        &mut crate::export::writer::create_private(&path_of(journal))?,
        text.as_bytes(),
    )
}

/// Reads a sidecar, and the journal it describes.
pub fn read(sidecar: &Path) -> io::Result<(Manifest, PathBuf)> {
    let manifest: Manifest = serde_json::from_slice(&std::fs::read(sidecar)?)?;
    let journal = match &manifest.journal {
        Some(journal) => journal.clone(),
        None => sidecar.with_extension("").with_extension("jsonl"),
    };
    Ok((manifest, journal))
}

/// Whether `journal` holds results of `batch`, as its sidecar recorded
/// them: the same requests (their hash), or, for a sidecar without one,
/// the same file and count. A journal with results and no sidecar cannot
/// say. The error says what differs (`--force` overrides).
pub fn belongs(
    journal: &Path,
    batch: &crate::batch::Batch,
    fingerprint: &str,
) -> Result<(), String> {
    let name = journal.display();
    let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    if size(journal) == 0 {
        return Ok(()); // Nothing in it to skip.
    }
    if size(&path_of(journal)) == 0 {
        return Err(format!(
            "cannot tell which batch {name} belongs to: it has no sidecar ({}); \
             --force resumes it anyway",
            path_of(journal).display()
        ));
    }
    let (manifest, _) = match read(&path_of(journal)) {
        Ok(found) => found,
        Err(e) => {
            return Err(format!(
                "cannot tell which batch {name} belongs to: its sidecar {} cannot be read ({e}); \
                 --force resumes it anyway",
                path_of(journal).display()
            ));
        }
    };
    let mut differs = Vec::new();
    let here = batch_key(&batch.path);
    if manifest.batch != here {
        differs.push(format!(
            "it was written for {}, not {}",
            manifest.batch.display(),
            here.display()
        ));
    }
    if manifest.total != batch.len() {
        differs.push(format!(
            "that batch had {} requests, this one has {}",
            manifest.total,
            batch.len()
        ));
    }
    match &manifest.batch_hash {
        Some(hash) if hash != fingerprint => {
            differs.push("the requests are not the same (their hash differs)".into());
        }
        Some(_) => return Ok(()), // The same requests, wherever the file is now.
        None => {}
    }
    if differs.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{name} is not a journal of this batch: {}; resuming would skip rows by number \
         that this batch never sent (--force resumes it anyway)",
        differs.join("; ")
    ))
}

/// Takes the lock that makes a process the one writer of `journal`: an
/// exclusive lock on its sidecar (which a resume, unlike the journal,
/// never replaces), held while the returned file is open. A journal that
/// is not a regular file (a device, a pipe) is not locked. The error
/// names the journal another process is writing.
pub fn lock(journal: &Path) -> Result<Option<std::fs::File>, String> {
    if std::fs::metadata(journal).is_ok_and(|m| !m.is_file()) {
        return Ok(None);
    }
    let path = path_of(journal);
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    let file = options
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(format!(
            "{} is being written by another ratebench (it holds {}): one writer per journal",
            journal.display(),
            path.display()
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(format!("cannot lock {}: {e}", path.display())),
    }
}

/// Marks the run of `journal` as having gone to the end.
pub fn mark_complete(journal: &Path) -> io::Result<()> {
    let (mut manifest, _) = read(&path_of(journal))?;
    manifest.complete = true;
    write(journal, &manifest)
}
