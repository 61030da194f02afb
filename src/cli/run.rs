//! `ratebench run`: the headless front end. The run's life cycle (journal,
//! sidecar, resume, runs log) is the library's session; this shows its
//! progress on stderr and its summary at the end.

use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ratebench::batch::Batch;
use ratebench::engine::{Command, RunConfig};
use ratebench::export::ExportFormat;
use ratebench::session::{Journal, Plan, Rows, runs_log};
use ratebench::stats::{JournalFault, RunSummary, StatsSnapshot};
use tokio::sync::watch;

use super::args::RunArgs;
use super::{EXIT_ERROR, EXIT_FAILED, EXIT_OK, EXIT_UNRECORDED, EXIT_USAGE};

pub async fn run(args: RunArgs) -> u8 {
    let options = super::load_options(args.settings.base_url.clone(), args.settings.max_requests);
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
    let config = RunConfig {
        stop_grace: args.grace,
        redact: !args.no_redact,
        ..super::settings::run_config(&args.settings, &batch.settings)
    };
    let prepared = match plan(&args, batch, config).prepare() {
        Ok(prepared) => prepared,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    if let (Some(resumed), false) = (prepared.resumed(), args.quiet) {
        let failed = match resumed.failed {
            0 => String::new(),
            n => format!(" ({n} failed, kept)"),
        };
        eprintln!(
            "resuming: {} of {} rows already have a result{failed}; sending the rest",
            resumed.kept,
            resumed.kept + prepared.total()
        );
    }
    let (total, config) = (prepared.total(), prepared.config().clone());
    let running = match prepared.start() {
        Ok(running) => running,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    let progress = progress_bar(total, args.quiet);
    if !args.quiet {
        progress.println(format!(
            "ratebench: {total} requests from {}, {}",
            args.batch.display(),
            config.limits
        ));
    }
    let interrupted = Arc::new(AtomicU8::new(0));
    let handle = running.handle;
    tokio::spawn(on_signal(
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
    let journal = running.finisher.journal().map(Path::to_path_buf);
    match running.finisher.finish(&summary, config.limits) {
        Ok(ended) => ended.notes.iter().for_each(|n| eprintln!("note: {n}")),
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    }
    if let Err(code) = report(&args, &config, &summary) {
        return code;
    }
    if let (Some(fault), Some(journal)) = (&summary.journal_fault, &journal) {
        eprintln!("{}", fault_message(fault, journal, &args));
        if fault.unwritten > 0 {
            return EXIT_UNRECORDED;
        }
    }
    let signal = interrupted.load(Ordering::SeqCst);
    if signal != 0 {
        signal
    } else if summary.totals.failed > 0 {
        EXIT_FAILED
    } else {
        EXIT_OK
    }
}

/// The session plan for the command line's choices.
fn plan(args: &RunArgs, batch: Batch, run: RunConfig) -> Plan {
    let journal = match &args.out {
        None => Journal::None,
        Some(path) => Journal::File {
            path: path.clone(),
            format: args.format.unwrap_or_else(|| ExportFormat::from_path(path)),
        },
    };
    let rows = if args.resume {
        Rows::Resume {
            retry_failed: args.retry_failed,
            force: args.force,
        }
    } else {
        Rows::All
    };
    Plan {
        batch,
        run,
        journal,
        rows,
        runs_log: runs_log::default_file(),
        edited: false,
        number_hint: 1,
    }
}

/// The summary files asked for, and the table on stdout.
fn report(args: &RunArgs, config: &RunConfig, summary: &RunSummary) -> Result<(), u8> {
    let written = |path: &Path, result: io::Result<()>| {
        result.map_err(|e| {
            eprintln!("error: cannot write {}: {e}", path.display());
            EXIT_ERROR
        })
    };
    if let Some(path) = &args.summary_json {
        written(path, write_summary(path, summary))?;
    }
    if let Some(path) = &args.summary_md {
        let settings = settings_table(&args.batch, config);
        written(
            path,
            std::fs::write(path, summary.render_markdown(&settings)),
        )?;
    }
    if !args.quiet {
        print!("{}", summary.render_table());
        match &args.out {
            Some(out) => println!("  {:<16} {}", "results", out.display()),
            None => eprintln!(
                "note: per-request results were not kept; add --out results.jsonl to keep them \
                 (and to resume a run cut off)"
            ),
        }
    }
    Ok(())
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

/// What the user reads when results could not be written: the error,
/// how far the file is good, and how to send what is missing.
fn fault_message(fault: &JournalFault, journal: &Path, args: &RunArgs) -> String {
    let path = journal.display();
    if fault.unwritten == 0 {
        return format!(
            "warning: writing {path} failed ({}), and the run was stopped; on a second try \
             every result was written. `--resume` sends the rows not sent.",
            fault.error
        );
    }
    format!(
        "error: cannot write the results to {path}: {}. The run was stopped: {} results \
         are in no file; the first {} lines of {path} are whole. Free space, then \
         `ratebench run {} --out {path} --resume` sends only the rows without a result.",
        fault.error,
        fault.unwritten,
        fault.written,
        args.batch.display(),
    )
}

/// First Ctrl-C (or SIGTERM, SIGHUP): stop with the grace period, and
/// note the exit status it asks for. A second: cancel in-flight requests
/// now.
async fn on_signal(
    commands: tokio::sync::mpsc::UnboundedSender<Command>,
    interrupted: Arc<AtomicU8>,
    bar: ProgressBar,
    grace: Duration,
) {
    let mut signals = ratebench::stop_signals::Signals::new();
    let Some(first) = signals.next().await else {
        return;
    };
    interrupted.store(first.exit_status(), Ordering::SeqCst);
    bar.suspend(|| {
        eprintln!(
            "stopping ({}): in-flight requests have {} to finish (Ctrl-C again to cancel them now)",
            first.name(),
            humantime::format_duration(grace)
        )
    });
    let _ = commands.send(Command::Stop { grace: None });
    if signals.next().await.is_some() {
        let _ = commands.send(Command::Stop {
            grace: Some(Duration::ZERO),
        });
    }
}

pub(super) fn write_summary(path: &Path, summary: &RunSummary) -> io::Result<()> {
    let mut file = File::create(path)?;
    serde_json::to_writer_pretty(&mut file, summary)?;
    file.write_all(b"\n")
}

/// The settings a Markdown summary lists beside the figures.
fn settings_table(batch: &Path, config: &RunConfig) -> Vec<(String, String)> {
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
