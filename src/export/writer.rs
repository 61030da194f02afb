//! Record writers: the journal that results stream into as they complete.
//!
//! Every format is append-only, so whatever was written before a crash is
//! readable: JSON Lines and CSV line by line; a JSON array lacks only its
//! closing `]` (use JSON Lines for runs that may be cut off).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::model::RequestRecord;

/// Export formats for per-request results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Jsonl,
    Json,
    Csv,
    /// HTTP Archive 1.2, for a browser's devtools or any HAR viewer.
    Har,
    /// An Excel workbook: results and summary sheets.
    Xlsx,
}

impl ExportFormat {
    /// The format a file name's extension implies (JSON Lines otherwise).
    pub fn from_path(path: &Path) -> Self {
        Self::from_extension(path).unwrap_or(ExportFormat::Jsonl)
    }

    /// The format `path`'s extension names, if it names one of them.
    pub fn from_extension(path: &Path) -> Option<Self> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("json") => Some(ExportFormat::Json),
            Some("csv") => Some(ExportFormat::Csv),
            Some("har") => Some(ExportFormat::Har),
            Some("xlsx") => Some(ExportFormat::Xlsx),
            Some("jsonl" | "ndjson") => Some(ExportFormat::Jsonl),
            _ => None,
        }
    }
}

impl FromStr for ExportFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        <Self as clap::ValueEnum>::from_str(s, true)
    }
}

/// Where the engine puts finished records. Called from one task, in
/// completion order; `flush` is called whenever no more records are queued.
pub trait RecordSink: Send {
    fn write(&mut self, record: &RequestRecord) -> io::Result<()>;
    fn flush(&mut self) -> io::Result<()>;
    /// Completes the file (e.g. closes a JSON array) and flushes.
    fn finish(&mut self) -> io::Result<()> {
        self.flush()
    }
}

impl ExportFormat {
    /// Whether what is written survives a crash (line by line, or all but
    /// a closing bracket); an Excel workbook is only written at the end.
    pub fn is_streaming(self) -> bool {
        self != ExportFormat::Xlsx
    }
}

/// Creates (truncating) `path` and returns a writer in `format`.
pub fn create_journal(path: &Path, format: ExportFormat) -> io::Result<Box<dyn RecordSink>> {
    if format == ExportFormat::Xlsx {
        return Ok(Box::new(super::xlsx::XlsxWriter::create(path)?));
    }
    let file = BufWriter::with_capacity(64 * 1024, create_private(path)?);
    writer(file, format)
}

/// Creates (truncating) a results file readable by its owner only, never
/// through a symbolic link: in a shared folder such as /tmp, a link
/// planted under the name would otherwise send the results (and any
/// secrets in them) wherever it points.
pub fn create_private(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path).map_err(|e| {
        if e.raw_os_error() == Some(libc::ELOOP) {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} is a symbolic link: results are never written through one \
                     (name the file it points to)",
                    path.display()
                ),
            )
        } else {
            e
        }
    })
}

/// A record writer over any `Write`, for the streaming formats (an
/// Excel workbook needs a file: [`create_journal`]).
pub fn writer<W: Write + Send + 'static>(
    out: W,
    format: ExportFormat,
) -> io::Result<Box<dyn RecordSink>> {
    Ok(match format {
        ExportFormat::Jsonl => Box::new(JsonlWriter(out, Vec::new())),
        ExportFormat::Json => Box::new(FramedJson::new(out, "[".into(), "]\n", |out, record| {
            Ok(serde_json::to_writer(out, record)?)
        })),
        ExportFormat::Csv => Box::new(CsvWriter(csv::Writer::from_writer(out))),
        ExportFormat::Har => Box::new(super::har::writer(out)),
        ExportFormat::Xlsx => {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "an Excel workbook is written to a file: use create_journal",
            ));
        }
    })
}

/// The writer, and a line buffer reused from record to record.
struct JsonlWriter<W>(W, Vec<u8>);

