//! The workbench: update logic (keys → engine commands and state), insta
//! snapshots of every view and overlay, and one end-to-end run against the
//! built-in mock with a live limit change.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratebench::batch::{Batch, LoadOptions};
use ratebench::engine::{Binding, Command, Event, Limits, RunConfig, RunState};
use ratebench::mock::{Knobs, Latency, MockServer, RouteKnobs};
use ratebench::model::ErrorKind;
use ratebench::model::Limit;
use ratebench::stats::RunSummary;
use ratebench::stats::{
    EndpointStats, ErrorGroup, FailureClass, Percentiles, StatsSnapshot, Totals,
};
use ratebench::tui::app::{Notice, Prompt, Slider};
use ratebench::tui::{self, App, Effect, Msg, TuiConfig, ui};

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ch(c: char) -> Msg {
    key(KeyCode::Char(c))
}

/// Input for the app's loop that the test types into.
fn scripted_keys() -> (
    tokio::sync::mpsc::UnboundedSender<TermEvent>,
    std::pin::Pin<Box<impl futures_util::Stream<Item = TermEvent>>>,
) {
    let (keys, rx) = tokio::sync::mpsc::unbounded_channel::<TermEvent>();
    let input =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (e, rx)) });
    (keys, Box::pin(input))
}

/// A key press as the terminal reports it.
fn press(code: KeyCode) -> TermEvent {
    TermEvent::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn batch() -> Batch {
    let text = r#"{"base_url": "http://127.0.0.1:3000", "max_at_once": 10, "per_second": 20,
        "requests": [{"url": "/inventory/{{k}}?id={{i}}", "for_each": {"k": ["materials", "products"], "i": {"range": [0, 50]}}}]}"#;
    Batch::parse_str(text, Path::new("inventory.json"), &LoadOptions::default()).unwrap()
}

fn app() -> App {
    let mut app = App::new(None, Limits::default());
    app.set_batch(batch());
    app.notice = None;
    app
}

fn running(app: &mut App) {
    assert_eq!(app.update(ch('r')), [Effect::Start]);
    assert_eq!(app.state, RunState::Running);
}

// ---- Update logic ----------------------------------------------------------------

#[test]
fn a_loaded_batch_sets_the_sliders() {
    let app = app();
    assert_eq!(app.limits, Limits::new(10, 20.0));
    assert_eq!(app.stats.total, Some(100));
}

#[test]
fn slider_steps_reach_the_engine_only_while_running() {
    let mut app = app();
    assert_eq!(app.selected, Slider::MaxAtOnce);
    assert_eq!(
        app.update(key(KeyCode::Right)),
        [],
        "idle: no engine to tell"
    );
    assert_eq!(app.limits.max_at_once, Some(20));
    running(&mut app);
    assert_eq!(
        app.update(key(KeyCode::Right)),
        [Effect::Send(Command::SetLimits(Limits::new(50, 20.0)))]
    );
    assert_eq!(
        app.update(key(KeyCode::Left)),
        [Effect::Send(Command::SetLimits(Limits::new(20, 20.0)))]
    );
    app.update(key(KeyCode::Tab));
    assert_eq!(app.selected, Slider::PerSecond);
    assert_eq!(
        app.update(key(KeyCode::Right)),
        [Effect::Send(Command::SetLimits(Limits::new(20, 50.0)))]
    );
    assert_eq!(
        app.update(ch('u')),
        [Effect::Send(Command::SetLimits(Limits::new(20, 0.0)))],
        "u: unlimited"
    );
    assert_eq!(
        app.update(key(KeyCode::Left)),
        [Effect::Send(Command::SetLimits(Limits::new(20, 10_000.0)))]
    );
    // Stepping past the top is unlimited too.
    assert_eq!(
        app.update(key(KeyCode::Right)),
        [Effect::Send(Command::SetLimits(Limits::new(20, 0.0)))]
    );
}

#[test]
fn typing_an_exact_value() {
    let mut app = app();
    running(&mut app);
    app.update(key(KeyCode::Tab));
    assert_eq!(app.update(ch('2')), []);
    assert_eq!(
        app.input.as_ref().map(|i| (&i.prompt, i.text.as_str())),
        Some((&Prompt::Value(Slider::PerSecond), "2"))
    );
    app.update(ch('x'));
    app.update(ch('.'));
    app.update(ch('5'));
    assert_eq!(
        app.update(key(KeyCode::Enter)),
        [Effect::Send(Command::SetLimits(Limits::new(10, 2.5)))]
    );
    assert!(app.input.is_none());
    // Escape cancels; 0 means unlimited; a fraction is refused for max at once.
    app.update(ch('7'));
    app.update(key(KeyCode::Esc));
    assert_eq!(app.limits.per_second, Some(2.5));
    app.update(ch('0'));
    assert_eq!(
        app.update(key(KeyCode::Enter)),
        [Effect::Send(Command::SetLimits(Limits::new(10, 0.0)))]
    );
    app.update(key(KeyCode::Tab));
    for c in "2.5".chars() {
        app.update(ch(c));
    }
    assert_eq!(app.update(key(KeyCode::Enter)), []);
    assert!(
        matches!(&app.notice, Some(Notice::Error(e)) if e.contains("whole number")),
        "{:?}",
        app.notice
    );
    assert_eq!(app.limits.max_at_once, Some(10));
}

#[test]
fn pause_resume_stop_and_rerun() {
    let mut app = app();
    assert_eq!(app.update(ch('p')), [], "nothing to pause");
    running(&mut app);
    assert_eq!(app.update(ch('p')), [Effect::Send(Command::Pause)]);
    assert_eq!(app.state, RunState::Paused);
    assert_eq!(app.update(ch(' ')), [Effect::Send(Command::Resume)]);
    assert_eq!(app.update(ch('r')), [], "no second run while one is going");
    assert!(matches!(app.notice, Some(Notice::Error(_))));
    assert_eq!(
        app.update(ch('s')),
        [Effect::Send(Command::Stop { grace: None })]
    );
    assert_eq!(app.state, RunState::Stopping);
    app.update(Msg::Engine(Event::Finished(Box::new(RunSummary {
        totals: Totals {
            done: 40,
            ok: 40,
            ..Totals::default()
        },
        stopped: true,
        ..RunSummary::default()
    }))));
    assert_eq!(app.state, RunState::Done);
    assert!(
        matches!(&app.notice, Some(Notice::Info(m)) if m.contains("40 requests") && m.contains("stopped"))
    );
    assert_eq!(
        app.update(ch('r')),
        [Effect::Start],
        "r runs again when done"
    );
    assert_eq!(app.runs, 2);
}

#[test]
fn quitting_asks_while_a_run_is_going() {
    let mut app = app();
    running(&mut app);
    assert_eq!(app.update(ch('q')), []);
    assert!(app.confirm_quit);
    assert_eq!(app.update(ch('n')), []);
    assert!(!app.confirm_quit);
    app.update(ch('q'));
    assert_eq!(
        app.update(ch('y')),
        [
            Effect::Send(Command::Stop {
                grace: Some(Duration::ZERO)
            }),
            Effect::Quit
        ]
    );
    let ctrl_c = Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    let mut idle = crate::app();
    assert_eq!(idle.update(ctrl_c), [Effect::Quit]);
    assert_eq!(idle.update(ch('q')), [Effect::Quit], "idle: no question");
}

#[test]
fn key_releases_are_ignored_and_help_closes_on_any_key() {
    let mut app = app();
    let mut release = KeyEvent::new(KeyCode::Char('r'), KeyModifiers::NONE);
    release.kind = KeyEventKind::Release;
    assert_eq!(app.update(Msg::Key(release)), []);
    assert_eq!(app.state, RunState::Idle);
    app.update(ch('?'));
    assert!(app.show_help);
    assert_eq!(app.update(ch('r')), [], "the key only closes the help");
    assert!(!app.show_help);
}

