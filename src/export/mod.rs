//! Results leaving the engine: the journal writers and every export
//! format (JSON Lines, JSON, CSV, HAR, Excel), reading a journal back
//! (to convert it, browse it, resume it or rebuild its summary), and
//! redaction of secrets. Records and the summary are values from
//! [`crate::model`] and [`crate::stats`].

pub mod browse;
pub mod convert;
pub mod har;
pub mod redact;
pub mod writer;
pub mod xlsx;

pub use browse::{ResultFilter, ResultIndex, ResultOrder};
pub use convert::{
    Progress, convert, convert_with_progress, cut_last_line, failed_indices, summary_from_journal,
    workbook_from_journal,
};
pub use writer::{CsvRow, ExportFormat, MemorySink, RecordSink, create_journal, writer};
