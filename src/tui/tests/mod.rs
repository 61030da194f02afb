//! The workbench's update logic (keys → effects and state), insta
//! snapshots of every view and overlay, and each dashboard panel rendered
//! alone with its colours. In the crate, because they look at the app's
//! private state; the loop driven end to end against the mock is in
//! `tests/tui.rs`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::app::{App, Effect, Input, Msg, Notice, Overlay, Prompt, Slider, Start, StartRun};
use super::ui;
use crate::batch::{Batch, LoadOptions};
use crate::engine::{Binding, Command, Event, Limits, RunState};
use crate::model::ErrorKind;
use crate::session::{Rows, RunEntry};
use crate::stats::{
    Answers, EndpointStats, ErrorGroup, FailureClass, Percentiles, RunSummary, StatsSnapshot,
    Totals,
};

/// The prompt open, if one is.
fn input(app: &App) -> Option<&Input> {
    match &app.overlay {
        Some(Overlay::Prompt(input)) => Some(input),
        _ => None,
    }
}

/// The group the errors overlay has selected, if it is open.
fn errors_at(app: &App) -> Option<usize> {
    match app.overlay {
        Some(Overlay::Errors(at)) => Some(at),
        _ => None,
    }
}

/// The run these effects start, if they start one.
fn started(effects: &[Effect]) -> Option<&StartRun> {
    match effects {
        [Effect::Start(run)] => Some(run),
        _ => None,
    }
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ctrl(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
}

fn ch(c: char) -> Msg {
    key(KeyCode::Char(c))
}

fn batch() -> Batch {
    let text = r#"{"base_url": "http://127.0.0.1:3000", "max_at_once": 10, "per_second": 20,
        "requests": [{"url": "/inventory/{{k}}?id={{i}}", "for_each": {"k": ["materials", "products"], "i": {"range": [0, 50]}}}]}"#;
    Batch::parse_str(text, Path::new("inventory.json"), &LoadOptions::default()).unwrap()
}

fn app() -> App {
    let mut app = App::new(Start::default());
    app.set_batch(batch());
    app.notice = None;
    app
}

fn running(app: &mut App) {
    let effects = app.update(ch('r'));
    assert_eq!(started(&effects).map(|r| &r.rows), Some(&Rows::All));
    assert_eq!(app.state, RunState::Running);
}

fn snapshot_stats(state: RunState, done: u64) -> StatsSnapshot {
    StatsSnapshot {
        state,
        limits: Limits::new(10, 20.0),
        binding: if state == RunState::Running {
            Binding::Rate
        } else {
            Binding::None
        },
        refused_share: 0.025,
        slowing: None,
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
            // Two attempts were retried: a 429 and a 503, each tried again.
            answers: Answers {
                total: done + 2,
                by_status: BTreeMap::from([(200, done.saturating_sub(3)), (429, 2), (503, 2)]),
                by_error: BTreeMap::from([(ErrorKind::Timeout, 1)]),
                refused: 2,
            },
        },
        started: done + 4,
        in_flight: if state == RunState::Done { 0 } else { 4 },
        max_in_flight: 9,
        connections: crate::stats::ConnectionCount {
            open: 4,
            opened: 6,
            cap: None,
        },
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
        answer_rate: 20.0,
        accepted_rate: 19.1,
        refused_rate: 0.5,
        server_error_rate: 0.2,
        recent_latency: Percentiles {
            p50: 199.0,
            p90: 229.0,
            p99: 247.0,
            p999: 247.0,
            max: 247.0,
        },
        rate_limited_rate: 0.5,
        server: Some(crate::signals::ServerLimits {
            limit: Some(20),
            window_s: Some(1.0),
            remaining: Some(3),
            reset_s: Some(1.0),
            retry_after_s: None,
        }),
        server_at: Some(Duration::from_millis(1_900)),
        held_by_server: Duration::ZERO,
        hold_left: None,
        next_retry_in: None,
        errors: vec![
            ErrorGroup {
                class: FailureClass::Status(429),
                answers: 2,
                retried: 1,
                finals: 1,
                message: "HTTP 429 after 2 attempts".into(),
                url: "http://127.0.0.1:3000/inventory/materials?id=30".into(),
                index: 30,
                attempts: 2,
            },
            ErrorGroup {
                class: FailureClass::Status(503),
                answers: 2,
                retried: 1,
                finals: 1,
                message: "HTTP 503 after 3 attempts".into(),
                url: "http://127.0.0.1:3000/inventory/materials?id=12".into(),
                index: 62,
                attempts: 3,
            },
            ErrorGroup {
                class: FailureClass::Error(ErrorKind::Timeout),
                answers: 1,
                retried: 0,
                finals: 1,
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
                answers: done.saturating_sub(10) + 1,
                rate_limited: 0,
                errors: 2,
            },
            EndpointStats {
                key: "GET /geocode".into(),
                count: done.min(10),
                p50_ms: 30.2,
                p99_ms: 39.8,
                failed: 2,
                answers: done.min(10) + 1,
                rate_limited: 2,
                errors: 1,
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
            // A ramp, then about the target, a stray refusal now and then.
            s.accepted_rate = s.completion_rate - 0.5 * (i % 2) as f64;
            s.refused_rate = 0.5 * (i % 2) as f64;
            s.in_flight = 3 + i % 3;
            app.update(Msg::Stats(Box::new(s)));
        }
        app.update(Msg::Stats(Box::new(snapshot_stats(state, done))));
        app.journal = Some("/tmp/ratebench/inventory-run1.jsonl".into());
        app.run_number = 1;
    }
    app.state = state;
    app.notice = None;
    app
}