#[test]
fn opening_needs_a_batch_and_no_run() {
    let mut empty = App::new(None, Limits::default());
    assert_eq!(empty.update(ch('r')), []);
    assert!(matches!(&empty.notice, Some(Notice::Error(e)) if e.contains("no batch")));
    empty.update(ch('o'));
    for c in "b.json".chars() {
        empty.update(ch(c));
    }
    assert_eq!(
        empty.update(key(KeyCode::Enter)),
        [Effect::OpenBatch("b.json".into())]
    );
    let mut busy = app();
    running(&mut busy);
    busy.update(ch('o'));
    assert!(busy.input.is_none());
}

// ---- Snapshots -------------------------------------------------------------------

fn snapshot_stats(state: RunState, done: u64) -> StatsSnapshot {
    StatsSnapshot {
        state,
        limits: Limits::new(10, 20.0),
        binding: if state == RunState::Running {
            Binding::Rate
        } else {
            Binding::None
        },
        total: Some(100),
        totals: Totals {
            done,
            ok: done.saturating_sub(3),
            failed: done.min(3),
            latency: Percentiles {
                p50: 201.2,
                p90: 230.5,
                p99: 248.9,
                p999: 249.9,
                max: 250.3,
            },
            wait: Percentiles {
                p50: 48.0,
                p90: 49.5,
                p99: 50.1,
                p999: 50.2,
                max: 50.2,
            },
            by_status: BTreeMap::from([(200, done.saturating_sub(3)), (429, 1), (503, 1)]),
            by_error: BTreeMap::from([(ErrorKind::Timeout, 1)]),
        },
        started: done + 4,
        in_flight: if state == RunState::Done { 0 } else { 4 },
        max_in_flight: 9,
        retries: 2,
        jobs_pending: 0,
        oldest_job: None,
        batches: None,
        retrying: 0,
        elapsed: Duration::from_millis(done * 50),
        start_rate: 20.0,
        completion_rate: if state == RunState::Running {
            19.6
        } else {
            0.0
        },
        recent_latency: Percentiles {
            p50: 199.0,
            p90: 229.0,
            p99: 247.0,
            p999: 247.0,
            max: 247.0,
        },
        rate_limited_rate: 0.5,
        server: Some(ratebench::signals::ServerLimits {
            limit: Some(20),
            window_s: Some(1.0),
            remaining: Some(3),
            reset_s: Some(1.0),
            retry_after_s: None,
        }),
        server_at: Some(Duration::from_millis(1_900)),
        held_by_server: Duration::ZERO,
        errors: vec![
            ErrorGroup {
                class: FailureClass::Status(503),
                count: 2,
                message: "HTTP 503 after 3 attempts".into(),
                url: "http://127.0.0.1:3000/inventory/materials?id=12".into(),
                index: 62,
                attempts: 3,
            },
            ErrorGroup {
                class: FailureClass::Error(ErrorKind::Timeout),
                count: 1,
                message: "operation timed out".into(),
                url: "http://127.0.0.1:3000/inventory/products?id=7".into(),
                index: 7,
                attempts: 1,
            },
        ],
        endpoints: vec![
            EndpointStats {
                key: "inventory".into(),
                count: done.saturating_sub(10),
                p50_ms: 201.0,
                p99_ms: 249.0,
                failed: 1,
                rate_limited: 0,
            },
            EndpointStats {
                key: "GET /geocode".into(),
                count: done.min(10),
                p50_ms: 30.2,
                p99_ms: 39.8,
                failed: 2,
                rate_limited: 1,
            },
        ],
    }
}

fn scripted(state: RunState, done: u64) -> App {
    let mut app = app();
    if state != RunState::Idle {
        running(&mut app);
        for i in 0..=done {
            let mut s = snapshot_stats(RunState::Running, i);
            s.elapsed = Duration::from_millis(i * 50);
            s.completion_rate = if i < 5 {
                i as f64 * 4.0
            } else {
                19.0 + (i % 3) as f64 * 0.5
            };
            s.in_flight = 3 + i % 3;
            app.update(Msg::Stats(Box::new(s)));
        }
        app.update(Msg::Stats(Box::new(snapshot_stats(state, done))));
        app.journal = Some("/tmp/ratebench/inventory-run1.jsonl".into());
    }
    app.state = state;
    app.notice = None;
    app
}

fn render(app: &App) -> Terminal<TestBackend> {
    render_at(app, 80, 24)
}

fn render_at(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|f| ui::draw(f, app, &ui::Theme::plain()))
        .unwrap();
    terminal
}

macro_rules! snap {
    ($name:expr, $app:expr) => {{ snap!($name, $app, 80, 24) }};
    ($name:expr, $app:expr, $w:expr, $h:expr) => {{
        let terminal = render_at(&$app, $w, $h);
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| insta::assert_snapshot!($name, terminal.backend()));
    }};
}

#[test]
fn snapshot_dashboard_empty() {
    snap!("dashboard_no_batch", App::new(None, Limits::default()));
}

#[test]
fn snapshot_dashboard_tall_shows_endpoints() {
    snap!(
        "dashboard_running_100x32",
        scripted(RunState::Running, 40),
        100,
        32
    );
}

#[test]
fn selection_shows_without_colour() {
    // The selected slider is reversed even under NO_COLOR's plain theme.
    let terminal = render(&app());
    let buffer = terminal.backend().buffer();
    let row: Vec<_> = (0..80).map(|x| buffer[(x, 2)].clone()).collect();
    let label_start = row.iter().position(|c| c.symbol() == "m").unwrap();
    assert!(
        row[label_start]
            .modifier
            .contains(ratatui::style::Modifier::REVERSED)
    );
    let per_second = (0..80).find(|x| buffer[(*x, 2)].symbol() == "p").unwrap();
    assert!(
        !buffer[(per_second, 2)]
            .modifier
            .contains(ratatui::style::Modifier::REVERSED)
    );
}

// ---- End to end ------------------------------------------------------------------

/// How the app's loop runs in these tests: default engine settings,
/// results journaled to `journal_dir`.
fn tui_config(journal_dir: std::path::PathBuf, runs_file: Option<std::path::PathBuf>) -> TuiConfig {
    TuiConfig {
        run: RunConfig::default(),
        base_url: None,
        journal_dir,
        runs_file,
    }
}

