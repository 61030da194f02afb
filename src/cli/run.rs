//! `ratebench run`: the headless front end of the engine.

use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ratebench::batch::{Batch, LoadOptions};
use ratebench::engine::{self, Command, RunConfig};
use ratebench::export::{ExportFormat, RecordSink, create_journal};
use ratebench::stats::RunSummary;
use ratebench::stats::StatsSnapshot;
use tokio::sync::watch;

use super::args::RunArgs;
use super::{EXIT_ERROR, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE};

/// A sink that discards records (no `--out`): stats still see every one.
pub(super) struct Discard;

impl RecordSink for Discard {
    fn write(&mut self, _: &ratebench::RequestRecord) -> io::Result<()> {
        Ok(())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

pub async fn run(args: RunArgs) -> u8 {
    let options = LoadOptions {
        base_url: args.settings.base_url.clone(),
        format: None,
    };
    // Loading validates the whole batch: on any error nothing is sent.
    let batch = match Batch::load_with(&args.batch, &options) {
        Ok(batch) => batch,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    for warning in &batch.warnings {
        eprintln!("note: {warning}");
    }
    let out_format = args
        .out
        .as_deref()
        .map(|p| args.format.unwrap_or_else(|| ExportFormat::from_path(p)));
    let mut config = config_from(&args, &batch);
    // A HAR shows what was sent and every response header.
    config.capture |= out_format == Some(ExportFormat::Har);
    // A workbook is written whole at the end: journal beside it till then.
    let workbook = args
        .out
        .clone()
        .filter(|_| out_format == Some(ExportFormat::Xlsx) && !args.resume);
    let mut done = std::collections::BTreeSet::new();
    let sink: Box<dyn RecordSink> = match &args.out {
        None => Box::new(Discard),
        Some(path) if args.resume => {
            if ExportFormat::from_path(path) != ExportFormat::Jsonl
                || args.format.is_some_and(|f| f != ExportFormat::Jsonl)
            {
                eprintln!("error: --resume needs a JSON Lines journal (--out FILE.jsonl)");
                return EXIT_USAGE;
            }
            match ratebench::export::resume::resume_journal(path, args.retry_failed) {
                Ok((resumed, sink)) => {
                    if !args.quiet {
                        eprintln!(
                            "resuming: {} of {} rows already have a result{}; sending the rest",
                            resumed.done.len(),
                            batch.len(),
                            if resumed.failed > 0 {
                                format!(" ({} failed, kept)", resumed.failed)
                            } else {
                                String::new()
                            }
                        );
                    }
                    done = resumed.done;
                    sink
                }
                Err(e) => {
                    eprintln!("error: cannot resume from {}: {e}", path.display());
                    return EXIT_USAGE;
                }
            }
        }
        Some(path) => {
            let (path, format) = match &workbook {
                Some(xlsx) => (xlsx_journal(xlsx), ExportFormat::Jsonl),
                None => (path.clone(), out_format.unwrap_or(ExportFormat::Jsonl)),
            };
            let path = &path;
            match create_journal(path, format) {
                Ok(sink) => sink,
                Err(e) => {
                    eprintln!("error: cannot create {}: {e}", path.display());
                    return EXIT_USAGE;
                }
            }
        }
    };

    let total = batch.len().saturating_sub(done.len() as u64);
    let requests = batch.requests().filter(move |r| {
        let index = r.as_ref().map_or_else(|bad| bad.index, |spec| spec.index);
        !done.contains(&index)
    });
    let handle = match engine::start(requests, Some(total), config.clone(), sink) {
        Ok(handle) => handle,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    let interrupted = Arc::new(AtomicBool::new(false));
    let progress = progress_bar(total, args.quiet);
    if !args.quiet {
        progress.println(format!(
            "ratebench: {} requests from {}, {}",
            total,
            args.batch.display(),
            config.limits
        ));
    }
    tokio::spawn(on_ctrl_c(
        handle.commander(),
        interrupted.clone(),
        progress.clone(),
        config.stop_grace,
    ));
    let ticker = tokio::spawn(show_progress(handle.stats.clone(), progress.clone()));

    let summary = match handle.wait().await {
        Ok(summary) => summary,
        Err(e) => {
            progress.abandon();
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    ticker.abort();
    progress.finish_and_clear();

    if let Some(xlsx) = &workbook {
        let journal = xlsx_journal(xlsx);
        match ratebench::export::convert(&journal, xlsx, ExportFormat::Xlsx) {
            Ok(_) => {
                let _ = std::fs::remove_file(&journal);
            }
            Err(e) => {
                eprintln!(
                    "error: cannot write {}: {e} (every result is in {}; `ratebench export` converts it)",
                    xlsx.display(),
                    journal.display()
                );
                return EXIT_ERROR;
            }
        }
    }

    if let Some(path) = &args.summary_json
        && let Err(e) = write_summary(path, &summary)
    {
        eprintln!("error: cannot write {}: {e}", path.display());
        return EXIT_ERROR;
    }
    if let Some(path) = &args.summary_md {
        let settings = settings_table(&args.batch, &config);
        if let Err(e) = std::fs::write(path, summary.render_markdown(&settings)) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return EXIT_ERROR;
        }
    }
    if !args.quiet {
        print!("{}", summary.render_table());
        if let Some(out) = &args.out {
            println!("  {:<16} {}", "results", out.display());
        }
    }
    if interrupted.load(Ordering::SeqCst) {
        EXIT_INTERRUPTED
    } else if summary.totals.failed > 0 {
        EXIT_FAILED
    } else {
        EXIT_OK
    }
}

/// Where a run writing a workbook journals its results meanwhile.
fn xlsx_journal(xlsx: &std::path::Path) -> std::path::PathBuf {
    let mut name = xlsx.as_os_str().to_owned();
    name.push(".jsonl");
    name.into()
}

fn config_from(args: &RunArgs, batch: &Batch) -> RunConfig {
    RunConfig {
        stop_grace: args.grace,
        redact: !args.no_redact,
        ..super::settings::run_config(&args.settings, &batch.settings)
    }
}

fn progress_bar(total: u64, quiet: bool) -> ProgressBar {
    if quiet || !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr_with_hz(10));
    bar.set_style(
        ProgressStyle::with_template("{bar:30.cyan/blue} {pos}/{len} {msg} ETA {eta}")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar
}

async fn show_progress(mut stats: watch::Receiver<StatsSnapshot>, bar: ProgressBar) {
    while stats.changed().await.is_ok() {
        let s = stats.borrow_and_update().clone();
        bar.set_position(s.totals.done);
        bar.set_message(format!(
            "{:.1}/s  in flight {}  errors {}",
            s.completion_rate, s.in_flight, s.totals.failed
        ));
    }
}

/// First Ctrl-C: stop with the grace period. Second: cancel now.
async fn on_ctrl_c(
    commands: tokio::sync::mpsc::UnboundedSender<Command>,
    interrupted: Arc<AtomicBool>,
    bar: ProgressBar,
    grace: Duration,
) {
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    interrupted.store(true, Ordering::SeqCst);
    bar.suspend(|| {
        eprintln!(
            "stopping: in-flight requests have {} to finish (Ctrl-C again to cancel them now)",
            humantime::format_duration(grace)
        )
    });
    let _ = commands.send(Command::Stop { grace: None });
    if tokio::signal::ctrl_c().await.is_ok() {
        let _ = commands.send(Command::Stop {
            grace: Some(Duration::ZERO),
        });
    }
}

fn write_summary(path: &std::path::Path, summary: &RunSummary) -> io::Result<()> {
    let mut file = File::create(path)?;
    serde_json::to_writer_pretty(&mut file, summary)?;
    file.write_all(b"\n")
}

/// The settings a Markdown summary lists beside the figures.
fn settings_table(batch: &std::path::Path, config: &RunConfig) -> Vec<(String, String)> {
    let limits = config.limits;
    let or_unlimited = |v: Option<String>| v.unwrap_or_else(|| "unlimited".into());
    vec![
        ("batch".into(), batch.display().to_string()),
        (
            "max at once".into(),
            or_unlimited(limits.max_at_once.map(|n| n.to_string())),
        ),
        (
            "per second".into(),
            or_unlimited(limits.per_second.map(|r| r.to_string())),
        ),
        ("retries".into(), config.retries.to_string()),
        (
            "timeout".into(),
            humantime::format_duration(config.timeout).to_string(),
        ),
        (
            "version".into(),
            concat!("ratebench ", env!("CARGO_PKG_VERSION")).into(),
        ),
    ]
}

/// `ratebench export-summary`: the summary of a run from its journal.
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

pub fn export_summary(args: super::args::ExportSummaryArgs) -> u8 {
    let summary = match ratebench::export::summary_from_journal(&args.journal) {
        Ok(summary) => summary,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", args.journal.display());
            return EXIT_USAGE;
        }
    };
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
