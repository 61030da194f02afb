//! Excel export: a "Results" sheet with one row per request (the CSV's
//! columns) and a "Summary" sheet, for the spreadsheet users batch jobs
//! are often run for.
//!
//! rust_xlsxwriter in constant-memory mode streams rows to a temporary
//! file, so a million results cost little memory; the workbook itself is
//! only written whole at the end. That is why a run never journals to
//! xlsx directly: `run --out x.xlsx` journals JSON Lines beside it and
//! converts at the end.

use std::io;
use std::path::{Path, PathBuf};

use rust_xlsxwriter::{Format, Workbook, XlsxError};
use serde_json::Value;

use super::convert::SummaryBuilder;
use super::writer::{CsvRow, RecordSink};
use crate::model::RequestRecord;

/// Excel's last row (1,048,576 rows, one of them the header).
const MAX_ROWS: u32 = 1_048_575;

/// Writes records to an `.xlsx` at `finish`.
pub struct XlsxWriter {
    path: PathBuf,
    workbook: Workbook,
    columns: Vec<String>,
    row: u32,
    summary: SummaryBuilder,
    /// The live run's own summary, when the workbook is written at its
    /// end: what only the run knew (the most in flight, the time held by
    /// the server, the phases) is in it, not in the records.
    live: Option<Box<crate::stats::RunSummary>>,
    done: bool,
}

fn xlsx_err(e: XlsxError) -> io::Error {
    io::Error::other(e.to_string())
}

impl XlsxWriter {
    pub fn create(path: &Path) -> io::Result<Self> {
        // Fail now, not after the run, if the file cannot be written.
        std::fs::File::create(path)?;
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet_with_constant_memory();
        sheet.set_name("Results").map_err(xlsx_err)?;
        let columns = csv_columns();
        let bold = Format::new().set_bold();
        for (col, name) in columns.iter().enumerate() {
            sheet
                .write_string_with_format(0, col as u16, name, &bold)
                .map_err(xlsx_err)?;
        }
        sheet.set_freeze_panes(1, 0).map_err(xlsx_err)?;
        Ok(Self {
            path: path.to_path_buf(),
            workbook,
            columns,
            row: 0,
            summary: SummaryBuilder::default(),
            live: None,
            done: false,
        })
    }

    /// The Summary sheet gives `summary` (the live run's) instead of what
    /// the records alone say.
    pub fn with_summary(mut self, summary: crate::stats::RunSummary) -> Self {
        self.live = Some(Box::new(summary));
        self
    }
}

/// The CSV row's field names, in order (serde keeps declaration order).
fn csv_columns() -> Vec<String> {
    let blank = CsvRow::from(&RequestRecord::new(0, "GET", "http://x/"));
    match serde_json::to_value(blank) {
        Ok(Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

impl RecordSink for XlsxWriter {
    fn write(&mut self, record: &RequestRecord) -> io::Result<()> {
        self.summary.add(record);
        if self.row >= MAX_ROWS {
            return Err(io::Error::other(format!(
                "more than {MAX_ROWS} results: an Excel sheet holds no more (use CSV or JSON Lines)"
            )));
        }
        self.row += 1;
        let Value::Object(fields) = serde_json::to_value(CsvRow::from(record))? else {
            return Ok(());
        };
        let sheet = self.workbook.worksheet_from_index(0).map_err(xlsx_err)?;
        for (col, name) in self.columns.iter().enumerate() {
            let col = col as u16;
            match fields.get(name) {
                Some(Value::Number(n)) => {
                    sheet
                        .write_number(self.row, col, n.as_f64().unwrap_or(0.0))
                        .map_err(xlsx_err)?;
                }
                Some(Value::Bool(b)) => {
                    sheet.write_boolean(self.row, col, *b).map_err(xlsx_err)?;
                }
                Some(Value::String(s)) => {
                    // A cell holds at most 32,767 characters.
                    let cut: String = s.chars().take(32_767).collect();
                    sheet.write_string(self.row, col, cut).map_err(xlsx_err)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        if self.done {
            return Ok(());
        }
        self.done = true;
        let summary = match self.live.take() {
            Some(live) => *live,
            None => self.summary.finish(),
        };
        let sheet = self.workbook.add_worksheet();
        sheet.set_name("Summary").map_err(xlsx_err)?;
        let bold = Format::new().set_bold();
        sheet.set_column_width(0, 22).map_err(xlsx_err)?;
        for (row, (label, value)) in summary.rows().into_iter().enumerate() {
            let row = row as u32;
            sheet
                .write_string_with_format(row, 0, label, &bold)
                .map_err(xlsx_err)?;
            sheet.write_string(row, 1, value).map_err(xlsx_err)?;
        }
        // Then every figure as a number a formula can use.
        let mut figures = Vec::new();
        flatten("", &serde_json::to_value(&summary)?, &mut figures);
        let first = summary.rows().len() as u32 + 1;
        for (i, (key, value)) in figures.into_iter().enumerate() {
            let row = first + i as u32;
            sheet.write_string(row, 0, key).map_err(xlsx_err)?;
            match value {
                Value::Number(n) => sheet.write_number(row, 1, n.as_f64().unwrap_or(0.0)),
                Value::Bool(b) => sheet.write_boolean(row, 1, b),
                other => sheet.write_string(row, 1, other.to_string()),
            }
            .map_err(xlsx_err)?;
        }
        self.workbook.save(&self.path).map_err(xlsx_err)
    }
}

/// `{"a": {"b": 1}}` as `("a.b", 1)`, in order.
fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        other => out.push((prefix.to_owned(), other.clone())),
    }
}