/// The mock with these knobs on `/inventory`, and an app with the
/// inventory sample aimed at it.
async fn inventory_against_mock(inventory: RouteKnobs) -> (MockServer, App) {
    let knobs = Knobs {
        routes: BTreeMap::from([("inventory".to_owned(), inventory)]),
        ..Knobs::default()
    };
    let mock = MockServer::start("127.0.0.1:0".parse::<SocketAddr>().unwrap(), knobs)
        .await
        .unwrap();
    let options = LoadOptions {
        base_url: Some(mock.base_url()),
        format: None,
    };
    let batch = Batch::load_with(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-batches/inventory.json"),
        &options,
    )
    .unwrap();
    let mut app = App::new(None, Limits::default());
    app.set_batch(batch);
    (mock, app)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_runs_a_batch_against_the_mock_with_a_live_change() {
    let (mock, mut app) = inventory_against_mock(RouteKnobs {
        latency: Some(Latency::Fixed(Duration::from_millis(30))),
        ..Default::default()
    })
    .await;
    // Start capped at 5 at once, no rate limit; raise the cap mid-run.
    app.limits = Limits::new(5, 0.0);
    let dir = tempfile::tempdir().unwrap();
    let config = tui_config(dir.path().to_path_buf(), None);

    let (keys, input) = scripted_keys();
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let driver = async {
        keys.send(press(KeyCode::Char('r'))).unwrap();
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(mock.stats().max_in_flight <= 5);
        keys.send(press(KeyCode::Right)).unwrap(); // max at once 5 -> 10
        // Wait for the server to have answered all 100, then for the app.
        for _ in 0..200 {
            let s = mock.stats();
            if s.requests == 100 && s.in_flight == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        keys.send(press(KeyCode::Char('v'))).unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        keys.send(press(KeyCode::Char('q'))).unwrap();
    };
    let (app, ()) = tokio::join!(tui::run_loop(&mut terminal, app, input, config), driver);
    let app = app.unwrap();

    assert_eq!(app.state, RunState::Done);
    let summary = app.summary.as_ref().unwrap();
    assert_eq!(
        (
            summary.totals.done,
            summary.totals.ok,
            summary.totals.failed
        ),
        (100, 100, 0)
    );
    assert_eq!(app.limits.max_at_once, Some(10));
    assert_eq!(
        mock.stats().max_in_flight,
        10,
        "the raised cap reached the engine"
    );
    let journal = app.journal.as_ref().unwrap();
    assert_eq!(
        std::fs::read_to_string(journal).unwrap().lines().count(),
        100
    );
    let screen = format!("{}", terminal.backend());
    assert!(
        screen.contains("results · all · by index · 1 of 100"),
        "{screen}"
    );
    assert!(screen.contains("DONE"), "{screen}");
    // The results table read the journal back.
    assert_eq!(app.results.len(), 100);
    assert_eq!(
        app.results.rows.iter().map(|r| r.index).collect::<Vec<_>>(),
        (0..100).collect::<Vec<_>>()
    );
}

#[test]
fn rerun_failed_and_export_keys() {
    let mut app = app();
    assert_eq!(app.update(ch('f')), []);
    assert!(matches!(&app.notice, Some(Notice::Error(e)) if e.contains("no run yet")));
    assert_eq!(app.update(ch('e')), []);
    assert!(matches!(&app.notice, Some(Notice::Error(e)) if e.contains("no results")));
    running(&mut app);
    app.journal = Some("/tmp/x/inventory-1-run1.jsonl".into());
    app.update(Msg::Engine(Event::Finished(Box::new(RunSummary {
        totals: Totals {
            done: 100,
            ok: 98,
            failed: 2,
            ..Totals::default()
        },
        ..RunSummary::default()
    }))));
    assert_eq!(
        app.update(ch('f')),
        [Effect::FindFailed("/tmp/x/inventory-1-run1.jsonl".into())]
    );
    let effects = app.update(Msg::FailedFound(Ok([3, 70].into())));
    assert_eq!(effects, [Effect::Start]);
    assert_eq!(app.stats.total, Some(2), "the re-run is the failed two");
    assert_eq!(app.only.as_deref().map(|s| s.len()), Some(2));
    app.update(Msg::Engine(Event::Finished(Box::default())));
    assert_eq!(app.update(ch('r')), [Effect::Start]);
    assert!(app.only.is_none(), "r runs the whole batch again");
    app.update(Msg::Engine(Event::Finished(Box::default())));
    app.update(ch('e'));
    assert_eq!(
        app.input.as_ref().map(|i| i.text.as_str()),
        Some("inventory-1-run1.csv"),
        "a sensible default name"
    );
    app.update(key(KeyCode::Backspace));
    app.update(key(KeyCode::Backspace));
    app.update(key(KeyCode::Backspace));
    for c in "json".chars() {
        app.update(ch(c));
    }
    let effects = app.update(key(KeyCode::Enter));
    assert_eq!(
        effects,
        [Effect::Export {
            journal: "/tmp/x/inventory-1-run1.jsonl".into(),
            out: "inventory-1-run1.json".into(),
            format: ratebench::export::ExportFormat::Json
        }]
    );
    app.update(Msg::Exported(Ok(("out.json".into(), 7))));
    assert!(matches!(&app.notice, Some(Notice::Info(m)) if m.contains("exported 7 results")));
    app.update(Msg::Exported(Err("cannot export to /nope: denied".into())));
    assert!(
        matches!(&app.notice, Some(Notice::Error(e)) if e.contains("denied")),
        "a failed export is a message"
    );
}

fn records_in(path: &Path) -> Vec<ratebench::RequestRecord> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rerunning_the_failed_sends_exactly_them_and_export_writes_them() {
    let (mock, mut app) = inventory_against_mock(RouteKnobs {
        error_rate: Some(0.2),
        latency: Some(Latency::Fixed(Duration::from_millis(5))),
        ..Default::default()
    })
    .await;
    app.limits = Limits::new(10, 0.0);
    let dir = tempfile::tempdir().unwrap();
    let config = tui_config(
        dir.path().join("results"),
        Some(dir.path().join("data/runs.jsonl")),
    );
    let export = dir.path().join("failed.csv");

    let (keys, input) = scripted_keys();
    let settle = |requests: u64| {
        let mock = &mock;
        async move {
            for _ in 0..300 {
                let s = mock.stats();
                if s.requests >= requests && s.in_flight == 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    };
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let journals = dir.path().join("results");
    let driver = async {
        keys.send(press(KeyCode::Char('r'))).unwrap();
        settle(100).await;
        // The journal (beside it, the run's `.run.json` sidecar).
        let first = std::fs::read_dir(&journals)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
            .unwrap();
        let mut failed: Vec<u64> = records_in(&first)
            .iter()
            .filter(|r| !r.ok)
            .map(|r| r.index)
            .collect();
        failed.sort();
        keys.send(press(KeyCode::Char('f'))).unwrap();
        settle(100 + failed.len() as u64).await;
        keys.send(press(KeyCode::Char('e'))).unwrap();
        for _ in 0..80 {
            keys.send(press(KeyCode::Backspace)).unwrap();
        }
        for c in export.to_str().unwrap().chars() {
            keys.send(press(KeyCode::Char(c))).unwrap();
        }
        keys.send(press(KeyCode::Enter)).unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        keys.send(press(KeyCode::Char('q'))).unwrap();
        failed
    };
    let (app, failed) = tokio::join!(tui::run_loop(&mut terminal, app, input, config), driver);
    let app = app.unwrap();

    assert!(!failed.is_empty(), "the mock failed some of the first run");
    assert_eq!(app.runs, 2);
    assert_eq!(
        app.summary.as_ref().unwrap().totals.done,
        failed.len() as u64
    );
    let second: Vec<u64> = records_in(app.journal.as_ref().unwrap())
        .iter()
        .map(|r| r.index)
        .collect();
    let mut sorted = second.clone();
    sorted.sort();
    assert_eq!(
        sorted, failed,
        "the re-run sent exactly the failed requests"
    );
    assert_eq!(mock.stats().requests, 100 + failed.len() as u64);
    let mut csv = csv::Reader::from_path(&export).unwrap();
    assert_eq!(
        csv.records().count(),
        failed.len(),
        "the export holds the last run's results"
    );
    assert!(
        matches!(&app.notice, Some(Notice::Info(m)) if m.contains("exported")),
        "{:?}",
        app.notice
    );
    // Both runs went into the runs log, the second marked as failed-only.
    let logged = ratebench::tui::runs::load(&dir.path().join("data/runs.jsonl"));
    assert_eq!(logged.len(), 2);
    assert_eq!(
        (logged[0].summary.totals.done, logged[0].failed_only),
        (100, false)
    );
    assert_eq!(
        (logged[1].summary.totals.done, logged[1].failed_only),
        (failed.len() as u64, true)
    );
    assert_eq!(app.runs_log, logged);
}

#[test]
fn the_batch_editor_validates_generations_and_applies() {
    use ratebench::tui::app::View;
    let mut app = app();
    app.batch_text = Some("[\"http://h/a\", \"http://h/b\"]".into());
    let effects = app.update(ch('b'));
    assert_eq!(app.view, View::Batch);
    let Some(Effect::Validate {
        generation: first,
        text,
        ..
    }) = effects.first().cloned()
    else {
        panic!("{effects:?}")
    };
    assert_eq!(text, "[\"http://h/a\", \"http://h/b\"]");
    // Keys edit the text: `q` and `r` are letters here, not commands.
    app.update(key(KeyCode::End));
    let effects = app.update(ch('q'));
    let Some(Effect::Validate {
        generation: second,
        text,
        ..
    }) = effects.first().cloned()
    else {
        panic!("{effects:?}")
    };
    assert!(second > first);
    assert!(text.ends_with("]q"));
    assert_eq!(app.state, RunState::Idle);
    // A stale result is ignored; the current one is kept.
    let parse = |t: &str| Batch::parse_str(t, Path::new("b.json"), &LoadOptions::default());
    app.update(Msg::Validated {
        generation: first,
        result: parse("[\"http://h/a\"]"),
    });
    assert!(app.editor.validation.is_none());
    app.update(Msg::Validated {
        generation: second,
        result: parse(&text),
    });
    assert!(matches!(&app.editor.validation, Some(Err(e)) if e.line == Some(1)));
    let ctrl_s = Msg::Key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL));
    app.update(ctrl_s.clone());
    assert!(matches!(&app.notice, Some(Notice::Error(e)) if e.contains("not applied")));
    assert_eq!(app.stats.total, Some(100), "the old batch stays");
    // Fix it, and apply.
    let effects = app.update(key(KeyCode::Backspace));
    let Some(Effect::Validate {
        generation, text, ..
    }) = effects.first().cloned()
    else {
        panic!()
    };
    app.update(Msg::Validated {
        generation,
        result: parse(&text),
    });
    app.update(ctrl_s);
    assert_eq!(app.stats.total, Some(2));
    assert_eq!(app.batch.as_ref().map(Batch::len), Some(2));
    app.update(key(KeyCode::Esc));
    assert_eq!(app.view, View::Dashboard);
}

#[test]
fn snapshot_batch_editor() {
    let mut app = app();
    app.batch_text = Some(
        "{\n  \"base_url\": \"http://127.0.0.1:3000\",\n  \"requests\": [\n    {\"url\": \"/inventory/{{k}}?id={{i}}\",\n     \"for_each\": {\"k\": [\"materials\", \"products\"], \"i\": {\"range\": [0, 50]}}}\n  ]\n}".into(),
    );
    let Some(Effect::Validate {
        generation,
        text,
        path,
    }) = app.update(ch('b')).first().cloned()
    else {
        panic!()
    };
    let result = Batch::parse_str(&text, &path, &LoadOptions::default());
    app.update(Msg::Validated { generation, result });
    snap!("batch_editor_valid", app);
    app.update(key(KeyCode::End));
    let effects = app.update(key(KeyCode::Backspace));
    let Some(Effect::Validate {
        generation,
        text,
        path,
    }) = effects.first().cloned()
    else {
        panic!()
    };
    app.update(Msg::Validated {
        generation,
        result: Batch::parse_str(&text, &path, &LoadOptions::default()),
    });
    snap!("batch_editor_error", app);
}

fn result_record(index: u64, status: Option<u16>, latency: f64) -> ratebench::RequestRecord {
    ratebench::RequestRecord {
        name: Some(
            if index.is_multiple_of(2) {
                "inventory"
            } else {
                "geocode"
            }
            .into(),
        ),
        status,
        ok: status.is_some_and(|s| s < 400),
        error_kind: status.is_none().then_some(ErrorKind::Timeout),
        error: status.is_none().then(|| "operation timed out".to_owned()),
        attempts: 1 + u32::from(status == Some(429)),
        started_at: Some("2026-11-22T10:00:00.000000Z".into()),
        wait_ms: 12.5,
        latency_ms: Some(latency),
        bytes: 68,
        headers: BTreeMap::from([("content-type".to_owned(), "application/json".to_owned())]),
        body: Some("{\"id\": 1, \"name\": \"Heavy Stool\"}".into()),
        ..ratebench::RequestRecord::new(
            index,
            "GET",
            format!("http://127.0.0.1:3000/inventory/products?id={index}"),
        )
    }
}

/// A journal of `rows` in a fresh directory, and the message the app gets
/// when its index is built.
fn indexed(rows: &[ratebench::model::RequestRecord]) -> (tempfile::TempDir, Msg) {
    use ratebench::export::{ResultFilter, ResultIndex, ResultOrder};
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.jsonl");
    let text: String = rows
        .iter()
        .map(|r| serde_json::to_string(r).unwrap() + "\n")
        .collect();
    std::fs::write(&journal, text).unwrap();
    let index = ResultIndex::build(&journal, ResultFilter::All, ResultOrder::Index).unwrap();
    let page = index.page(0, tui::results::PAGE).unwrap();
    (
        dir,
        Msg::ResultsIndexed(Ok((std::sync::Arc::new(index), 0, page))),
    )
}

#[test]
fn the_results_table_keys() {
    use ratebench::export::{ResultFilter, ResultOrder};
    use ratebench::tui::app::View;
    let mut app = app();
    assert_eq!(app.update(ch('v')), []);
    assert!(matches!(&app.notice, Some(Notice::Error(e)) if e.contains("no results yet")));
    app.journal = Some("/tmp/j.jsonl".into());
    let load = |filter, order| Effect::LoadResults {
        journal: "/tmp/j.jsonl".into(),
        filter,
        order,
        around: 0,
    };
    assert_eq!(
        app.update(ch('v')),
        [load(ResultFilter::All, ResultOrder::Index)]
    );
    assert_eq!(app.view, View::Results);
    assert_eq!(
        app.update(key(KeyCode::Enter)),
        [],
        "Enter on an empty table does nothing"
    );
    assert!(app.input.is_none() && !app.results.detail);
    let rows: Vec<_> = (0..30)
        .map(|i| result_record(i, Some(200), i as f64))
        .collect();
    let (_dir, loaded) = indexed(&rows);
    app.update(loaded);
    app.results.height.set(10);
    app.update(key(KeyCode::PageDown));
    app.update(key(KeyCode::Down));
    assert_eq!(app.results.selected, 11);
    app.update(key(KeyCode::End));
    assert_eq!(app.results.selected, 29);
    assert_eq!(
        app.update(key(KeyCode::Tab)),
        [load(ResultFilter::Ok, ResultOrder::Index)]
    );
    assert_eq!(app.results.selected, 0);
    assert_eq!(
        app.update(key(KeyCode::BackTab)),
        [load(ResultFilter::All, ResultOrder::Index)]
    );
    assert_eq!(
        app.update(ch('o')),
        [load(ResultFilter::All, ResultOrder::SlowestFirst)]
    );
    app.update(key(KeyCode::Enter));
    assert!(app.results.detail);
    app.update(key(KeyCode::Esc));
    assert!(!app.results.detail, "Esc closes the details first");
    app.update(key(KeyCode::Esc));
    assert_eq!(app.view, View::Dashboard);
    // Global keys still work from the table.
    app.view = View::Results;
    assert_eq!(app.update(ch('r')), [Effect::Start]);
}

#[test]
fn the_results_table_pages_through_a_long_journal() {
    use ratebench::tui::app::View;
    use ratebench::tui::results::PAGE;
    let mut app = app();
    app.journal = Some("/tmp/j.jsonl".into());
    app.view = View::Results;
    let rows: Vec<_> = (0..3_000)
        .map(|i| result_record(i, Some(200), i as f64))
        .collect();
    let (_dir, loaded) = indexed(&rows);
    app.update(loaded);
    app.results.height.set(20);
    assert_eq!(app.results.len(), 3_000);
    assert_eq!(app.results.rows.len(), PAGE, "one page in memory");
    // Moving well inside the page reads nothing.
    for _ in 0..5 {
        assert_eq!(app.update(key(KeyCode::PageDown)), []);
    }
    assert_eq!(app.results.selected, 100);
    // Near its end, the next page is asked for, once.
    let mut asked = vec![];
    for _ in 0..15 {
        asked.extend(app.update(key(KeyCode::PageDown)));
    }
    assert_eq!(app.results.selected, 400);
    let [Effect::LoadPage { index, offset }] = asked.as_slice() else {
        panic!("one page read: {asked:?}");
    };
    assert_eq!(
        *offset,
        400 - PAGE / 2,
        "centred on the selection that asked"
    );
    // The page arrives: the selection's row is in memory again.
    let page = index.page(*offset, PAGE).unwrap();
    assert_eq!(
        app.update(Msg::ResultsPage {
            index: index.clone(),
            offset: *offset,
            rows: Ok(page),
        }),
        []
    );
    assert_eq!(app.results.selected_row().unwrap().index, 400);
    // End jumps to the last result and reads the last page.
    let effects = app.update(key(KeyCode::End));
    assert_eq!(app.results.selected, 2_999);
    assert!(app.results.selected_row().is_none(), "not read yet");
    let [Effect::LoadPage { index, offset }] = effects.as_slice() else {
        panic!("{effects:?}");
    };
    assert_eq!(*offset, 3_000 - PAGE);
    let page = index.page(*offset, PAGE).unwrap();
    app.update(Msg::ResultsPage {
        index: index.clone(),
        offset: *offset,
        rows: Ok(page),
    });
    assert_eq!(app.results.selected_row().unwrap().index, 2_999);
    assert_eq!(app.results.rows.len(), PAGE, "still one page in memory");
    // A page read for an index since replaced is dropped.
    let (_dir2, reloaded) = indexed(&rows[..10]);
    app.update(reloaded);
    app.update(Msg::ResultsPage {
        index: index.clone(),
        offset: 0,
        rows: Ok(index.page(0, PAGE).unwrap()),
    });
    assert_eq!(app.results.rows.len(), 10);
}

#[test]
fn snapshot_results() {
    let mut app = scripted(RunState::Done, 100);
    app.view = ratebench::tui::app::View::Results;
    let rows = vec![
        result_record(0, Some(200), 201.5),
        result_record(1, Some(429), 3.2),
        result_record(2, Some(503), 12.0),
        result_record(3, None, 5000.0),
        result_record(4, Some(200), 188.25),
    ];
    let (_dir, loaded) = indexed(&rows);
    app.update(loaded);
    app.update(key(KeyCode::Down));
    snap!("results_table", app);
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Enter));
    snap!("results_detail", app);
}

