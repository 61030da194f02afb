//! Command-line interface: argument definitions and subcommand dispatch.

mod args;
mod check;
mod export;
mod import;
mod mock;
mod probe;
mod run;
mod settings;
mod tui;

use std::process::ExitCode;

pub use args::Cli;
use args::Cmd;

/// All requests succeeded.
pub const EXIT_OK: u8 = 0;
/// The run completed but some requests failed.
pub const EXIT_FAILED: u8 = 1;
/// Bad input or usage (clap uses 2 for usage errors too).
pub const EXIT_USAGE: u8 = 2;
/// Something outside the user's input went wrong.
pub const EXIT_ERROR: u8 = 3;
/// Results could not be written (a full disk): the run was stopped and
/// some results are in no file; `--resume` sends those rows again.
pub const EXIT_UNRECORDED: u8 = 4;
/// Interrupted by Ctrl-C (128 + SIGINT); SIGTERM and SIGHUP stop a run
/// the same way with 143 and 129 (`ratebench::stop_signals`).
pub const EXIT_INTERRUPTED: u8 = 130;

/// How every command loads a batch: the flags' base URL and ceiling, and
/// progress on a terminal while a large batch is checked.
fn load_options(
    base_url: Option<String>,
    max_requests: Option<u64>,
) -> ratebench::batch::LoadOptions {
    ratebench::batch::LoadOptions {
        base_url,
        format: None,
        max_requests,
        progress: Some(load_progress),
    }
}

/// Progress while a large batch is checked before a run (on a terminal;
/// the loader calls it only once checking has taken a second).
fn load_progress(done: u64, total: u64) {
    use std::io::IsTerminal;
    if std::io::stderr().is_terminal() {
        let end = if done == total { "\n" } else { "" };
        eprint!(
            "\rchecking the batch: {done} of {total} requests ({:.0} %){end}",
            100.0 * done as f64 / total.max(1) as f64
        );
    }
}

pub async fn dispatch(cli: Cli) -> ExitCode {
    let code = match cli.command {
        Some(Cmd::Run(args)) => run::run(args).await,
        Some(Cmd::Mock(args)) => mock::run(args).await,
        Some(Cmd::Probe(args)) => probe::run(args).await,
        Some(Cmd::ExportSummary(args)) => export::export_summary(args),
        Some(Cmd::Export(args)) => export::export(args),
        Some(Cmd::Import(args)) => import::run(args),
        Some(Cmd::Tui(args)) => tui::run(args).await,
        Some(Cmd::Check(args)) => check::run(args),
        Some(Cmd::Demo) => tui::demo(cli.tui).await,
        None => tui::run(cli.tui).await,
    };
    ExitCode::from(code)
}
