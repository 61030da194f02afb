//! Resuming a run from its journal: which input rows already have a final
//! result, and a journal that keeps exactly those, ready to be appended to.
//!
//! A run killed mid-write can leave a last line without its newline; it is
//! dropped (that request is sent again). Any other line that does not parse
//! is an error: the journal is not what it should be, and nothing is sent.

use std::collections::{BTreeSet, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use crate::export::{ExportFormat, RecordSink, writer};
use crate::model::ErrorKind;
#[cfg(test)]
use crate::model::RequestRecord;

/// What a journal says is done.
#[derive(Debug, Default)]
pub struct Resumed {
    /// Rows whose result is kept: they are not sent again.
    pub done: BTreeSet<u64>,
    /// Kept results that were failures (counted for the user).
    pub failed: u64,
}

/// What a resume needs of a record: its row and how it ended (the rest
/// of the line is skipped unparsed, so a million-row journal is read in
/// little memory).
#[derive(serde::Deserialize)]
struct Outcome {
    index: u64,
    ok: bool,
    #[serde(default)]
    error_kind: Option<ErrorKind>,
}

/// Calls `each` with every complete line of `journal` and its outcome, in
/// file order, with the line's number (from 1). A last line cut off by a
/// kill is left out (that request goes again). Only a regular file is
/// read: a device such as `/dev/zero` never ends.
fn scan(journal: &Path, mut each: impl FnMut(u64, &str, Outcome)) -> io::Result<()> {
    let meta = match std::fs::metadata(journal) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a regular file", journal.display()),
        ));
    }
    let mut reader = BufReader::new(File::open(journal)?);
    let mut line = String::new();
    let mut number = 0u64;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || !line.ends_with('\n') {
            return Ok(());
        }
        number += 1;
        if line.trim().is_empty() {
            continue;
        }
        let outcome: Outcome = serde_json::from_str(&line).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: line {number}: {e}", journal.display()),
            )
        })?;
        each(number, &line, outcome);
    }
}

/// Whether a row's last result counts as final: not cancelled by a stop,
/// and, with `retry_failed`, a success.
fn is_final(r: &Outcome, retry_failed: bool) -> bool {
    r.error_kind != Some(ErrorKind::Cancelled) && (r.ok || !retry_failed)
}

/// For each row, the line of its last result, whether that is kept, and
/// whether it was a success.
fn last_lines(journal: &Path, retry_failed: bool) -> io::Result<HashMap<u64, (u64, bool, bool)>> {
    let mut last = HashMap::new();
    scan(journal, |number, _, r| {
        last.insert(r.index, (number, is_final(&r, retry_failed), r.ok));
    })?;
    Ok(last)
}

/// What `resume_journal` would keep, without touching the journal (for
/// offering to resume).
pub fn done_rows(journal: &Path, retry_failed: bool) -> io::Result<Resumed> {
    let mut resumed = Resumed::default();
    for (index, (_, kept, ok)) in last_lines(journal, retry_failed)? {
        if kept {
            resumed.done.insert(index);
            resumed.failed += u64::from(!ok);
        }
    }
    Ok(resumed)
}

/// Rewrites `journal` to keep one final result per row (the last one seen),
/// leaving out rows cancelled by a stop and, with `retry_failed`, rows
/// that failed; returns the rows kept and a writer appending to it.
///
/// Streams: a first pass notes each row's last line, a second copies the
/// kept lines as they are, in file order.
pub fn resume_journal(
    journal: &Path,
    retry_failed: bool,
) -> io::Result<(Resumed, Box<dyn RecordSink>)> {
    let last = last_lines(journal, retry_failed)?;
    // Write the kept results to a new file, then swap it in: a kill during
    // the rewrite leaves the old journal whole.
    let fresh = journal.with_extension("jsonl.resuming");
    let mut resumed = Resumed::default();
    {
        let mut out = BufWriter::new(crate::export::writer::create_private(&fresh)?);
        scan(journal, |number, line, r| {
            if last.get(&r.index) == Some(&(number, true, r.ok))
                && out.write_all(line.as_bytes()).is_ok()
            {
                resumed.done.insert(r.index);
                resumed.failed += u64::from(!r.ok);
            }
        })?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    }
    if resumed.done.len() != last.values().filter(|v| v.1).count() {
        let _ = std::fs::remove_file(&fresh);
        return Err(io::Error::other(format!(
            "cannot write {}",
            fresh.display()
        )));
    }
    std::fs::rename(&fresh, journal)?;
    let append = OpenOptions::new().append(true).open(journal)?;
    Ok((
        resumed,
        writer(
            BufWriter::with_capacity(64 * 1024, append),
            ExportFormat::Jsonl,
        )?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(index: u64, ok: bool, kind: Option<&str>) -> String {
        let kind = kind.map_or("null".to_owned(), |k| format!("\"{k}\""));
        format!(
            "{{\"index\":{index},\"name\":null,\"method\":\"GET\",\"url\":\"http://h/\",\"status\":{},\"ok\":{ok},\"error_kind\":{kind},\"error\":null,\"attempts\":1,\"started_at\":null,\"wait_ms\":0.0,\"latency_ms\":null,\"bytes\":0}}\n",
            if ok { "200" } else { "500" }
        )
    }

    #[test]
    fn keeps_one_result_per_row_and_drops_a_cut_off_line() {
        let dir = tempfile::tempdir().unwrap();
        let journal = dir.path().join("j.jsonl");
        let text = [
            line(0, false, None),
            line(1, true, None),
            line(0, true, None), // a later result for row 0 wins
            line(2, false, Some("cancelled")),
            line(3, false, None),
        ]
        .concat()
            + "{\"index\":4,\"na"; // killed mid-write
        std::fs::write(&journal, text).unwrap();
        let (resumed, mut sink) = resume_journal(&journal, false).unwrap();
        assert_eq!(resumed.done, BTreeSet::from([0, 1, 3]));
        assert_eq!(resumed.failed, 1);
        sink.write(&serde_json::from_str(&line(2, true, None)).unwrap())
            .unwrap();
        sink.finish().unwrap();
        let kept: Vec<u64> = std::fs::read_to_string(&journal)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<RequestRecord>(l).unwrap().index)
            .collect();
        // Each row's last result, in file order; then the appended one.
        assert_eq!(kept, [1, 0, 3, 2], "rewritten, then appended to");
        let (again, _) = resume_journal(&journal, true).unwrap();
        assert_eq!(
            again.done,
            BTreeSet::from([0, 1, 2]),
            "the failure goes again"
        );
        std::fs::write(&journal, "not json\n").unwrap();
        let Err(e) = resume_journal(&journal, false) else {
            panic!("a broken journal is an error");
        };
        assert!(e.to_string().contains("line 1"), "{e}");
    }
}