fn run_entry(
    n: u64,
    cap: u64,
    rate: f64,
    achieved: f64,
    failed: u64,
) -> ratebench::tui::runs::RunEntry {
    ratebench::tui::runs::RunEntry {
        finished_at: format!("2026-11-22T10:0{n}:00Z"),
        batch: "inventory.json".into(),
        limits: Limits::new(cap, rate),
        failed_only: n == 3,
        coalesced: false,
        summary: RunSummary {
            totals: Totals {
                done: 100,
                ok: 100 - failed,
                failed,
                by_status: BTreeMap::from([(200, 100 - failed), (429, failed)]),
                latency: Percentiles {
                    p50: 200.0 + n as f64,
                    p90: 220.0,
                    p99: 240.0 + n as f64 * 10.0,
                    p999: 250.0,
                    max: 260.0,
                },
                ..Totals::default()
            },
            achieved_per_s: achieved,
            ..RunSummary::default()
        },
        results: None,
    }
}

#[test]
fn the_runs_view_marks_two_to_compare() {
    use ratebench::tui::app::View;
    let mut app = app();
    app.runs_log = vec![
        run_entry(1, 10, 20.0, 19.9, 0),
        run_entry(2, 20, 50.0, 48.7, 3),
        run_entry(3, 20, 50.0, 48.0, 1),
    ];
    app.update(ch('c'));
    assert_eq!(app.view, View::Runs);
    app.update(ch(' ')); // the most recent: run 3 (index 2)
    app.update(key(KeyCode::Down));
    app.update(ch(' ')); // run 2
    assert_eq!(app.runs_view.marked, [2, 1]);
    app.update(key(KeyCode::Down));
    app.update(ch(' ')); // run 1: the oldest mark goes
    assert_eq!(app.runs_view.marked, [1, 0]);
    app.update(ch(' ')); // unmark run 1
    assert_eq!(app.runs_view.marked, [1]);
    app.update(key(KeyCode::Esc));
    assert_eq!(app.view, View::Dashboard);
}