impl<W: Write + Send> RecordSink for JsonlWriter<W> {
    fn write(&mut self, record: &RequestRecord) -> io::Result<()> {
        // The whole line at once: a write that fails (a full disk) leaves
        // no half line in the buffer to be written twice on a retry.
        self.1.clear();
        serde_json::to_writer(&mut self.1, record)?;
        self.1.push(b'\n');
        self.0.write_all(&self.1)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// A JSON document written as it goes: `head`, the records (each written
/// by `item`) one per line, then `tail` at the end. A run cut off before
/// the end leaves everything but the closing brackets on disk.
pub(crate) struct FramedJson<W, F> {
    out: W,
    head: String,
    tail: &'static str,
    item: F,
    count: u64,
    closed: bool,
}

impl<W, F> FramedJson<W, F>
where
    W: Write + Send,
    F: FnMut(&mut W, &RequestRecord) -> io::Result<()> + Send,
{
    pub(crate) fn new(out: W, head: String, tail: &'static str, item: F) -> Self {
        Self {
            out,
            head,
            tail,
            item,
            count: 0,
            closed: false,
        }
    }
}

impl<W, F> RecordSink for FramedJson<W, F>
where
    W: Write + Send,
    F: FnMut(&mut W, &RequestRecord) -> io::Result<()> + Send,
{
    fn write(&mut self, record: &RequestRecord) -> io::Result<()> {
        if self.count == 0 {
            self.out.write_all(self.head.as_bytes())?;
            self.out.write_all(b"\n")?;
        } else {
            self.out.write_all(b",\n")?;
        }
        (self.item)(&mut self.out, record)?;
        self.count += 1;
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn finish(&mut self) -> io::Result<()> {
        if !self.closed {
            if self.count == 0 {
                self.out.write_all(self.head.as_bytes())?;
            }
            self.out.write_all(b"\n")?;
            self.out.write_all(self.tail.as_bytes())?;
            self.closed = true;
        }
        self.out.flush()
    }
}

struct CsvWriter<W: Write>(csv::Writer<W>);

impl<W: Write + Send> RecordSink for CsvWriter<W> {
    fn write(&mut self, record: &RequestRecord) -> io::Result<()> {
        self.0
            .serialize(CsvRow::from(record).defused())
            .map_err(io::Error::other)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// The CSV shape of a record: flat, one column per field, selected headers
/// as fixed columns, so pandas and polars read it without options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CsvRow {
    pub index: u64,
    pub name: Option<String>,
    pub method: String,
    pub url: String,
    pub status: Option<u16>,
    pub ok: bool,
    pub error_kind: Option<String>,
    pub error: Option<String>,
    pub attempts: u32,
    /// Every attempt's status (or error kind), oldest first: `429;429;200`.
    pub statuses: String,
    pub started_at: Option<String>,
    pub wait_ms: f64,
    pub latency_ms: Option<f64>,
    pub bytes: u64,
    pub content_type: Option<String>,
    pub retry_after: Option<String>,
    pub ratelimit: Option<String>,
    pub ratelimit_policy: Option<String>,
    pub x_ratelimit_limit: Option<String>,
    pub x_ratelimit_remaining: Option<String>,
    pub x_ratelimit_reset: Option<String>,
    /// The signals above, parsed: whichever form the server used.
    pub limit: Option<u64>,
    pub window_s: Option<f64>,
    pub remaining: Option<u64>,
    pub reset_s: Option<f64>,
    pub retry_after_s: Option<f64>,
    pub body: Option<String>,
}

/// Text a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, or a
/// tab or carriage return first) gets a leading `'`, as OWASP advises for
/// CSV: a server's header or body must not become a formula on the
/// reader's machine. Numbers are numeric columns and never touched.
fn defuse(text: &mut String) {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        text.insert(0, '\'');
    }
}

impl CsvRow {
    /// The row with every text cell [`defuse`]d, for a CSV file (an
    /// Excel workbook writes text cells as text already).
    pub fn defused(mut self) -> Self {
        for text in [&mut self.method, &mut self.url, &mut self.statuses] {
            defuse(text);
        }
        for text in [
            &mut self.name,
            &mut self.error_kind,
            &mut self.error,
            &mut self.started_at,
            &mut self.content_type,
            &mut self.retry_after,
            &mut self.ratelimit,
            &mut self.ratelimit_policy,
            &mut self.x_ratelimit_limit,
            &mut self.x_ratelimit_remaining,
            &mut self.x_ratelimit_reset,
            &mut self.body,
        ]
        .into_iter()
        .flatten()
        {
            defuse(text);
        }
        self
    }
}

impl From<&RequestRecord> for CsvRow {
    fn from(r: &RequestRecord) -> Self {
        let header = |names: &[&str]| names.iter().find_map(|n| r.headers.get(*n).cloned());
        CsvRow {
            index: r.index,
            name: r.name.clone(),
            method: r.method.clone(),
            url: r.url.clone(),
            status: r.status,
            ok: r.ok,
            error_kind: r.error_kind.map(|k| k.as_str().to_owned()),
            error: r.error.clone(),
            attempts: r.attempts,
            statuses: r.statuses(),
            started_at: r.started_at.clone(),
            wait_ms: r.wait_ms,
            latency_ms: r.latency_ms,
            bytes: r.bytes,
            content_type: header(&["content-type"]),
            retry_after: header(&["retry-after"]),
            ratelimit: header(&["ratelimit"]),
            ratelimit_policy: header(&["ratelimit-policy"]),
            x_ratelimit_limit: header(&["x-ratelimit-limit", "x-rate-limit-limit"]),
            x_ratelimit_remaining: header(&["x-ratelimit-remaining", "x-rate-limit-remaining"]),
            x_ratelimit_reset: header(&["x-ratelimit-reset", "x-rate-limit-reset"]),
            limit: r.rate_limit.and_then(|l| l.limit),
            window_s: r.rate_limit.and_then(|l| l.window_s),
            remaining: r.rate_limit.and_then(|l| l.remaining),
            reset_s: r.rate_limit.and_then(|l| l.reset_s),
            retry_after_s: r.rate_limit.and_then(|l| l.retry_after_s),
            body: r.body.clone(),
        }
    }
}

/// A sink that keeps records in memory: for library users and tests that
/// want the records themselves rather than a file.
#[derive(Debug, Clone, Default)]
pub struct MemorySink(pub Arc<Mutex<Vec<RequestRecord>>>);

impl MemorySink {
    /// A copy of the records collected so far.
    pub fn records(&self) -> Vec<RequestRecord> {
        self.0.lock().expect("sink lock").clone()
    }
}

impl RecordSink for MemorySink {
    fn write(&mut self, record: &RequestRecord) -> io::Result<()> {
        self.0.lock().expect("sink lock").push(record.clone());
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
