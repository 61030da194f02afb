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
    if let Some(dir) = std::env::var_os("RATEBENCH_RESULTS_DIR") {
        return dir.into();
    }
    // Per user: results hold what the API answered (and what was sent,
    // with --keep-body); a folder shared in /tmp would show them to all.
    if let Some(runtime) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(runtime).join("ratebench");
    }
    #[cfg(unix)]
    let name = format!("ratebench-{}", unsafe { libc::getuid() });
    #[cfg(not(unix))]
    let name = "ratebench".to_owned();
    std::env::temp_dir().join(name)
}

/// Creates `dir` (and its parents) readable by its owner only, and makes
/// sure it is this user's own folder and not a link: a folder another user
/// made (or a link planted) in a shared place would receive the results.
pub(super) fn private_dir(dir: &Path) -> Result<(), String> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::symlink_metadata(dir)
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let me = unsafe { libc::getuid() };
        if meta.file_type().is_symlink() {
            return Err(format!(
                "{} is a symbolic link: results go only to a folder of your own",
                dir.display()
            ));
        }
        if meta.uid() != me {
            return Err(format!(
                "{} belongs to another user (uid {}): results go only to a folder of your own \
                 (set RATEBENCH_RESULTS_DIR)",
                dir.display(),
                meta.uid()
            ));
        }
    }
    Ok(())
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
                private_dir(dir)?;
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