#[test]
fn snapshot_runs() {
    let mut app = app();
    app.runs_log = vec![
        run_entry(1, 10, 20.0, 19.9, 0),
        run_entry(2, 20, 50.0, 48.7, 3),
        run_entry(3, 20, 50.0, 48.0, 1),
    ];
    app.update(ch('c'));
    app.update(key(KeyCode::Down));
    app.update(ch(' '));
    app.update(key(KeyCode::Down));
    app.update(ch(' '));
    snap!("runs_compare", app);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn w_saves_the_batch_with_the_current_limits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("urls.txt");
    std::fs::write(&path, "http://127.0.0.1:9/a\nPOST http://127.0.0.1:9/b\n").unwrap();
    let mut app = App::new(None, Limits::new(10, 0.0));
    app.set_batch(Batch::load(&path).unwrap());
    app.update(ch('5'));
    app.update(key(KeyCode::Enter)); // max at once 5
    app.update(key(KeyCode::Tab));
    app.update(ch('u')); // per second: unlimited
    app.update(ch('w'));
    let target = dir.path().join("urls-limits.json");
    assert_eq!(
        app.input.as_ref().map(|i| i.text.clone()),
        Some(target.display().to_string()),
        "a text batch gets a JSON file beside it"
    );
    let config = tui_config(dir.path().join("r"), None);
    let (keys, input) = scripted_keys();
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let driver = async {
        keys.send(press(KeyCode::Enter)).unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        keys.send(press(KeyCode::Char('q'))).unwrap();
    };
    let (app, ()) = tokio::join!(tui::run_loop(&mut terminal, app, input, config), driver);
    let app = app.unwrap();
    assert!(
        matches!(&app.notice, Some(Notice::Info(m)) if m.contains("saved the batch")),
        "{:?}",
        app.notice
    );
    let saved = Batch::load(&target).unwrap();
    assert_eq!(
        (saved.settings.max_at_once, saved.settings.per_second),
        (Some(Limit::count(5)), Some(Limit::UNLIMITED)),
        "unlimited is written as 0, which reads back as unlimited"
    );
    assert_eq!(saved.len(), 2);
    assert_eq!(
        saved.requests().nth(1).unwrap().unwrap().method,
        reqwest::Method::POST
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn o_opens_a_batch_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.txt");
    std::fs::write(
        &good,
        "http://127.0.0.1:9/a\nhttp://127.0.0.1:9/b\nhttp://127.0.0.1:9/c\n",
    )
    .unwrap();
    let app = App::new(None, Limits::default());
    let config = tui_config(dir.path().join("r"), None);
    let (keys, input) = scripted_keys();
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let type_path = |path: &str| {
        keys.send(press(KeyCode::Char('o'))).unwrap();
        for c in path.chars() {
            keys.send(press(KeyCode::Char(c))).unwrap();
        }
        keys.send(press(KeyCode::Enter)).unwrap();
    };
    let driver = async {
        type_path(good.to_str().unwrap());
        tokio::time::sleep(Duration::from_millis(300)).await;
        type_path("/no/such/batch.json");
        tokio::time::sleep(Duration::from_millis(300)).await;
        keys.send(press(KeyCode::Char('q'))).unwrap();
    };
    let (app, ()) = tokio::join!(tui::run_loop(&mut terminal, app, input, config), driver);
    let app = app.unwrap();
    assert_eq!(
        app.batch.as_ref().map(Batch::len),
        Some(3),
        "the good batch was loaded"
    );
    assert!(
        matches!(&app.notice, Some(Notice::Error(e)) if e.contains("cannot read the batch file")),
        "{:?}",
        app.notice
    );
}

// ---- Every view and overlay in every run state --------------------------------

/// The app in `state`, with fixed stats, two earlier runs in the log and
/// (once a run has started) a journal of results.
fn in_state(state: RunState) -> (App, Option<tempfile::TempDir>) {
    let mut app = match state {
        RunState::Idle => app(),
        RunState::Paused => {
            let mut app = scripted(RunState::Running, 40);
            app.update(ch('p'));
            let mut s = snapshot_stats(RunState::Paused, 40);
            s.binding = Binding::Paused;
            app.update(Msg::Stats(Box::new(s)));
            app
        }
        RunState::Done => {
            let mut app = scripted(RunState::Done, 100);
            app.update(Msg::Engine(Event::Finished(Box::new(RunSummary {
                totals: Totals {
                    done: 100,
                    ok: 97,
                    failed: 3,
                    ..Totals::default()
                },
                achieved_per_s: 19.8,
                ..RunSummary::default()
            }))));
            app
        }
        other => scripted(other, 40),
    };
    app.runs_log = vec![
        run_entry(1, 10, 20.0, 19.9, 0),
        run_entry(2, 20, 50.0, 48.7, 3),
    ];
    app.batch_text = Some(
        "{\"base_url\": \"http://127.0.0.1:3000\",\n \"requests\": [\"/inventory/products?id=1\"]}"
            .into(),
    );
    app.notice = None;
    let dir = (state != RunState::Idle).then(|| {
        let rows = [
            result_record(0, Some(200), 201.5),
            result_record(1, Some(429), 3.2),
            result_record(2, Some(503), 12.0),
            result_record(3, None, 5000.0),
        ];
        let (dir, loaded) = indexed(&rows);
        app.update(loaded);
        dir
    });
    (app, dir)
}

/// Puts `app` on `screen` the way a user gets there, by keys. The
/// results are read from `journal` (the app shows a fixed path).
fn open_screen(app: &mut App, screen: &str, journal: Option<&Path>) {
    let keys: &[Msg] = &match screen {
        "dashboard" => vec![],
        "help" => vec![ch('?')],
        "value" => vec![key(KeyCode::Tab), ch('3'), ch('5')],
        "open" => vec![ch('o')],
        "export" => vec![ch('e')],
        "save" => vec![ch('w')],
        "errors" => vec![ch('x'), key(KeyCode::Down)],
        "limits" => vec![ch('t')],
        "autotune" => vec![ch('a')],
        "quit" => vec![ch('q')],
        "batch" => vec![ch('b')],
        "results" => vec![ch('v'), key(KeyCode::Down)],
        "result_detail" => vec![ch('v'), key(KeyCode::Down), key(KeyCode::Enter)],
        "runs" => vec![ch('c'), ch(' '), key(KeyCode::Down), ch(' ')],
        other => panic!("no screen {other}"),
    };
    for msg in keys {
        // Work the loop does off the UI thread, done here in line.
        for effect in app.update(msg.clone()) {
            match effect {
                Effect::Validate {
                    generation,
                    text,
                    path,
                } => {
                    let result = Batch::parse_str(&text, &path, &LoadOptions::default());
                    app.update(Msg::Validated { generation, result });
                }
                Effect::LoadResults {
                    journal: _,
                    filter,
                    order,
                    around,
                } => {
                    let journal = journal.expect("a journal once a run has started");
                    let index =
                        ratebench::export::ResultIndex::build(journal, filter, order).unwrap();
                    let offset = tui::results::page_start(around, index.len());
                    let rows = index.page(offset, tui::results::PAGE).unwrap();
                    app.update(Msg::ResultsIndexed(Ok((
                        std::sync::Arc::new(index),
                        offset,
                        rows,
                    ))));
                }
                _ => {}
            }
        }
    }
}

#[test]
fn snapshot_every_view_and_overlay_in_every_state() {
    let screens = [
        "dashboard",
        "help",
        "value",
        "open",
        "export",
        "save",
        "errors",
        "limits",
        "autotune",
        "quit",
        "batch",
        "results",
        "result_detail",
        "runs",
    ];
    let states = [
        ("idle", RunState::Idle),
        ("running", RunState::Running),
        ("paused", RunState::Paused),
        ("done", RunState::Done),
    ];
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots/states"));
    settings.set_prepend_module_to_snapshot(false);
    let _bound = settings.bind_to_scope();
    for (label, state) in states {
        for screen in screens {
            let (mut app, dir) = in_state(state);
            let journal = dir.as_ref().map(|d| d.path().join("j.jsonl"));
            open_screen(&mut app, screen, journal.as_deref());
            // Keys must not have changed the state being shown.
            assert_eq!(app.state, state, "{screen} in {label}");
            let terminal = render(&app);
            insta::assert_snapshot!(format!("{label}__{screen}"), terminal.backend());
        }
    }
    // The export progress bar, while an export runs after a run.
    let (mut app, _dir) = in_state(RunState::Done);
    app.update(Msg::ExportProgress(ratebench::export::Progress {
        records: 45_000,
        bytes_read: 450,
        bytes_total: 1_000,
    }));
    insta::assert_snapshot!("done__exporting", render(&app).backend());
}

#[test]
fn the_errors_overlay_selects_a_group_and_shows_its_results() {
    use ratebench::export::{ResultFilter, ResultOrder};
    use ratebench::tui::app::View;
    let mut app = app();
    assert_eq!(app.update(ch('x')), []);
    assert!(
        app.errors_view.is_none(),
        "nothing to show before a failure"
    );
    let mut app = scripted(RunState::Running, 40);
    app.update(ch('x'));
    assert_eq!(app.errors_view, Some(0));
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Down));
    assert_eq!(app.errors_view, Some(1), "stops at the last group");
    app.update(key(KeyCode::Up));
    assert_eq!(
        app.stats.errors[0].class,
        FailureClass::Status(503),
        "the busiest group first"
    );
    // Enter shows the group's requests in the results table.
    let effects = app.update(key(KeyCode::Enter));
    assert_eq!(app.view, View::Results);
    assert_eq!(app.errors_view, None);
    assert_eq!(
        effects,
        [Effect::LoadResults {
            journal: "/tmp/ratebench/inventory-run1.jsonl".into(),
            filter: ResultFilter::ServerError,
            order: ResultOrder::Index,
            around: 0,
        }]
    );
    // The timeout group maps to every failed request.
    app.view = View::Dashboard;
    app.update(ch('x'));
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Enter));
    assert_eq!(app.results.filter, ResultFilter::Failed);
    // Esc closes without moving.
    app.view = View::Dashboard;
    app.update(ch('x'));
    app.update(key(KeyCode::Esc));
    assert_eq!((app.errors_view, app.view), (None, View::Dashboard));
}