/// The screen as text, one line per row (trailing blanks trimmed).
fn draw_to_string(app: &App, width: u16, height: u16) -> String {
    let terminal = render_at(app, width, height);
    let buffer = terminal.backend().buffer();
    (0..height)
        .map(|y| {
            (0..width)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
                .trim_end()
                .to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
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

fn result_record(index: u64, status: Option<u16>, latency: f64) -> crate::RequestRecord {
    crate::RequestRecord {
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
        ..crate::RequestRecord::new(
            index,
            "GET",
            format!("http://127.0.0.1:3000/inventory/products?id={index}"),
        )
    }
}

/// A journal of `rows` in a fresh directory, and the message the app gets
/// when its index is built.
fn indexed(rows: &[crate::model::RequestRecord]) -> (tempfile::TempDir, Msg) {
    use crate::export::{ResultFilter, ResultIndex, ResultOrder};
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.jsonl");
    let text: String = rows
        .iter()
        .map(|r| serde_json::to_string(r).unwrap() + "\n")
        .collect();
    std::fs::write(&journal, text).unwrap();
    let index = ResultIndex::build(&journal, ResultFilter::All, ResultOrder::Index).unwrap();
    let page = index.page(0, crate::tui::results::PAGE).unwrap();
    (
        dir,
        Msg::ResultsIndexed(Ok((std::sync::Arc::new(index), 0, page))),
    )
}

fn run_entry(n: u64, cap: u64, rate: f64, achieved: f64, failed: u64) -> RunEntry {
    RunEntry {
        number: n,
        started_at: None,
        finished_at: Some(format!("2026-11-22T10:0{n}:00Z")),
        // Run 1 ran an older version of the batch.
        batch: if n == 1 {
            "inventory-v1.json"
        } else {
            "inventory.json"
        }
        .into(),
        batch_path: None,
        batch_requests: if n == 1 { 80 } else { 100 },
        batch_hash: Some(
            if n == 1 {
                "9f0c0ffee0000001"
            } else {
                "3ae11f65db5419ee"
            }
            .into(),
        ),
        ended: None,
        autotuned: false,
        limits: Limits::new(cap, rate),
        failed_only: n == 3,
        coalesced: false,
        batching: None,
        summary: Some(RunSummary {
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
                answers: Answers {
                    total: 100,
                    by_status: BTreeMap::from([(200, 100 - failed), (429, failed)]),
                    by_error: BTreeMap::new(),
                    refused: failed,
                },
                ..Totals::default()
            },
            achieved_per_s: achieved,
            // One phase at its limits; run 2 began at 10 @ 20/s, as run 1
            // ran, then moved to its own.
            phases: [(n == 2).then_some((10, 20.0)), Some((cap, rate))]
                .into_iter()
                .flatten()
                .enumerate()
                .map(|(i, (cap, r))| crate::stats::Phase {
                    from_s: i as f64 * 2.0,
                    to_s: i as f64 * 2.0 + 100.0 / achieved,
                    limits: Limits::new(cap, r),
                    by: if i == 0 {
                        crate::model::ChangedBy::Start
                    } else {
                        crate::model::ChangedBy::User
                    },
                    ramp_to: None,
                    done: 100,
                    answers: 100,
                    accepted: 100 - failed,
                    refused: failed,
                    p50_ms: 200.0 + n as f64,
                    p99_ms: 240.0 + n as f64 * 10.0,
                })
                .collect(),
            ..RunSummary::default()
        }),
        results: None,
    }
}

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
                    let index = crate::export::ResultIndex::build(journal, filter, order).unwrap();
                    let offset = crate::tui::results::page_start(around, index.len());
                    let rows = index.page(offset, crate::tui::results::PAGE).unwrap();
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
        let a = &mut s.totals.answers;
        a.total += sent;
        a.refused += sent - ok;
        *a.by_status.entry(200).or_default() += ok;
        *a.by_status.entry(429).or_default() += sent - ok;
    }
    s.elapsed = Duration::from_secs(rates.len() as u64);
    s.recent_latency.p50 = 10.0;
    s.recent_latency.p99 = 20.0;
    s
}

fn editor_json(app: &App) -> serde_json::Value {
    serde_json::from_str(&app.editor.textarea.lines().join("\n")).unwrap()
}

// After the helpers and `snap!`, which the test modules use.
mod panels;
mod screens;
mod update;
