//! The workbench's loop end to end: real runs against the built-in mock,
//! driven by keys, synchronised on the app's status (never on a fixed
//! time). The update logic and the screens are tested in the crate
//! (`src/tui/tests`), where the app's state is in reach.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratebench::batch::{Batch, LoadOptions};
use ratebench::engine::{Limits, RunConfig, RunState};
use ratebench::mock::{Knobs, Latency, MockServer, RouteKnobs};
use ratebench::model::Limit;
use ratebench::tui::app::Notice;
use ratebench::tui::{self, App, Start, Status, TuiConfig};
use tokio::sync::{mpsc, watch};

use crate::common;

/// Keys into the loop, and its status out.
pub struct Driver {
    keys: mpsc::UnboundedSender<TermEvent>,
    status: watch::Receiver<Status>,
}

impl Driver {
    pub fn press(&self, code: KeyCode) {
        let _ = self
            .keys
            .send(TermEvent::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }

    pub fn char(&self, c: char) {
        self.press(KeyCode::Char(c));
    }

    pub fn type_text(&self, text: &str) {
        text.chars().for_each(|c| self.char(c));
    }

    /// Waits (at most 20 s) until the app's status says `ok`.
    pub async fn until(&mut self, what: &str, ok: impl FnMut(&Status) -> bool) -> Status {
        self.within(Duration::from_secs(20), what, ok).await
    }

    /// Waits at most `limit` until the app's status says `ok`.
    pub async fn within(
        &mut self,
        limit: Duration,
        what: &str,
        ok: impl FnMut(&Status) -> bool,
    ) -> Status {
        let waited = tokio::time::timeout(limit, self.status.wait_for(ok))
            .await
            .map(|found| found.map(|status| status.clone()));
        match waited {
            Ok(Ok(status)) => status,
            _ => panic!(
                "timed out waiting for {what}; the app: {:?}",
                *self.status.borrow()
            ),
        }
    }

    /// Quits and waits for the loop to end (answering yes if it asks).
    pub fn quit(&self) {
        self.char('q');
        self.char('y');
    }
}

/// How the loop runs in these tests: default engine settings, results
/// journaled to `journal_dir`, runs logged to `runs_file` if given.
pub fn tui_config(journal_dir: PathBuf, runs_file: Option<PathBuf>) -> TuiConfig {
    TuiConfig {
        run: RunConfig::default(),
        overrides: Default::default(),
        base_url: None,
        max_requests: None,
        journal_dir,
        runs_file,
        observer: None,
    }
}

/// Runs the workbench's loop on a `width`×`height` test terminal while
/// `script` drives it; returns the app as it ended, the last screen and
/// what the script returned.
pub async fn workbench<T>(
    app: App,
    mut config: TuiConfig,
    (width, height): (u16, u16),
    script: impl AsyncFnOnce(&mut Driver) -> T,
) -> (App, String, T) {
    let (keys, rx) = mpsc::unbounded_channel::<TermEvent>();
    let input = Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|e| (e, rx))
    }));
    let (observer, status) = watch::channel(app.status());
    config.observer = Some(observer);
    let mut driver = Driver { keys, status };
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    let (app, out) = tokio::join!(
        tui::run_loop(&mut terminal, app, input, config),
        script(&mut driver)
    );
    (app.unwrap(), format!("{}", terminal.backend()), out)
}

/// An app with `batch` loaded, at `limits`.
pub fn app_with(batch: Batch, limits: Limits) -> App {
    App::new(Start {
        batch: Some(batch),
        limits,
        ..Start::default()
    })
}

/// The mock with these knobs on `/inventory`, and the inventory sample
/// aimed at it.
pub async fn inventory_against_mock(inventory: RouteKnobs) -> (MockServer, Batch) {
    let mock = common::mock(Knobs {
        routes: BTreeMap::from([("inventory".to_owned(), inventory)]),
        ..Knobs::default()
    })
    .await;
    let options = LoadOptions {
        base_url: Some(mock.base_url()),
        format: None,
        ..Default::default()
    };
    let batch = Batch::load_with(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-batches/inventory.json"),
        &options,
    )
    .unwrap();
    (mock, batch)
}

