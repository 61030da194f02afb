//! Reading a JSON Lines journal back: to export it in another format, or
//! to find which requests failed. Streams line by line, so a journal of a
//! million results costs the memory of one.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::writer::{ExportFormat, create_journal};
use crate::model::RequestRecord;
use crate::stats::{RunSummary, Stats};

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
            // A last line cut off mid-write (a killed run) is left out, as
            // `--resume` leaves it: [`cut_last_line`] says so.
            if !line.ends_with('\n') && serde_json::from_str::<RequestRecord>(&line).is_err() {
                return None;
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

/// The number of the journal's last line if it was cut off mid-write (no
/// newline, not a whole record): readers leave it out, and say so.
pub fn cut_last_line(journal: &Path) -> io::Result<Option<u64>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = File::open(journal)?;
    let len = file.metadata()?.len();
    let mut tail = Vec::new();
    let mut pos = len;
    // The last line, read back from the end a chunk at a time.
    while pos > 0 {
        let start = pos.saturating_sub(64 * 1024);
        let mut chunk = vec![0; (pos - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut chunk)?;
        if pos == len && chunk.last() == Some(&b'\n') {
            return Ok(None);
        }
        pos = start;
        match chunk.iter().rposition(|&b| b == b'\n') {
            Some(i) => {
                chunk.drain(..=i);
                chunk.extend_from_slice(&tail);
                tail = chunk;
                break;
            }
            None => {
                chunk.extend_from_slice(&tail);
                tail = chunk;
            }
        }
    }
    if tail.iter().all(u8::is_ascii_whitespace)
        || serde_json::from_slice::<RequestRecord>(&tail).is_ok()
    {
        return Ok(None);
    }
    let mut lines = 1;
    let mut reader = BufReader::new(File::open(journal)?);
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        lines += buf.iter().filter(|&&b| b == b'\n').count() as u64;
        let n = buf.len();
        reader.consume(n);
    }
    Ok(Some(lines))
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
        if at.records.is_multiple_of(PROGRESS_EVERY) {
            progress(at);
        }
    }
    sink.finish()?;
    progress(at);
    Ok(at.records)
}

/// The workbook of a run that journaled to JSON Lines meanwhile, its
/// Summary sheet from the run's own `summary` (which knows what records
/// do not: the most in flight, the time held, the phases).
pub fn workbook_from_journal(journal: &Path, out: &Path, summary: &RunSummary) -> io::Result<u64> {
    let mut sink = super::xlsx::XlsxWriter::create(out)?.with_summary(summary.clone());
    let mut n = 0;
    for record in records(journal)? {
        let (record, _) = record?;
        super::writer::RecordSink::write(&mut sink, &record)?;
        n += 1;
    }
    super::writer::RecordSink::finish(&mut sink)?;
    Ok(n)
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

/// The summary of a run rebuilt from its journal alone (a crashed or
/// remote run): counts, latency and wait, retries, and the wall time from
/// the first send to the last answer. What only the live run knew (the
/// most in flight, time held by the server) is 0.
pub fn summary_from_journal(journal: &Path) -> io::Result<RunSummary> {
    let mut summary = SummaryBuilder::default();
    for record in records(journal)? {
        let (record, _) = record?;
        summary.add(&record);
    }
    Ok(summary.finish())
}

/// A run's summary built from its records alone, one at a time.
#[derive(Default)]
pub struct SummaryBuilder {
    stats: Stats,
    /// Batch calls whose answers are counted (their items all carry them).
    batches_seen: std::collections::HashSet<u64>,
    first: Option<SystemTime>,
    last: Option<SystemTime>,
    retries: u64,
    calls: u64,
}

impl SummaryBuilder {
    pub fn add(&mut self, record: &RequestRecord) {
        // Answers: each attempt the record tells of; for a batch call, its
        // attempts once (its polls are not in the journal one by one).
        let counts = match &record.batch {
            None => true,
            Some(b) => self.batches_seen.insert(b.number),
        };
        if counts {
            record
                .all_attempts()
                .for_each(|a| self.stats.answers.add(&a));
        }
        self.stats.add_result(record);
        self.retries += u64::from(record.attempts.saturating_sub(1));
        if record.batch.is_none() {
            self.calls += u64::from(record.attempts);
        }
        let sent = record
            .started_at
            .as_deref()
            .and_then(|t| humantime::parse_rfc3339(t).ok());
        if let Some(sent) = sent {
            let done = sent + Duration::from_secs_f64(record.latency_ms.unwrap_or(0.0) / 1000.0);
            self.first = Some(self.first.map_or(sent, |f| f.min(sent)));
            self.last = Some(self.last.map_or(done, |l| l.max(done)));
        }
    }

    pub fn finish(&self) -> RunSummary {
        let wall = match (self.first, self.last) {
            (Some(f), Some(l)) => l.duration_since(f).unwrap_or_default(),
            _ => Duration::ZERO,
        };
        RunSummary {
            retries: self.retries,
            coalesced: self.stats.batches.stats().is_some(),
            // Batch calls are not in the journal one by one: leave the
            // count out of a coalesced run's summary.
            calls: if self.stats.batches.stats().is_some() {
                0
            } else {
                self.calls
            },
            ..RunSummary::new(self.stats.totals(), wall)
        }
    }
}
