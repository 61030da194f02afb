//! Reading a JSON Lines journal back: to export it in another format, or
//! to find which requests failed. Streams line by line, so a journal of a
//! million results costs the memory of one.

use std::collections::{BTreeSet, BinaryHeap};
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use super::record::RequestRecord;
use super::writer::{ExportFormat, create_journal};

fn records(journal: &Path) -> io::Result<impl Iterator<Item = io::Result<RequestRecord>>> {
    let lines = BufReader::new(File::open(journal)?).lines().enumerate();
    Ok(lines.filter_map(|(i, line)| match line {
        Err(e) => Some(Err(e)),
        Ok(l) if l.trim().is_empty() => None,
        Ok(l) => Some(serde_json::from_str(&l).map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidData, format!("line {}: {e}", i + 1))
        })),
    }))
}

/// Writes every record of `journal` to `out` in `format`; returns how many.
pub fn convert(journal: &Path, out: &Path, format: ExportFormat) -> io::Result<u64> {
    let mut sink = create_journal(out, format)?;
    let mut count = 0;
    for record in records(journal)? {
        sink.write(&record?)?;
        count += 1;
    }
    sink.finish()?;
    Ok(count)
}

/// The batch indices of the requests that did not succeed.
pub fn failed_indices(journal: &Path) -> io::Result<BTreeSet<u64>> {
    let mut failed = BTreeSet::new();
    for record in records(journal)? {
        let record = record?;
        if !record.ok {
            failed.insert(record.index);
        }
    }
    Ok(failed)
}

/// Which results a table shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResultFilter {
    #[default]
    All,
    /// Status below 400 and no error.
    Ok,
    /// 4xx other than 429.
    ClientError,
    RateLimited,
    ServerError,
    /// No answer at all (timeouts, resets, ...).
    NoAnswer,
}

impl ResultFilter {
    pub const ALL: [ResultFilter; 6] = [
        ResultFilter::All,
        ResultFilter::Ok,
        ResultFilter::ClientError,
        ResultFilter::RateLimited,
        ResultFilter::ServerError,
        ResultFilter::NoAnswer,
    ];

    pub fn label(self) -> &'static str {
        match self {
            ResultFilter::All => "all",
            ResultFilter::Ok => "ok",
            ResultFilter::ClientError => "4xx",
            ResultFilter::RateLimited => "429",
            ResultFilter::ServerError => "5xx",
            ResultFilter::NoAnswer => "no answer",
        }
    }

    pub fn matches(self, r: &RequestRecord) -> bool {
        match self {
            ResultFilter::All => true,
            ResultFilter::Ok => r.ok,
            ResultFilter::ClientError => r
                .status
                .is_some_and(|s| (400..500).contains(&s) && s != 429),
            ResultFilter::RateLimited => r.status == Some(429),
            ResultFilter::ServerError => r.status.is_some_and(|s| s >= 500),
            ResultFilter::NoAnswer => r.status.is_none(),
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

/// A bounded page of a journal: at most `cap` matching records (the lowest
/// indices, or the slowest), and how many matched in all. Streams the
/// journal, so memory is bounded by `cap`, not by the run.
pub fn select(
    journal: &Path,
    filter: ResultFilter,
    order: ResultOrder,
    cap: usize,
) -> io::Result<(Vec<RequestRecord>, u64)> {
    // A max-heap on the key (smaller is better): the worst kept record is
    // on top, ready to be evicted by a better one.
    let mut kept: BinaryHeap<(i64, u64, usize)> = BinaryHeap::new();
    let mut store: Vec<Option<RequestRecord>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut matching = 0u64;
    for record in records(journal)? {
        let record = record?;
        if !filter.matches(&record) {
            continue;
        }
        matching += 1;
        // Smaller key = better: lower index, or higher latency.
        let key = match order {
            ResultOrder::Index => record.index as i64,
            ResultOrder::SlowestFirst => -((record.latency_ms.unwrap_or(0.0) * 1000.0) as i64),
        };
        if kept.len() == cap {
            if kept.peek().is_none_or(|(worst, _, _)| key >= *worst) {
                continue;
            }
            let (_, _, slot) = kept.pop().expect("peeked");
            store[slot] = None;
            free.push(slot);
        }
        let slot = match free.pop() {
            Some(slot) => {
                store[slot] = Some(record);
                slot
            }
            None => {
                store.push(Some(record));
                store.len() - 1
            }
        };
        kept.push((key, matching, slot));
    }
    let mut rows: Vec<RequestRecord> = store.into_iter().flatten().collect();
    match order {
        ResultOrder::Index => rows.sort_by_key(|r| r.index),
        ResultOrder::SlowestFirst => rows.sort_by(|a, b| {
            b.latency_ms
                .unwrap_or(0.0)
                .total_cmp(&a.latency_ms.unwrap_or(0.0))
        }),
    }
    Ok((rows, matching))
}