#[test]
fn export_progress_shows_until_the_export_ends() {
    let mut app = scripted(RunState::Done, 100);
    let progress = ratebench::export::Progress {
        records: 10_000,
        bytes_read: 1_000,
        bytes_total: 4_000,
    };
    app.update(Msg::ExportProgress(progress));
    assert_eq!(app.exporting, Some(progress));
    let screen = format!("{}", render(&app).backend());
    assert!(screen.contains(" 25 % · 10000 results"), "{screen}");
    app.update(Msg::Exported(Ok(("out.csv".into(), 40_000))));
    assert_eq!(app.exporting, None);
    assert!(matches!(&app.notice, Some(Notice::Info(m)) if m.contains("exported 40000")));
    app.update(Msg::ExportProgress(progress));
    app.update(Msg::Exported(Err("cannot export to /x: denied".into())));
    assert_eq!(app.exporting, None);
    assert!(matches!(&app.notice, Some(Notice::Error(_))));
}

/// A snapshot of a run against a limiter at `limit`/s after `second`
/// seconds at these `rates`, built the way the aggregator would.
fn limited_stats(rates: &[f64], limit: f64) -> StatsSnapshot {
    let mut s = StatsSnapshot::initial(Some(100_000), Limits::new(64, 0.0));
    s.state = RunState::Running;
    for rate in rates {
        let sent = rate.round() as u64;
        let ok = sent.min(limit as u64);
        s.totals.done += sent;
        s.totals.ok += ok;
        *s.totals.by_status.entry(200).or_default() += ok;
        *s.totals.by_status.entry(429).or_default() += sent - ok;
    }
    s.elapsed = Duration::from_secs(rates.len() as u64);
    s.recent_latency.p50 = 10.0;
    s.recent_latency.p99 = 20.0;
    s
}

