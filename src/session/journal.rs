//! Choosing and opening a run's journal: a file the user named (any
//! export format; an Excel workbook is journaled as JSON Lines beside it
//! and written at the end), a fresh file in the workbench's results
//! folder, or none.

use std::path::{Path, PathBuf};

use crate::export::{ExportFormat, RecordSink, create_journal};

/// Where a run's results go.
#[derive(Debug, Clone, PartialEq)]
pub enum Journal {
    /// Nowhere: results are only counted (a headless run without `--out`).
    None,
    /// This file, in `format`.
    File { path: PathBuf, format: ExportFormat },
    /// A fresh JSON Lines file in this folder, named after the batch and
    /// the run's number (`NAME-runN.jsonl`).
    In(PathBuf),
}

/// A sink that discards records: the stats still see every one.
pub struct Discard;

impl RecordSink for Discard {
    fn write(&mut self, _: &crate::model::RequestRecord) -> std::io::Result<()> {
        Ok(())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The folder the workbench's journals go to: `$RATEBENCH_RESULTS_DIR`,
/// else `ratebench` in the temporary folder.
pub fn default_results_dir() -> PathBuf {
    std::env::var_os("RATEBENCH_RESULTS_DIR")
        .map_or_else(|| std::env::temp_dir().join("ratebench"), PathBuf::from)
}

/// Where a run writing a workbook journals its results meanwhile.
pub fn workbook_journal(xlsx: &Path) -> PathBuf {
    let mut name = xlsx.as_os_str().to_owned();
    name.push(".jsonl");
    name.into()
}

/// The journal's path and format as opened: for a workbook, its JSON
/// Lines twin (and the workbook to write at the end).
pub(super) struct Opened {
    pub path: PathBuf,
    pub format: ExportFormat,
    pub workbook: Option<PathBuf>,
}

impl Journal {
    /// The file records are appended to, and in which format (for a
    /// fresh file in a folder, a name not taken yet, made now).
    pub(super) fn target(&self, batch: &Path, number: u64) -> Result<Option<Opened>, String> {
        Ok(match self {
            Journal::None => None,
            Journal::File { path, format } if *format == ExportFormat::Xlsx => Some(Opened {
                path: workbook_journal(path),
                format: ExportFormat::Jsonl,
                workbook: Some(path.clone()),
            }),
            Journal::File { path, format } => Some(Opened {
                path: path.clone(),
                format: *format,
                workbook: None,
            }),
            Journal::In(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                let stem = batch
                    .file_stem()
                    .map_or_else(|| "batch".into(), |s| s.to_string_lossy().into_owned());
                Some(Opened {
                    path: fresh(dir, &stem, number)?,
                    format: ExportFormat::Jsonl,
                    workbook: None,
                })
            }
        })
    }
}

/// A new, empty file `STEM-runN.jsonl` in `dir` (`-2`, `-3`... after the
/// number if that is taken: another process without a runs log).
fn fresh(dir: &Path, stem: &str, number: u64) -> Result<PathBuf, String> {
    for attempt in 1..100 {
        let name = match attempt {
            1 => format!("{stem}-run{number}.jsonl"),
            n => format!("{stem}-run{number}-{n}.jsonl"),
        };
        let path = dir.join(name);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&path) {
            Ok(_) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("cannot create {}: {e}", path.display())),
        }
    }
    Err(format!(
        "cannot find a free name for run {number} in {}",
        dir.display()
    ))
}

/// Creates (truncating) the journal.
pub(super) fn create(opened: &Opened) -> Result<Box<dyn RecordSink>, String> {
    create_journal(&opened.path, opened.format)
        .map_err(|e| format!("cannot create {}: {e}", opened.path.display()))
}
