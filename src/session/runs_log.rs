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

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    /// It went through its batch.
    Completed,
    /// It was stopped (a key, Ctrl-C, a signal) before the end.
    Stopped,
    /// It was prepared but its engine could not start.
    FailedToStart,
    /// It started and never said it ended: killed, crashed, or still
    /// going in another process.
    Interrupted,
}

impl Ending {
    pub fn as_str(self) -> &'static str {
        match self {
            Ending::Completed => "completed",
            Ending::Stopped => "stopped",
            Ending::FailedToStart => "failed to start",
            Ending::Interrupted => "interrupted",
        }
    }
}

/// One run: its settings, and what it achieved once it finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEntry {
    /// The run's number: the same in the runs log, on screen and in its
    /// journal's name (0 in lines written before runs were numbered).
    #[serde(default)]
    pub number: u64,
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
    /// Requests in the batch, and the hash of them all
    /// ([`crate::batch::Batch::fingerprint`]): two runs of the same batch
    /// have the same.
    #[serde(default)]
    pub batch_requests: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_hash: Option<String>,
    /// The limits when it finished (as it started, in the start line).
    pub limits: Limits,
    /// Only the failed requests of an earlier run.
    pub failed_only: bool,
    /// The items went in batch calls (`coalesce`).
    #[serde(default)]
    pub coalesced: bool,
    /// How they were grouped as the run started: items per call, and with
    /// arrivals the window and the arrival rate (two settings side by
    /// side in the runs view).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batching: Option<RunBatching>,
    /// How it ended; `None` while it runs (and in older lines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<Ending>,
    /// Auto-tune (or the probe) moved its rate.
    #[serde(default)]
    pub autotuned: bool,
    /// `None` until it finished. Its phases are the limit timeline.
    #[serde(default)]
    pub summary: Option<RunSummary>,
    /// Its journal, when it kept one.
    pub results: Option<PathBuf>,
}

/// A coalescing run's grouping, as it started.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RunBatching {
    pub max_items: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrival_rate: Option<f64>,
}

impl RunBatching {
    /// A run's grouping as it starts (`None` when it does not coalesce).
    pub fn of(run: &crate::engine::RunConfig) -> Option<Self> {
        let c = run.coalesce.as_ref()?;
        Some(Self {
            max_items: c.max_items,
            window_ms: run
                .arrivals
                .as_ref()
                .map(|_| c.window.unwrap_or_default().as_secs_f64() * 1000.0),
            arrival_rate: run
                .arrivals
                .as_ref()
                .map(|a| a.rate_at(std::time::Duration::ZERO)),
        })
    }

    /// `100/call, window 50 ms, 200/s arrive`.
    pub fn describe(&self) -> String {
        let mut text = format!("{}/call", self.max_items);
        if let Some(w) = self.window_ms {
            text.push_str(&format!(", window {w:.0} ms"));
        }
        if let Some(r) = self.arrival_rate {
            text.push_str(&format!(", {r}/s arrive"));
        }
        text
    }
}

impl RunEntry {
    /// Whether the run has ended, whichever way (a line written when it
    /// started has not).
    pub fn is_finished(&self) -> bool {
        self.summary.is_some() || self.ended.is_some()
    }

    /// How it ended, as far as the log knows.
    pub fn ending(&self) -> Ending {
        match (self.ended, &self.summary) {
            (Some(ending), _) => ending,
            (None, Some(s)) if s.stopped => Ending::Stopped,
            (None, Some(_)) => Ending::Completed,
            (None, None) => Ending::Interrupted,
        }
    }

    /// Limits in a few characters: `10 @ 20/s` (∞ for unlimited).
    pub fn span_of(l: Limits) -> String {
        let rate = l
            .per_second
            .map_or_else(|| "∞".to_owned(), |r| format!("{r}"));
        let cap = l
            .max_at_once
            .map_or_else(|| "∞".to_owned(), |n| n.to_string());
        format!("{cap} @ {rate}/s")
    }

    /// Its limits from start to end: `10 @ 20/s`, or where they moved,
    /// `10→50 @ 20→500/s` (a ramp's end counts as where it moved to).
    pub fn limits_span(&self) -> String {
        let phases = self.summary.as_ref().map_or(&[][..], |s| &s.phases[..]);
        let first = phases.first().map_or(self.limits, |p| p.limits);
        let last = phases.last().map_or(self.limits, |p| p.limits);
        let rate = |r: Option<f64>| r.map_or_else(|| "∞".to_owned(), |r| format!("{r}"));
        let cap = |n: Option<u64>| n.map_or_else(|| "∞".to_owned(), |n| n.to_string());
        let moved = |from: String, to: String| {
            if from == to {
                from
            } else {
                format!("{from}→{to}")
            }
        };
        let last_rate = phases
            .last()
            .and_then(|p| p.ramp_to)
            .map_or_else(|| rate(last.per_second), |r| rate(Some(r)));
        format!(
            "{} @ {}/s",
            moved(cap(first.max_at_once), cap(last.max_at_once)),
            moved(rate(first.per_second), last_rate)
        )
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
    let mut runs = load_all(path);
    let excess = runs.len().saturating_sub(MAX_RUNS);
    runs.drain(..excess);
    runs
}

/// Every run in the log, oldest first, a finish line in place of its
/// start line.
fn load_all(path: &Path) -> Vec<RunEntry> {
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
    runs
}

/// The number the next run gets: one past the highest in the log, and
/// at least `at_least` (a front end's own count, for runs not logged).
pub fn next_number(path: Option<&Path>, at_least: u64) -> u64 {
    let logged = path.map_or(0, |p| {
        load_all(p)
            .iter()
            .enumerate()
            .map(|(i, r)| if r.number > 0 { r.number } else { i as u64 + 1 })
            .max()
            .unwrap_or(0)
    });
    (logged + 1).max(at_least)
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
            number: 7,
            started_at: Some("2026-11-22T09:59:00Z".into()),
            finished_at: None,
            batch: "inventory.json".into(),
            batch_path: Some("/b/inventory.json".into()),
            batch_requests: 100,
            batch_hash: Some("3ae11f65db5419ee".into()),
            ended: None,
            autotuned: false,
            limits: Limits::new(10, 20.0),
            failed_only: false,
            coalesced: false,
            batching: None,
            summary: None,
            results: Some("/tmp/r.jsonl".into()),
        };
        let run = RunEntry {
            finished_at: Some("2026-11-22T10:00:00Z".into()),
            ended: Some(Ending::Completed),
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
        assert_eq!(started.ending(), Ending::Interrupted);
        assert_eq!(next_number(Some(&path), 0), 8, "one past the highest");
        assert_eq!(next_number(Some(&path), 12), 12, "or the front end's own");
        // A line written before runs were logged at their start.
        let old = r#"{"finished_at":"2026-11-20T10:00:00Z","batch":"a.json","limits":{"max_at_once":10,"per_second":null,"burst":1},"failed_only":false,"summary":{"total":3,"ok":3,"failed":0,"by_status":{"200":3},"by_error":{},"wall_s":1.0,"achieved_per_s":3.0,"latency_ms":{"p50":1.0,"p90":1.0,"p99":1.0,"p999":1.0,"max":1.0},"wait_ms":{"p50":0.0,"p90":0.0,"p99":0.0,"p999":0.0,"max":0.0},"max_in_flight":1,"retries":0,"not_sent":0,"stopped":false},"results":null}"#;
        std::fs::write(&path, format!("{old}\n")).unwrap();
        let loaded = load(&path);
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].summary.as_ref().unwrap().totals.status(200), 3);
    }
}
