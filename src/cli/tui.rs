//! The workbench front end: `ratebench [BATCH]`, `ratebench tui BATCH`,
//! and `ratebench demo` (the mock API plus the workbench aimed at it).

use std::net::SocketAddr;
use std::path::Path;

use ratebench::batch::{Batch, BatchSettings, LoadOptions};
use ratebench::mock::{Knobs, MockServer};
use ratebench::session;
use ratebench::tui::{self, App, Start, TuiConfig};

use super::args::TuiArgs;
use super::{EXIT_ERROR, EXIT_OK, EXIT_USAGE};

/// The demo's batch, built in so `demo` works from any folder.
const DEMO_BATCH: &str = include_str!("../../sample-batches/demo.json");
/// The demo's mock knobs: a little flaky, and rate-limited on /geocode.
const DEMO_SCENARIO: &str = include_str!("../../sample-batches/demo-scenario.toml");

pub async fn run(args: TuiArgs) -> u8 {
    let options = LoadOptions {
        base_url: args.settings.base_url.clone(),
        format: None,
        max_requests: args.settings.max_requests,
        progress: Some(super::load_progress),
    };
    let batch = match &args.batch {
        None => None,
        Some(path) => match Batch::load_with(path, &options) {
            Ok(batch) => Some(batch),
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_USAGE;
            }
        },
    };
    let file = batch
        .as_ref()
        .map(|b| b.settings.clone())
        .unwrap_or_default();
    open(batch, None, &args, &file).await
}

async fn open(
    batch: Option<Batch>,
    text: Option<&str>,
    args: &TuiArgs,
    file: &BatchSettings,
) -> u8 {
    let run = super::settings::run_config(&args.settings, file);
    let app = App::new(Start {
        batch,
        batch_text: text.map(str::to_owned),
        limits: run.limits,
        // --ramp, else the batch's profile.
        profile: run.profile.clone(),
        one_by_one: args.settings.no_coalesce,
        tune_window: None,
    });
    let config = TuiConfig {
        run: ratebench::engine::RunConfig::default(),
        overrides: super::settings::overrides(&args.settings),
        base_url: args.settings.base_url.clone(),
        max_requests: args.settings.max_requests,
        journal_dir: session::default_results_dir(),
        runs_file: session::runs_log::default_file(),
        observer: None,
    };
    match tui::run(app, config).await {
        Ok(app) => {
            if let Some(summary) = app.summary() {
                print!("{}", summary.render_table());
            }
            if let Some(journal) = app.journal() {
                println!("  {:<16} {}", "results", journal.display());
            }
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_ERROR
        }
    }
}

pub async fn demo(args: TuiArgs) -> u8 {
    let knobs = Knobs::from_toml(DEMO_SCENARIO).expect("the built-in demo scenario is valid");
    let mock = match MockServer::start(SocketAddr::from(([127, 0, 0, 1], 0)), knobs).await {
        Ok(mock) => mock,
        Err(e) => {
            eprintln!("error: cannot start the mock API: {e}");
            return EXIT_ERROR;
        }
    };
    let options = LoadOptions {
        base_url: Some(mock.base_url()),
        format: None,
        ..Default::default()
    };
    let batch = Batch::parse_str(DEMO_BATCH, Path::new("demo.json"), &options)
        .expect("the built-in demo batch is valid");
    let args = TuiArgs {
        settings: super::args::SettingsArgs {
            base_url: Some(mock.base_url()),
            ..args.settings
        },
        ..args
    };
    let settings = batch.settings.clone();
    let code = open(Some(batch), Some(DEMO_BATCH), &args, &settings).await;
    mock.shutdown().await;
    code
}