#[test]
fn auto_tune_moves_the_rate_settles_and_gives_the_controls_back() {
    let mut app = app();
    assert_eq!(app.update(ch('a')), []);
    assert!(app.autotune.is_none(), "only during a run");
    running(&mut app);
    app.update(Msg::Stats(Box::new(limited_stats(&[], 20.0))));
    // From the slider's rate (20/s in this batch).
    assert_eq!(app.update(ch('a')), []);
    assert!(app.autotune.is_some());
    // A second at 20/s, all fine: it climbs.
    let effects = app.update(Msg::Stats(Box::new(limited_stats(&[20.0], 20.0))));
    assert_eq!(
        effects,
        [Effect::Send(Command::SetLimits(Limits::new(10, 40.0)))]
    );
    // Less than a second later: nothing new.
    let mut early = limited_stats(&[20.0], 20.0);
    early.elapsed += Duration::from_millis(500);
    assert_eq!(app.update(Msg::Stats(Box::new(early))), []);
    // Keep answering like a 20/s limiter until it settles.
    let mut rates = vec![20.0];
    for _ in 0..60 {
        rates.push(app.limits.per_second.unwrap());
        app.update(Msg::Stats(Box::new(limited_stats(&rates, 20.0))));
        if app.autotune.is_none() {
            break;
        }
    }
    assert!(app.autotune.is_none(), "settled within a minute");
    let tuned = app.tuned.clone().unwrap();
    let rate = app.limits.per_second.unwrap();
    assert_eq!(rate, tuned.per_second);
    assert!((18.0..=20.6).contains(&rate), "{rate}");
    assert_eq!(app.limits.max_at_once, Some(tuned.max_at_once));
    assert!(matches!(&app.notice, Some(Notice::Info(m)) if m.contains("auto-tune settled")));
    let screen = format!("{}", render(&app).backend());
    assert!(screen.contains(&format!("tuned {rate}")), "{screen}");

    // Touching a limit takes the controls back at once.
    app.update(ch('a'));
    assert!(app.autotune.is_some());
    app.update(key(KeyCode::Left));
    assert!(app.autotune.is_none());
    assert!(matches!(&app.notice, Some(Notice::Info(m)) if m.contains("auto-tune off")));
}

#[test]
fn the_plan_shows_under_the_chart_until_taken_over() {
    use ratebench::model::Profile;
    let mut app = app();
    app.profile = Some(
        Profile::stages([
            (10.0, Duration::from_secs(30)),
            (100.0, Duration::from_secs(60)),
        ])
        .unwrap(),
    );
    let screen = format!("{}", render(&app).backend());
    assert!(screen.contains("plan 10/s 30s → 100/s 1m"), "{screen}");
    running(&mut app);
    app.update(key(KeyCode::Right));
    let screen = format!("{}", render(&app).backend());
    assert!(screen.contains("taken over"), "{screen}");
}

#[test]
fn t_shows_the_rate_limits_panel() {
    let mut app = scripted(RunState::Running, 40);
    let screen = format!("{}", render(&app).backend());
    assert!(!screen.contains("rate limits"));
    app.update(ch('t'));
    let screen = format!("{}", render(&app).backend());
    assert!(screen.contains("20 per 1 s (20.0/s)"), "{screen}");
    assert!(screen.contains("0.5 now"), "{screen}");
    // A tall terminal shows it beside the endpoints, without asking.
    app.update(ch('t'));
    let tall = format!("{}", render_at(&app, 100, 32).backend());
    assert!(
        tall.contains("rate limits") && tall.contains("endpoints"),
        "{tall}"
    );
}

#[test]
fn auto_tune_lifts_a_cap_that_binds() {
    let mut app = app();
    running(&mut app);
    app.update(Msg::Stats(Box::new(limited_stats(&[], 1000.0))));
    app.update(ch('a'));
    let mut s = limited_stats(&[20.0], 1000.0);
    s.binding = Binding::MaxAtOnce;
    let effects = app.update(Msg::Stats(Box::new(s)));
    assert_eq!(
        effects.last(),
        Some(&Effect::Send(Command::SetLimits(Limits::new(20, 40.0))))
    );
    assert_eq!(app.limits.max_at_once, Some(20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_tune_steers_a_real_run_toward_the_servers_limit() {
    // A server that allows 40 a second and says so; a batch asked at 10/s.
    let mut knobs = Knobs {
        routes: BTreeMap::new(),
        ..Knobs::default()
    };
    knobs.global.rate_limit = Some("40/s".parse().unwrap());
    knobs.global.latency = Some(Latency::Fixed(Duration::from_millis(10)));
    let mock = MockServer::start("127.0.0.1:0".parse::<SocketAddr>().unwrap(), knobs)
        .await
        .unwrap();
    let text = format!(
        r#"{{"base_url": "{}", "max_at_once": 20, "per_second": 10,
            "requests": [{{"url": "/anything/{{{{i}}}}", "for_each": {{"i": {{"range": [0, 2000]}}}}}}]}}"#,
        mock.base_url()
    );
    let batch = Batch::parse_str(&text, Path::new("at.json"), &LoadOptions::default()).unwrap();
    let mut app = App::new(None, Limits::default());
    app.set_batch(batch);
    let dir = tempfile::tempdir().unwrap();
    let config = tui_config(dir.path().to_path_buf(), None);
    let (keys, input) = scripted_keys();
    let mut terminal = Terminal::new(TestBackend::new(100, 32)).unwrap();
    let driver = async {
        keys.send(press(KeyCode::Char('r'))).unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        keys.send(press(KeyCode::Char('a'))).unwrap();
        // Climbing from 10/s, it meets the limit within a few seconds.
        tokio::time::sleep(Duration::from_secs(4)).await;
        keys.send(press(KeyCode::Char('q'))).unwrap();
        keys.send(press(KeyCode::Char('y'))).unwrap();
    };
    let (app, ()) = tokio::join!(tui::run_loop(&mut terminal, app, input, config), driver);
    let app = app.unwrap();
    // It climbed from 10/s and held a higher rate (it may be backing off
    // from the limit just now, so the slider itself can read anything).
    let best = app.autotune.as_ref().and_then(|t| t.best()).unwrap();
    assert!(best >= 20.0, "auto-tune moved the rate up: best {best}");
    assert!(
        app.limits.per_second.unwrap() <= 40.0,
        "never past the advertised 40/s"
    );
    // The engine followed: the server saw more than the 10/s asked for.
    let seen = mock.stats().requests as f64;
    assert!(seen > 10.0 * 4.5, "{seen} requests in 4.5 s");
    let screen = format!("{}", terminal.backend());
    assert!(
        screen.contains("40 per 1 s"),
        "the panel shows the advertised limit: {screen}"
    );
    mock.shutdown().await;
}

#[test]
fn a_coalesced_batch_shows_calls_and_jobs_beside_items() {
    let text = r#"{"base_url": "http://127.0.0.1:3000",
        "coalesce": {"url": "/batch/geocode", "max_items": 10},
        "requests": [{"url": "/geocode?text={{i}}", "for_each": {"i": {"range": [0, 100]}}}]}"#;
    let batch = Batch::parse_str(text, Path::new("c.json"), &LoadOptions::default()).unwrap();
    let mut app = App::new(None, Limits::new(10, 20.0));
    app.set_batch(batch);
    running(&mut app);
    let mut s = snapshot_stats(RunState::Running, 40);
    s.jobs_pending = 3;
    s.oldest_job = Some(Duration::from_millis(1_500));
    s.start_rate = 2.5;
    s.batches = Some(ratebench::stats::BatchStats {
        calls: 4,
        items_per_call: 10.0,
        polling: Percentiles {
            p50: 350.0,
            p99: 610.0,
            ..Percentiles::default()
        },
    });
    app.update(Msg::Stats(Box::new(s)));
    let screen = format!("{}", render_at(&app, 100, 32).backend());
    assert!(screen.contains("calls 2.5/s"), "{screen}");
    assert!(screen.contains("jobs pending 3 (oldest 1.5s)"), "{screen}");
    assert!(
        screen.contains("4 calls · 10 items each · jobs done in p50 350 ms, p99 610 ms"),
        "{screen}"
    );
}

