//! Browsing a journal in a table: which results match a filter, in what
//! order, a page at a time. The index keeps one file offset per matching
//! result (8 bytes), so a table over a million results costs megabytes,
//! and each page is read from the file when it is shown.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::model::RequestRecord;

/// Which results a table shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResultFilter {
    #[default]
    All,
    /// Status below 400 and no error.
    Ok,
    /// Everything that is not ok.
    Failed,
    /// 4xx other than 429.
    ClientError,
    RateLimited,
    ServerError,
    /// No answer at all (timeouts, resets, ...).
    NoAnswer,
}

impl ResultFilter {
    pub const ALL: [ResultFilter; 7] = [
        ResultFilter::All,
        ResultFilter::Ok,
        ResultFilter::Failed,
        ResultFilter::ClientError,
        ResultFilter::RateLimited,
        ResultFilter::ServerError,
        ResultFilter::NoAnswer,
    ];

    pub fn label(self) -> &'static str {
        match self {
            ResultFilter::All => "all",
            ResultFilter::Ok => "ok",
            ResultFilter::Failed => "failed",
            ResultFilter::ClientError => "4xx",
            ResultFilter::RateLimited => "429",
            ResultFilter::ServerError => "5xx",
            ResultFilter::NoAnswer => "no answer",
        }
    }

    pub fn matches(self, r: &RequestRecord) -> bool {
        self.matches_outcome(r.ok, r.status)
    }

    fn matches_outcome(self, ok: bool, status: Option<u16>) -> bool {
        match self {
            ResultFilter::All => true,
            ResultFilter::Ok => ok,
            ResultFilter::Failed => !ok,
            ResultFilter::ClientError => {
                status.is_some_and(|s| (400..500).contains(&s) && s != 429)
            }
            ResultFilter::RateLimited => status == Some(429),
            ResultFilter::ServerError => status.is_some_and(|s| s >= 500),
            ResultFilter::NoAnswer => status.is_none(),
        }
    }
}

/// How a results table is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResultOrder {
    #[default]
    Index,
    SlowestFirst,
}

/// The fields of a record an index needs: parsing only these is several
/// times faster than parsing whole records.
#[derive(Deserialize)]
struct Outline {
    index: u64,
    ok: bool,
    status: Option<u16>,
    latency_ms: Option<f64>,
}

/// The matching results of a journal, in order, as file offsets.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultIndex {
    journal: PathBuf,
    offsets: Vec<u64>,
}

impl ResultIndex {
    /// Reads the journal once and keeps where each matching result is.
    /// Results written after this are not in the index: build it again.
    pub fn build(journal: &Path, filter: ResultFilter, order: ResultOrder) -> io::Result<Self> {
        let mut reader = BufReader::new(File::open(journal)?);
        let mut keyed: Vec<(i64, u64)> = Vec::new();
        let mut line = String::new();
        let mut offset = 0u64;
        let mut number = 0u64;
        loop {
            line.clear();
            let n = reader.read_line(&mut line)?;
            if n == 0 {
                break;
            }
            number += 1;
            let at = offset;
            offset += n as u64;
            // A line still being written has no newline yet: leave it for
            // the next build.
            if line.trim().is_empty() || !line.ends_with('\n') {
                continue;
            }
            let o: Outline = serde_json::from_str(&line).map_err(|e| {
                io::Error::new(io::ErrorKind::InvalidData, format!("line {number}: {e}"))
            })?;
            if !filter.matches_outcome(o.ok, o.status) {
                continue;
            }
            // Smaller key first: lower index, or higher latency.
            let key = match order {
                ResultOrder::Index => o.index as i64,
                ResultOrder::SlowestFirst => -((o.latency_ms.unwrap_or(0.0) * 1000.0) as i64),
            };
            keyed.push((key, at));
        }
        // Stable: equal latencies stay in completion order.
        keyed.sort_by_key(|(key, _)| *key);
        Ok(Self {
            journal: journal.to_path_buf(),
            offsets: keyed.into_iter().map(|(_, at)| at).collect(),
        })
    }

    /// How many results match.
    pub fn len(&self) -> usize {
        self.offsets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    /// Up to `count` results from position `start`, read from the file.
    pub fn page(&self, start: usize, count: usize) -> io::Result<Vec<RequestRecord>> {
        let end = start.saturating_add(count).min(self.offsets.len());
        let Some(wanted) = self.offsets.get(start..end) else {
            return Ok(Vec::new());
        };
        let mut reader = BufReader::new(File::open(&self.journal)?);
        let mut line = String::new();
        let mut rows = Vec::with_capacity(wanted.len());
        for &at in wanted {
            reader.seek(SeekFrom::Start(at))?;
            line.clear();
            reader.read_line(&mut line)?;
            rows.push(serde_json::from_str(&line).map_err(|e| {
                io::Error::new(io::ErrorKind::InvalidData, format!("at byte {at}: {e}"))
            })?);
        }
        Ok(rows)
    }
}
