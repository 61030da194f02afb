//! Reading a JSON Lines journal back: to export it in another format, or
//! to find which requests failed. Streams line by line, so a journal of a
//! million results costs the memory of one.

use std::collections::BTreeSet;
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
