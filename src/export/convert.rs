//! Reading a JSON Lines journal back: to export it in another format, or
//! to find which requests failed. Streams line by line, so a journal of a
//! million results costs the memory of one.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use super::record::RequestRecord;
use super::writer::{ExportFormat, create_journal};

/// The journal's records with the bytes read so far, in file order.
fn records(journal: &Path) -> io::Result<impl Iterator<Item = io::Result<(RequestRecord, u64)>>> {
    let mut reader = BufReader::new(File::open(journal)?);
    let mut line = String::new();
    let mut read = 0u64;
    let mut number = 0u64;
    Ok(std::iter::from_fn(move || {
        loop {
            line.clear();
            number += 1;
            match reader.read_line(&mut line) {
                Err(e) => return Some(Err(e)),
                Ok(0) => return None,
                Ok(n) => read += n as u64,
            }
            if line.trim().is_empty() {
                continue;
            }
            return Some(
                serde_json::from_str(&line)
                    .map(|record| (record, read))
                    .map_err(|e| {
                        io::Error::new(io::ErrorKind::InvalidData, format!("line {number}: {e}"))
                    }),
            );
        }
    }))
}

/// How far an export has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub records: u64,
    pub bytes_read: u64,
    pub bytes_total: u64,
}

impl Progress {
    /// The share of the journal read, from 0 to 1.
    pub fn ratio(&self) -> f64 {
        if self.bytes_total == 0 {
            1.0
        } else {
            (self.bytes_read as f64 / self.bytes_total as f64).min(1.0)
        }
    }
}

/// Writes every record of `journal` to `out` in `format`; returns how many.
pub fn convert(journal: &Path, out: &Path, format: ExportFormat) -> io::Result<u64> {
    convert_with_progress(journal, out, format, |_| {})
}

/// Records between two progress reports.
const PROGRESS_EVERY: u64 = 10_000;

/// [`convert`], reporting progress every few thousand records and at the
/// end, for a front end's progress bar.
pub fn convert_with_progress(
    journal: &Path,
    out: &Path,
    format: ExportFormat,
    mut progress: impl FnMut(Progress),
) -> io::Result<u64> {
    let bytes_total = std::fs::metadata(journal)?.len();
    let mut sink = create_journal(out, format)?;
    let mut at = Progress {
        records: 0,
        bytes_read: 0,
        bytes_total,
    };
    for record in records(journal)? {
        let (record, read) = record?;
        sink.write(&record)?;
        at.records += 1;
        at.bytes_read = read;
        if at.records % PROGRESS_EVERY == 0 {
            progress(at);
        }
    }
    sink.finish()?;
    progress(at);
    Ok(at.records)
}

/// The batch indices of the requests that did not succeed.
pub fn failed_indices(journal: &Path) -> io::Result<BTreeSet<u64>> {
    let mut failed = BTreeSet::new();
    for record in records(journal)? {
        let (record, _) = record?;
        if !record.ok {
            failed.insert(record.index);
        }
    }
    Ok(failed)
}
