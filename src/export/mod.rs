//! Results leaving the engine: records, the journal writers, the summary,
//! and redaction of secrets.

pub mod browse;
pub mod convert;
pub mod har;
pub mod record;
pub mod redact;
pub mod resume;
pub mod summary;
pub mod writer;
pub mod xlsx;

pub use browse::{ResultFilter, ResultIndex, ResultOrder};
pub use convert::{Progress, convert, convert_with_progress, failed_indices, summary_from_journal};
pub use record::{BatchInfo, ErrorKind, RequestRecord, SentRequest};
pub use summary::RunSummary;
pub use writer::{CsvRow, ExportFormat, MemorySink, RecordSink, create_journal, writer};