#[test]
fn k_and_brackets_steer_coalescing() {
    let text = r#"{"base_url": "http://127.0.0.1:3000",
        "coalesce": {"url": "/batch/geocode", "max_items": 10},
        "requests": [{"url": "/geocode?text={{i}}", "for_each": {"i": {"range": [0, 100]}}}]}"#;
    let batch = Batch::parse_str(text, Path::new("c.json"), &LoadOptions::default()).unwrap();
    // Opened with the batch, as `ratebench BATCH` does, or loaded later.
    assert!(App::new(Some(batch.clone()), Limits::default()).coalescing());
    let mut app = App::new(None, Limits::new(10, 20.0));
    app.set_batch(batch);
    assert!(app.coalescing());
    assert_eq!(app.update(ch(']')), [], "idle: nothing to tell the engine");
    assert_eq!(app.max_items, Some(20));
    running(&mut app);
    assert_eq!(
        app.update(ch('[')),
        [Effect::Send(Command::SetMaxItems(10))]
    );
    let screen = format!("{}", render(&app).backend());
    assert!(screen.contains("10 per call"), "{screen}");
    app.update(ch('k'));
    assert!(!app.coalescing());
    let screen = format!("{}", render(&app).backend());
    assert!(screen.contains("one by one"), "{screen}");
    // A batch without a coalesce section has nothing to toggle.
    let mut plain = self::app();
    plain.update(ch('k'));
    assert!(matches!(&plain.notice, Some(Notice::Error(e)) if e.contains("no coalesce section")));
}

// ---- Pasting curl, resuming an interrupted run -------------------------------------

fn editor_json(app: &App) -> serde_json::Value {
    serde_json::from_str(&app.editor.textarea.lines().join("\n")).unwrap()
}

#[test]
fn a_pasted_curl_command_becomes_a_request_of_the_batch() {
    use ratebench::tui::app::View;
    let mut app = app();
    app.batch_text = Some(r#"{"max_at_once": 2, "requests": ["http://127.0.0.1:3000/a"]}"#.into());
    // On the dashboard, a curl paste opens the editor with the request added.
    let effects = app.update(Msg::Paste(
        "curl 'http://127.0.0.1:3000/b' \\\n  -H 'X-Trace: 1' \\\n  --data-raw '{\"n\":1}' -H 'Content-Type: application/json'".into(),
    ));
    assert_eq!(app.view, View::Batch);
    assert!(
        matches!(effects.last(), Some(Effect::Validate { .. })),
        "{effects:?}"
    );
    let batch = editor_json(&app);
    assert_eq!(batch["max_at_once"], 2, "the rest of the batch is kept");
    let added = &batch["requests"][1];
    assert_eq!(added["method"], "POST");
    assert_eq!(added["url"], "http://127.0.0.1:3000/b");
    assert_eq!(added["headers"]["X-Trace"], "1");
    assert_eq!(added["json"], serde_json::json!({"n": 1}));
    assert!(matches!(&app.notice, Some(Notice::Info(m)) if m.contains("added 1 request")));
    // Other text pasted in the editor is inserted as typed.
    app.update(Msg::Paste("\n".into()));
    assert_eq!(
        app.editor.textarea.lines().last().map(String::as_str),
        Some("")
    );
    // A broken command adds nothing and says why.
    let before = app.editor.textarea.lines().to_vec();
    app.update(Msg::Paste("curl --nope https://a/x".into()));
    assert_eq!(app.editor.textarea.lines(), before.as_slice());
    assert!(
        matches!(&app.notice, Some(Notice::Error(m)) if m.contains("unknown curl option `--nope`"))
    );
    // Outside the editor, other text is not taken for a request.
    let mut other = self::app();
    other.update(Msg::Paste("hello".into()));
    assert_eq!(other.view, View::Dashboard);
    assert!(matches!(&other.notice, Some(Notice::Error(_))));
    // A URL list takes a plain request, and refuses one with headers.
    let mut list = App::new(None, Limits::default());
    list.set_batch(
        Batch::parse_str(
            "http://h/a\n",
            Path::new("urls.txt"),
            &LoadOptions::default(),
        )
        .unwrap(),
    );
    list.batch_text = Some("http://h/a\n".into());
    list.update(Msg::Paste("curl -X DELETE http://h/b".into()));
    assert_eq!(
        list.editor.textarea.lines(),
        ["http://h/a", "DELETE http://h/b"]
    );
    list.update(Msg::Paste("curl -H 'A: 1' http://h/c".into()));
    assert!(matches!(&list.notice, Some(Notice::Error(m)) if m.contains("URL list")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workbench_offers_to_resume_a_stopped_run_and_finishes_it() {
    let (mock, app) = inventory_against_mock(RouteKnobs {
        latency: Some(Latency::Fixed(Duration::from_millis(20))),
        ..Default::default()
    })
    .await;
    let batch = app.batch.clone().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut app = app;
    app.limits = Limits::new(4, 0.0);

    // First session: start, stop part-way, quit.
    let (keys, input) = scripted_keys();
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let driver = async {
        keys.send(press(KeyCode::Char('r'))).unwrap();
        for _ in 0..100 {
            if mock.stats().requests >= 30 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        keys.send(press(KeyCode::Char('s'))).unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        keys.send(press(KeyCode::Char('q'))).unwrap();
    };
    let config = tui_config(dir.path().to_path_buf(), None);
    let (first, ()) = tokio::join!(tui::run_loop(&mut terminal, app, input, config), driver);
    let first = first.unwrap();
    let journal = first.journal.clone().unwrap();
    let sent_first = mock.stats().requests;
    assert!(first.summary.as_ref().unwrap().stopped);
    assert!(sent_first < 100, "stopped part-way: {sent_first}");

    // Second session, the same batch: the offer comes, R takes it.
    let mut app = App::new(None, Limits::new(4, 0.0));
    app.set_batch(batch);
    let (keys, input) = scripted_keys();
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    let driver = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        keys.send(press(KeyCode::Char('R'))).unwrap();
        for _ in 0..300 {
            let s = mock.stats();
            if s.requests >= 100 && s.in_flight == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        keys.send(press(KeyCode::Char('q'))).unwrap();
    };
    let config = tui_config(dir.path().to_path_buf(), None);
    let (second, ()) = tokio::join!(tui::run_loop(&mut terminal, app, input, config), driver);
    let second = second.unwrap();
    assert_eq!(
        second.journal.as_ref(),
        Some(&journal),
        "appended to the same journal"
    );
    let summary = second.summary.as_ref().unwrap();
    assert_eq!(
        summary.totals.done + sent_first,
        100,
        "only the rest was sent"
    );
    assert_eq!(mock.stats().requests, 100, "nothing sent twice");
    let mut indices: Vec<u64> = records_in(&journal).iter().map(|r| r.index).collect();
    indices.sort_unstable();
    assert_eq!(indices, (0..100).collect::<Vec<_>>(), "one result per row");
    // Finished: nothing left to offer.
    let found =
        ratebench::tui::interrupted::find(dir.path(), &second.batch.as_ref().unwrap().path, 100)
            .unwrap();
    assert_eq!(found, None);
}

#[test]
fn the_resume_offer_shows_and_r_starts_the_rest() {
    let mut app = app();
    assert!(app.update(ch('R')).is_empty(), "nothing to resume yet");
    app.update(Msg::InterruptedFound(Some(
        ratebench::tui::interrupted::Interrupted {
            journal: "j.jsonl".into(),
            done: 40,
            total: 100,
        },
    )));
    assert!(
        matches!(&app.notice, Some(Notice::Info(m)) if m.contains("has 40 of 100 results: R resumes it"))
    );
    assert_eq!(app.update(ch('R')), [Effect::Start]);
    assert!(app.resuming);
    assert_eq!(app.stats.total, Some(60));
}

#[test]
fn pasting_into_a_value_prompt_takes_only_what_typing_would() {
    let mut app = app();
    app.update(ch('5'));
    let before = app.input.as_ref().expect("a value prompt").text.clone();
    app.update(Msg::Paste("0x1.5 per second\nignored".into()));
    assert_eq!(app.input.as_ref().unwrap().text, format!("{before}01.5"));
}
