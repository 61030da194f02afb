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
    std::fs::write(path_of(journal), text)
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

/// Marks the run of `journal` as having gone to the end.
pub fn mark_complete(journal: &Path) -> io::Result<()> {
    let (mut manifest, _) = read(&path_of(journal))?;
    manifest.complete = true;
    write(journal, &manifest)
}
