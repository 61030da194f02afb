//! The log of runs: one JSON line when a run with a journal starts and
//! one when any run finishes, in the user's data folder, so runs can be
//! compared across sessions and front ends, and a run cut off before its
//! end (no second line) can still be found by its journal.

use std::fs::OpenOptions;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::Limits;
use crate::stats::RunSummary;

/// Runs kept in memory (the most recent).
pub const MAX_RUNS: usize = 200;

/// One run: its settings, and what it achieved once it finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEntry {
    /// When it started (RFC 3339, seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When it finished (RFC 3339, seconds); `None` while it runs (or
    /// when it never finished).
    #[serde(default)]
    pub finished_at: Option<String>,
    /// The batch file's name.
    pub batch: String,
    /// The batch file as its journal's sidecar names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_path: Option<PathBuf>,
    /// The limits when it finished (as it started, in the start line).
    pub limits: Limits,
    /// Only the failed requests of an earlier run.
    pub failed_only: bool,
    /// The items went in batch calls (`coalesce`).
    #[serde(default)]
    pub coalesced: bool,
    /// `None` until it finished.
    #[serde(default)]
    pub summary: Option<RunSummary>,
    /// Its journal, when it kept one.
    pub results: Option<PathBuf>,
}

impl RunEntry {
    /// Whether this is a finished run (it has a summary).
    pub fn is_finished(&self) -> bool {
        self.summary.is_some()
    }

    /// Answers with status 429 among its final results.
    pub fn rate_limited(&self) -> u64 {
        self.summary.as_ref().map_or(0, |s| s.totals.status(429))
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

/// The most recent runs in the log, oldest first: a run's finish line
/// replaces its start line (same journal). A missing file is none, and
/// lines that do not parse (another version's) are skipped.
pub fn load(path: &Path) -> Vec<RunEntry> {
    let Ok(file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let mut runs: Vec<RunEntry> = Vec::new();
    for entry in BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .filter_map(|line| serde_json::from_str::<RunEntry>(&line).ok())
    {
        // A workbook's run journals beside it, then names the workbook.
        let journals = entry
            .results
            .as_ref()
            .map(|r| [r.clone(), super::workbook_journal(r)]);
        let started = journals.and_then(|journals| {
            runs.iter().rposition(|r| {
                !r.is_finished() && r.results.as_ref().is_some_and(|j| journals.contains(j))
            })
        });
        match started {
            Some(at) if entry.is_finished() => runs[at] = entry,
            _ => runs.push(entry),
        }
    }
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
        let started = RunEntry {
            started_at: Some("2026-11-22T09:59:00Z".into()),
            finished_at: None,
            batch: "inventory.json".into(),
            batch_path: Some("/b/inventory.json".into()),
            limits: Limits::new(10, 20.0),
            failed_only: false,
            coalesced: false,
            summary: None,
            results: Some("/tmp/r.jsonl".into()),
        };
        let run = RunEntry {
            finished_at: Some("2026-11-22T10:00:00Z".into()),
            summary: Some(RunSummary {
                totals: Totals {
                    done: 100,
                    ok: 99,
                    failed: 1,
                    ..Totals::default()
                },
                ..RunSummary::default()
            }),
            ..started.clone()
        };
        append(&path, &started).unwrap();
        append(&path, &run).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"not json\n")
            .unwrap();
        append(&path, &run).unwrap();
        assert_eq!(
            load(&path),
            vec![run.clone(), run],
            "a finish replaces its start"
        );
        // A start with no finish stays: the run was cut off.
        append(&path, &started).unwrap();
        assert_eq!(load(&path).last(), Some(&started));
        // A line written before runs were logged at their start.
        let old = r#"{"finished_at":"2026-11-20T10:00:00Z","batch":"a.json","limits":{"max_at_once":10,"per_second":null,"burst":1},"failed_only":false,"summary":{"total":3,"ok":3,"failed":0,"by_status":{"200":3},"by_error":{},"wall_s":1.0,"achieved_per_s":3.0,"latency_ms":{"p50":1.0,"p90":1.0,"p99":1.0,"p999":1.0,"max":1.0},"wait_ms":{"p50":0.0,"p90":0.0,"p99":0.0,"p999":0.0,"max":0.0},"max_in_flight":1,"retries":0,"not_sent":0,"stopped":false},"results":null}"#;
        std::fs::write(&path, format!("{old}\n")).unwrap();
        let loaded = load(&path);
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].summary.as_ref().unwrap().totals.status(200), 3);
    }
}
