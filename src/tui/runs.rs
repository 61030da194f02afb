//! The log of runs: one line per finished run, kept in a JSON Lines file
//! in the user's data folder, so runs can be compared across sessions.

use std::fs::OpenOptions;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::Limits;
use crate::stats::RunSummary;

/// Runs kept in memory (the most recent).
pub const MAX_RUNS: usize = 200;

/// One finished run: its settings and what it achieved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEntry {
    /// When it finished (RFC 3339, seconds).
    pub finished_at: String,
    /// The batch file's name.
    pub batch: String,
    /// The limits when it finished.
    pub limits: Limits,
    /// Only the failed requests of an earlier run.
    pub failed_only: bool,
    /// The items went in batch calls (`coalesce`).
    #[serde(default)]
    pub coalesced: bool,
    pub summary: RunSummary,
    pub results: Option<PathBuf>,
}

impl RunEntry {
    pub fn rate_limited(&self) -> u64 {
        self.summary.totals.status(429)
    }
}

/// Where the runs log lives: `$RATEBENCH_DATA_DIR`, else the platform's
/// data folder (`~/.local/share/ratebench` on Linux).
pub fn default_file() -> Option<PathBuf> {
    use etcetera::BaseStrategy;
    let dir = match std::env::var_os("RATEBENCH_DATA_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => etcetera::choose_base_strategy()
            .ok()?
            .data_dir()
            .join("ratebench"),
    };
    Some(dir.join("runs.jsonl"))
}

/// The most recent runs in the log, oldest first; a missing file is none,
/// and lines that do not parse (another version's) are skipped.
pub fn load(path: &Path) -> Vec<RunEntry> {
    let Ok(file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let mut runs: Vec<RunEntry> = BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .filter_map(|line| serde_json::from_str(&line).ok())
        .collect();
    let excess = runs.len().saturating_sub(MAX_RUNS);
    runs.drain(..excess);
    runs
}

/// Appends a run to the log, creating its folder if needed.
pub fn append(path: &Path, run: &RunEntry) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    let mut line = serde_json::to_vec(run)?;
    line.push(b'\n');
    file.write_all(&line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Totals;

    #[test]
    fn append_then_load_round_trips_and_skips_junk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/runs.jsonl");
        assert!(load(&path).is_empty());
        let run = RunEntry {
            finished_at: "2026-11-22T10:00:00Z".into(),
            batch: "inventory.json".into(),
            limits: Limits::new(10, 20.0),
            failed_only: false,
            coalesced: false,
            summary: RunSummary {
                totals: Totals {
                    done: 100,
                    ok: 99,
                    failed: 1,
                    ..Totals::default()
                },
                ..RunSummary::default()
            },
            results: Some("/tmp/r.jsonl".into()),
        };
        append(&path, &run).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"not json\n")
            .unwrap();
        append(&path, &run).unwrap();
        assert_eq!(load(&path), vec![run.clone(), run]);
    }
}
