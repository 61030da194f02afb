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
    let options = super::load_options(args.settings.base_url.clone(), args.settings.max_requests);
    let batch = match &args.batch {
        None => None,
        Some(path) if !path.exists() && is_word(path) => {
            // `ratebench frobnicate`: a mistyped command, not a batch.
            let word = path.to_string_lossy();
            let closest = closest_command(&word);
            eprintln!(
                "error: `{word}` is not a command (nor a file).{} `ratebench --help` lists the commands.",
                closest.map_or(String::new(), |c| format!(" Did you mean `{c}`?"))
            );
            return EXIT_USAGE;
        }
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
    open(batch, None, &args, &file, None).await
}

/// The demo batch's text with `base_url` first, keeping the rest as it is.
fn with_base_url(text: &str, base: &str) -> String {
    match text.trim_start().strip_prefix('{') {
        Some(rest) => format!("{{\n  \"base_url\": \"{base}\",{rest}"),
        None => text.to_owned(),
    }
}

/// A bare word (no folder, no extension): what a command looks like.
fn is_word(path: &std::path::Path) -> bool {
    let text = path.to_string_lossy();
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The command nearest `word` by edit distance, if any is near.
fn closest_command(word: &str) -> Option<&'static str> {
    const COMMANDS: &[&str] = &[
        "run",
        "mock",
        "probe",
        "check",
        "export",
        "export-summary",
        "import",
        "tui",
        "demo",
    ];
    let distance = |a: &str, b: &str| {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut prev = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let here = row[j + 1];
                row[j + 1] = (prev + usize::from(ca != *cb))
                    .min(row[j] + 1)
                    .min(here + 1);
                prev = here;
            }
        }
        row[b.len()]
    };
    COMMANDS
        .iter()
        .map(|c| (distance(word, c), *c))
        .min()
        .filter(|(d, c)| *d <= c.len().div_ceil(2))
        .map(|(_, c)| c)
}

async fn open(
    batch: Option<Batch>,
    text: Option<&str>,
    args: &TuiArgs,
    file: &BatchSettings,
    guide: Option<&str>,
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
        guide: guide.map(str::to_owned),
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
    // The batch names the mock, so `w` saves one that loads again.
    let text = with_base_url(DEMO_BATCH, &mock.base_url());
    let batch = Batch::parse_str(&text, Path::new("demo.json"), &options)
        .expect("the built-in demo batch is valid");
    let args = TuiArgs {
        settings: super::args::SettingsArgs {
            base_url: Some(mock.base_url()),
            ..args.settings
        },
        ..args
    };
    let settings = batch.settings.clone();
    // The first step, and the mock's address for trying its live control
    // (README: `curl -X PUT {url}/__control ...`) while the demo runs.
    let guide = format!(
        "mock {} · /geocode allows 30/s: r runs, ←→ finds it, or a",
        mock.base_url()
    );
    let code = open(Some(batch), Some(&text), &args, &settings, Some(&guide)).await;
    mock.shutdown().await;
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_batch_names_its_mock_so_a_saved_copy_loads() {
        let text = with_base_url(DEMO_BATCH, "http://127.0.0.1:4567");
        let batch =
            Batch::parse_str(&text, Path::new("demo.json"), &LoadOptions::default()).unwrap();
        assert_eq!(
            batch.settings.base_url.as_deref(),
            Some("http://127.0.0.1:4567")
        );
        assert_eq!(batch.len(), 1200);
        // Saved with new limits, it loads again with no --base-url.
        let saved = ratebench::loader::save::with_limits(
            &text,
            batch.format,
            Path::new("demo.json"),
            ratebench::model::Limits::new(5, 7.0),
        )
        .unwrap();
        let again =
            Batch::parse_str(&saved, Path::new("saved.json"), &LoadOptions::default()).unwrap();
        assert_eq!(again.len(), 1200);
        assert!(saved.contains("\"per_second\": 7,"), "{saved}");
    }

    #[test]
    fn a_mistyped_command_is_matched_to_the_nearest() {
        assert_eq!(closest_command("rn"), Some("run"));
        assert_eq!(closest_command("prbe"), Some("probe"));
        assert_eq!(closest_command("frobnicate"), None);
    }
}
