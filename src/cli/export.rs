//! `ratebench export` and `ratebench export-summary`: a journal read back
//! into another format, or into the run's summary.

use std::io;

use ratebench::export::ExportFormat;

use super::run::write_summary;
use super::{EXIT_ERROR, EXIT_OK, EXIT_USAGE};

/// `ratebench export`: a journal in another format.
pub fn export(args: super::args::ExportArgs) -> u8 {
    let format = args
        .format
        .unwrap_or_else(|| ExportFormat::from_path(&args.out));
    if !args.journal.is_file() {
        eprintln!(
            "error: cannot read {}: no such file",
            args.journal.display()
        );
        return EXIT_USAGE;
    }
    match ratebench::export::convert(&args.journal, &args.out, format) {
        Ok(n) => {
            note_cut_line(&args.journal);
            eprintln!("wrote {n} results to {}", args.out.display());
            EXIT_OK
        }
        Err(e) if e.kind() == io::ErrorKind::InvalidData => {
            eprintln!("error: {}: {e}", args.journal.display());
            EXIT_USAGE
        }
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", args.out.display());
            EXIT_ERROR
        }
    }
}

/// Says when the journal's last line was cut off (and left out).
fn note_cut_line(journal: &std::path::Path) {
    if let Ok(Some(line)) = ratebench::export::cut_last_line(journal) {
        eprintln!(
            "note: {}: line {line} was cut off mid-write (a run killed while writing) and is \
             left out; `ratebench run --resume` sends that request again",
            journal.display()
        );
    }
}

/// `ratebench export-summary`: the summary of a run from its journal.
pub fn export_summary(args: super::args::ExportSummaryArgs) -> u8 {
    let summary = match ratebench::export::summary_from_journal(&args.journal) {
        Ok(summary) => summary,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", args.journal.display());
            return EXIT_USAGE;
        }
    };
    note_cut_line(&args.journal);
    if let Some(path) = &args.summary_json
        && let Err(e) = write_summary(path, &summary)
    {
        eprintln!("error: cannot write {}: {e}", path.display());
        return EXIT_ERROR;
    }
    if let Some(path) = &args.summary_md {
        let settings = vec![("results".into(), args.journal.display().to_string())];
        if let Err(e) = std::fs::write(path, summary.render_markdown(&settings)) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return EXIT_ERROR;
        }
    }
    print!("{}", summary.render_table());
    EXIT_OK
}