/// Whether the app has taken in the end of its `runs`-th run (the engine's
/// last stats, its summary, and the session's end), from an empty log.
pub fn is_done(s: &Status, runs: u32) -> bool {
    s.state == RunState::Done && s.runs == runs && s.logged == runs as usize
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_runs_a_batch_against_the_mock_with_a_live_change() {
    let (mock, batch) = inventory_against_mock(RouteKnobs {
        latency: Some(Latency::Fixed(Duration::from_millis(60))),
        ..Default::default()
    })
    .await;
    // Start capped at 5 at once, no rate limit; raise the cap mid-run.
    let app = app_with(batch, Limits::new(5, 0.0));
    let dir = tempfile::tempdir().unwrap();
    let config = tui_config(dir.path().to_path_buf(), None);
    let (app, screen, ()) = workbench(app, config, (80, 24), async |d| {
        d.char('r');
        common::until("ten answers under the cap of 5", || {
            mock.stats().requests >= 10
        })
        .await;
        assert!(mock.stats().max_in_flight <= 5);
        // At 5 at once and 60 ms each, the batch has over a second to go.
        d.press(KeyCode::Right); // max at once 5 -> 10
        common::until("ten in flight at the server", || {
            mock.stats().max_in_flight == 10
        })
        .await;
        d.until("the run's end", |s| is_done(s, 1)).await;
        d.char('v');
        d.until("the results table", |s| s.results == 100 && !s.loading)
            .await;
        d.char('q');
    })
    .await;

    assert_eq!(app.status().state, RunState::Done);
    let summary = app.summary().unwrap();
    assert_eq!(
        (
            summary.totals.done,
            summary.totals.ok,
            summary.totals.failed
        ),
        (100, 100, 0)
    );
    assert_eq!(app.limits().max_at_once, Some(10));
    assert_eq!(
        mock.stats().max_in_flight,
        10,
        "the raised cap reached the engine"
    );
    let journal = app.journal().unwrap();
    assert_eq!(common::records(journal).len(), 100);
    assert!(
        screen.contains("results · all · by index · 1 of 100"),
        "{screen}"
    );
    assert!(screen.contains("DONE"), "{screen}");
    // The results table read the journal back.
    assert_eq!(app.results().len(), 100);
    assert_eq!(
        app.results()
            .rows
            .iter()
            .map(|r| r.index)
            .collect::<Vec<_>>(),
        (0..100).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rerunning_the_failed_sends_exactly_them_and_export_writes_them() {
    let (mock, batch) = inventory_against_mock(RouteKnobs {
        error_rate: Some(0.2),
        latency: Some(Latency::Fixed(Duration::from_millis(5))),
        ..Default::default()
    })
    .await;
    let app = app_with(batch, Limits::new(10, 0.0));
    let dir = tempfile::tempdir().unwrap();
    let runs_file = dir.path().join("data/runs.jsonl");
    let mut config = tui_config(dir.path().join("results"), Some(runs_file.clone()));
    // The sample's own `retries: 2` would mend most failures: as with
    // `--retries 0`, the workbench then runs every batch without retries.
    config.overrides.retries = Some(0);
    let export = dir.path().join("failed.csv");
    let journals = dir.path().join("results");
    let (app, _, failed) = workbench(app, config, (80, 24), async |d| {
        d.char('r');
        d.until("the first run's end", |s| is_done(s, 1)).await;
        // The journal (beside it, the run's `.run.json` sidecar).
        let first = std::fs::read_dir(&journals)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
            .unwrap();
        let mut failed: Vec<u64> = common::records(&first)
            .iter()
            .filter(|r| !r.ok)
            .map(|r| r.index)
            .collect();
        failed.sort_unstable();
        d.char('f');
        d.until("the re-run's end", |s| is_done(s, 2)).await;
        d.char('e');
        (0..80).for_each(|_| d.press(KeyCode::Backspace));
        d.type_text(export.to_str().unwrap());
        d.press(KeyCode::Enter);
        d.until(
            "the export",
            |s| matches!(&s.notice, Some(Notice::Info(m)) if m.contains("exported")),
        )
        .await;
        d.char('q');
        failed
    })
    .await;

    assert!(!failed.is_empty(), "the mock failed some of the first run");
    assert_eq!(app.status().runs, 2);
    assert_eq!(app.summary().unwrap().totals.done, failed.len() as u64);
    let second: Vec<u64> = common::records(app.journal().unwrap())
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
    // Both runs went into the runs log, the second marked as failed-only.
    let logged = ratebench::session::runs_log::load(&runs_file);
    assert_eq!(logged.len(), 2);
    let done = |i: usize| logged[i].summary.as_ref().unwrap().totals.done;
    assert_eq!((done(0), logged[0].failed_only), (100, false));
    assert_eq!(
        (done(1), logged[1].failed_only),
        (failed.len() as u64, true)
    );
    assert_eq!(app.status().logged, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn w_saves_the_batch_with_the_current_limits() {
    let dir = tempfile::tempdir().unwrap();
    let path = common::batch_file(
        dir.path(),
        "urls.txt",
        "http://127.0.0.1:9/a\nPOST http://127.0.0.1:9/b\n",
    );
    let app = app_with(Batch::load(&path).unwrap(), Limits::new(10, 0.0));
    let target = dir.path().join("urls-limits.json");
    let config = tui_config(dir.path().join("r"), None);
    let (_, _, ()) = workbench(app, config, (80, 24), async |d| {
        d.char('5');
        d.press(KeyCode::Enter); // max at once 5
        d.press(KeyCode::Tab);
        d.char('u'); // per second: unlimited
        d.char('w');
        // A text batch gets a JSON file beside it: the prompt offers it.
        d.press(KeyCode::Enter);
        d.until(
            "the save",
            |s| matches!(&s.notice, Some(Notice::Info(m)) if m.contains("saved the batch")),
        )
        .await;
        d.char('q');
    })
    .await;
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
    let good = common::batch_file(
        dir.path(),
        "good.txt",
        "http://127.0.0.1:9/a\nhttp://127.0.0.1:9/b\nhttp://127.0.0.1:9/c\n",
    );
    let app = App::new(Start::default());
    let config = tui_config(dir.path().join("r"), None);
    let (app, _, ()) = workbench(app, config, (80, 24), async |d| {
        d.char('o');
        d.type_text(good.to_str().unwrap());
        d.press(KeyCode::Enter);
        d.until("the good batch", |s| s.total == Some(3)).await;
        d.char('o');
        d.type_text("/no/such/batch.json");
        d.press(KeyCode::Enter);
        d.until("the bad one's error", |s| {
            matches!(&s.notice, Some(Notice::Error(_)))
        })
        .await;
        d.char('q');
    })
    .await;
    let status = app.status();
    assert_eq!(status.total, Some(3), "the good batch stays loaded");
    assert!(
        matches!(&status.notice, Some(Notice::Error(e)) if e.contains("cannot read the batch file")),
        "{:?}",
        status.notice
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_tune_steers_a_real_run_toward_the_servers_limit() {
    let _turn = crate::common::TIMING.lock().await;
    // A server that allows 40 a second and says so; a batch asked at 10/s.
    let mut knobs = Knobs::default();
    knobs.global.rate_limit = Some("40/s".parse().unwrap());
    knobs.global.latency = Some(Latency::Fixed(Duration::from_millis(10)));
    let mock = common::mock(knobs).await;
    let text = common::n_requests(
        &mock.base_url(),
        "/anything",
        2000,
        r#""max_at_once": 20, "per_second": 10, "#,
    );
    let batch = Batch::parse_str(&text, Path::new("at.json"), &LoadOptions::default()).unwrap();
    // The file's limits, as the command line merges them.
    let app = app_with(batch, Limits::new(20, 10.0));
    let dir = tempfile::tempdir().unwrap();
    let config = tui_config(dir.path().to_path_buf(), None);
    let started = tokio::time::Instant::now();
    let (app, screen, (best, elapsed)) = workbench(app, config, (100, 32), async |d| {
        d.char('r');
        d.until("answers", |s| s.done > 0).await;
        d.char('a');
        // Climbing from 10/s, it holds a higher rate within seconds.
        let status = d
            .until("auto-tune to hold 20/s or more", |s| {
                s.tuning_best.is_some_and(|b| b >= 20.0)
            })
            .await;
        let elapsed = started.elapsed();
        d.quit();
        (status.tuning_best.unwrap(), elapsed)
    })
    .await;
    assert!(best >= 20.0, "auto-tune moved the rate up: best {best}");
    assert!(
        app.limits().per_second.unwrap() <= 40.0,
        "never past the advertised 40/s"
    );
    // The engine followed: the server saw more than the 10/s asked for.
    let seen = mock.stats().requests as f64;
    assert!(
        seen > 10.0 * elapsed.as_secs_f64(),
        "{seen} requests in {elapsed:?}"
    );
    assert!(
        screen.contains("40 per 1 s"),
        "the panel shows the advertised limit: {screen}"
    );
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workbench_offers_to_resume_a_stopped_run_and_finishes_it() {
    let (mock, batch) = inventory_against_mock(RouteKnobs {
        latency: Some(Latency::Fixed(Duration::from_millis(20))),
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();

    // First session: start, stop part-way, quit.
    let app = app_with(batch.clone(), Limits::new(4, 0.0));
    let config = tui_config(dir.path().to_path_buf(), None);
    let (first, _, ()) = workbench(app, config, (80, 24), async |d| {
        d.char('r');
        common::until("30 answers", || mock.stats().requests >= 30).await;
        d.char('s');
        d.until("the stopped run's end", |s| is_done(s, 1)).await;
        d.char('q');
    })
    .await;
    let journal = first.journal().unwrap().to_path_buf();
    let sent_first = mock.stats().requests;
    assert!(first.summary().unwrap().stopped);
    assert!(sent_first < 100, "stopped part-way: {sent_first}");

    // Second session, the same batch: the offer comes, R takes it.
    let app = app_with(batch.clone(), Limits::new(4, 0.0));
    let config = tui_config(dir.path().to_path_buf(), None);
    let (second, _, ()) = workbench(app, config, (100, 30), async |d| {
        d.until("the offer to resume", |s| s.resumable).await;
        d.char('R');
        d.until("the resumed run's end", |s| is_done(s, 1)).await;
        d.char('q');
    })
    .await;
    assert_eq!(
        second.journal(),
        Some(journal.as_path()),
        "appended to the same journal"
    );
    let summary = second.summary().unwrap();
    assert_eq!(
        summary.totals.done + sent_first,
        100,
        "only the rest was sent"
    );
    assert_eq!(mock.stats().requests, 100, "nothing sent twice");
    let indices = common::indices(&journal);
    assert_eq!(indices, (0..100).collect(), "one result per row");
    assert_eq!(common::records(&journal).len(), 100);
    // Finished: nothing left to offer.
    let found =
        ratebench::session::find_interrupted(&batch.path, 100, Some(dir.path()), None).unwrap();
    assert_eq!(found, None);
}
